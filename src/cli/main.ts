// The `carapace` command line: parse, run, and turn what happened into a message and an exit code.
import { CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { processContext, type CliContext } from './context.js';
import { CliError, EXIT } from './exit.js';
import { buildProgram } from './program.js';

/** Run one command line (without the program name) and return its exit code; `start` keeps running after. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const args = argv.length === 0 ? ['help'] : argv;
  try {
    await buildProgram(ctx).parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    // commander has already printed its own message (and the help) for these
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    ctx.err.write(`${describe(err, args[0])}\n`);
    return err instanceof CliError ? err.exitCode : EXIT.failure;
  }
}

function describe(err: unknown, command: string): string {
  if (err instanceof ConfigError) return `Configuration problem: ${err.message}`;
  if (err instanceof CliError) return err.message;
  return `carapace ${command} failed: ${(err as Error).message}`;
}

/** A reader that went away (`carapace chat | head`) ends the command quietly, not with an EPIPE stack trace. */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(EXIT.ok);
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  process.exitCode = await runCli(argv, processContext());
}
