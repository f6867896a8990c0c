// `carapace chat`: the terminal chat with the running Carapace.
import { existsSync } from 'node:fs';
import { localChatToken } from '../app.js';
import { runTerminalChat } from '../channels/local/terminal-chat.js';
import { dataPaths } from '../fs/paths.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { runningInstance } from './instance-info.js';
import { localApiUrl } from './local-api.js';

/** `waitS`: with piped input, how long to wait for the reply. */
export async function chat(ctx: CliContext, waitS = 600): Promise<number> {
  const config = ctx.config();
  if (!existsSync(dataPaths(config.dataDir).localToken)) {
    throw new CliError(`Carapace has not been started with data directory ${config.dataDir} yet — run \`npm start\` first.`, EXIT.notRunning);
  }
  // The running instance says where it listens (CARAPACE_WEB_PORT=0 picks a free port); else the configured address.
  const url = runningInstance(config.dataDir)?.webUrl ?? localApiUrl(config);
  const token = localChatToken(config.dataDir);
  const end = await runTerminalChat({ url, token, input: process.stdin, output: ctx.out, replyTimeoutMs: waitS * 1000 });
  return end === 'closed' ? EXIT.ok : end === 'not-running' ? EXIT.notRunning : EXIT.failure;
}
