// Does a `carapace …` line a skill mentions still exist? Walk the real command tree (the program `carapace`
// builds), then ask the command for its `--help` the way a user would: it must succeed and list every flag used.
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import type { CliContext } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/main.js';
import { buildProgram } from '../../src/cli/program.js';

export interface CommandCheck {
  /** The command path that exists, e.g. ["sessions", "export"]. */
  path: string[];
  problems: string[];
}

const quietContext = (): CliContext & { text: () => string } => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => (text += c));
  const config = () => {
    throw new Error('--help needs no configuration');
  };
  return { out, err: out, config, exitCode: 0, text: () => text };
};

/** The words of a command line, quotes kept together, a trailing shell comment dropped. */
function tokens(line: string): string[] {
  const words = [...line.matchAll(/'[^']*'|"[^"]*"|\S+/g)].map((m) => m[0]);
  const comment = words.findIndex((w) => w.startsWith('#'));
  return comment < 0 ? words : words.slice(0, comment);
}

const isPlaceholder = (t: string) => /^[<$'"[{(~/.]/.test(t) || /^[A-Z0-9_]+$/.test(t) || /[^a-z0-9-]/.test(t);

/** Resolve the words of `line` (starting with "carapace") to a command, collecting its flags. */
function resolve(program: Command, line: string): { path: string[]; flags: string[]; problems: string[] } {
  const [, ...words] = tokens(line);
  const path: string[] = [];
  const flags: string[] = [];
  const problems: string[] = [];
  let cmd = program;
  let inArguments = false;
  let skipValue = false;
  for (const word of words) {
    if (skipValue) {
      skipValue = false;
      continue;
    }
    if (word.startsWith('-')) {
      if (word.startsWith('--')) flags.push(word.split('=')[0]);
      // `--level warn`: the word after an option that takes a value is that value, not a command
      const option = cmd.options.find((o) => o.long === word || o.short === word);
      skipValue = option !== undefined && (option.required || option.optional);
      continue;
    }
    if (inArguments) continue;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      cmd = sub;
      path.push(word);
    } else if (word === 'help' && path.length === 0) {
      inArguments = true;
    } else {
      inArguments = true;
      // a command with a default subcommand (`tasks` = `tasks list`) hands its arguments to that one
      const takesArguments = (cmd.commands.find((c) => isDefault(cmd, c)) ?? cmd).registeredArguments.length > 0;
      if (!isPlaceholder(word) && (path.length === 0 || !takesArguments))
        problems.push(`\`carapace ${[...path, word].join(' ')}\`: no such command (\`carapace ${[...path, '--help'].join(' ')}\` does not list "${word}")`);
    }
  }
  return { path, flags, problems };
}

const isDefault = (parent: Command, child: Command) => (parent as unknown as { _defaultCommandName?: string })._defaultCommandName === child.name();

/** Whether `carapace <name>` is a command of this build. */
export function commandExists(name: string): boolean {
  return buildProgram(quietContext()).commands.some((c) => c.name() === name);
}

/** `carapace <path> --help`, in process: its exit code and text. */
export async function helpOf(path: string[]): Promise<{ code: number; text: string }> {
  const ctx = quietContext();
  const code = await runCli([...path, '--help'], ctx);
  return { code, text: ctx.text() };
}

export async function checkCommand(line: string): Promise<CommandCheck> {
  const ctx = quietContext();
  const { path, flags, problems } = resolve(buildProgram(ctx), line);
  const help = await helpOf(path);
  if (help.code !== 0) problems.push(`\`carapace ${[...path, '--help'].join(' ')}\` exits ${help.code}`);
  for (const flag of flags) {
    if (!new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}(?![\\w-])`, 'm').test(help.text))
      problems.push(`\`carapace ${path.join(' ')}\` has no option ${flag} (not in its --help)`);
  }
  return { path, problems };
}
