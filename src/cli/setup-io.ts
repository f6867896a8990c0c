// How `carapace channel add` asks for tokens: a masked prompt on a terminal (@inquirer/prompts), one line from
// stdin when it is piped (`carapace channel add telegram < token.txt`), and a clear error when there is neither.
import { prompts } from './prompts.js';
import { createInterface } from 'node:readline';
import type { SetupIO } from '../channels/channel.js';
import type { CliContext } from './context.js';
import { CliError } from './exit.js';

export function setupIO(ctx: CliContext, stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): SetupIO {
  const piped = stdin.isTTY ? undefined : createInterface({ input: stdin })[Symbol.asyncIterator]();
  return {
    out: ctx.out,
    config: ctx.config(),
    async ask(question, opts = {}) {
      if (!piped) {
        const { input, password } = await prompts();
        return (opts.secret ? await password({ message: question, mask: '*' }) : await input({ message: question })).trim();
      }
      const line = await piped.next();
      if (line.done || !String(line.value).trim()) {
        throw new CliError(`${question} — nothing on standard input. Pass it with an option (see --help) or run this in a terminal.`);
      }
      return String(line.value).trim();
    },
  };
}
