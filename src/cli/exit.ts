// What `carapace` exit codes mean, and the error that carries one.

export const EXIT = {
  ok: 0,
  /** The command ran and failed (a bad setting, a backend that cannot run, a task that does not exist, …). */
  failure: 1,
  /** The command line itself is wrong: unknown command or option, missing argument. */
  usage: 2,
  /** The command needs the running Carapace and none answers. */
  notRunning: 3,
  /** `start`: another Carapace already runs on this data directory. */
  alreadyRunning: 4,
} as const;

/** The exit codes, for the end of `carapace --help`. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  the command failed (the message says why)
  2  usage error: unknown command or option, missing argument
  3  Carapace is not running (chat)
  4  Carapace is already running for this data directory (start)

Configuration comes from the environment or a .env file; see README.md.`;

/** An error whose message is fit for the user as it is, with the exit code it ends the command with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}
