// `carapace chat`: the terminal chat with the running Carapace.
import { existsSync } from 'node:fs';
import { localChatToken } from '../app.js';
import { runTerminalChat } from '../channels/local/terminal-chat.js';
import { dataPaths } from '../fs/paths.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { localApiUrl } from './local-api.js';

export async function chat(ctx: CliContext): Promise<number> {
  const config = ctx.config();
  if (!existsSync(dataPaths(config.dataDir).localToken)) {
    throw new CliError(`Carapace has not been started with data directory ${config.dataDir} yet — run \`npm start\` first.`, EXIT.notRunning);
  }
  const end = await runTerminalChat({ url: localApiUrl(config), token: localChatToken(config.dataDir), input: process.stdin, output: ctx.out });
  return end === 'closed' ? EXIT.ok : end === 'not-running' ? EXIT.notRunning : EXIT.failure;
}
