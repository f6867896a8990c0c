// What every step of `carapace setup` shares: its options, whether it may ask, where the settings go, and how
// it reports (one line per finding, marked done, failed or already done).
import type { CliContext } from './context.js';

export interface SetupOptions {
  nonInteractive?: boolean;
  apiKeyFile?: string;
  oauthTokenFile?: string;
  runtime?: string;
  assistantName?: string;
  /** --settings: the .env file to write (Node itself claims --env-file). */
  settings?: string;
  /** --no-channels: skip the channel step. */
  channels?: boolean;
  /** --service: install the service without asking (needs `carapace service`). */
  service?: boolean;
}

export class SetupRun {
  constructor(
    readonly ctx: CliContext,
    readonly opts: SetupOptions,
    readonly envFile: string,
    readonly interactive: boolean,
  ) {}

  say(line: string): void {
    this.ctx.out.write(`${line}\n`);
  }
  step(n: number, title: string): void {
    this.say(`\n[${n}/5] ${title}`);
  }
  done(line: string): void {
    this.say(`  ✔ ${line}`);
  }
  failed(line: string): void {
    this.say(`  ✘ ${line}`);
  }
  note(line: string): void {
    this.say(`  · ${line}`);
  }
}
