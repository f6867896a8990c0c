// Drive a command on a real pseudo-terminal (util-linux `script`), answering each prompt when it appears, the way
// a person would: prompts that read keys (masked input, menus) need a terminal, not a pipe.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SCRIPT_BIN = '/usr/bin/script';
export const haveTerminal = existsSync(SCRIPT_BIN);

/** What was on the screen, escape sequences and carriage returns removed. */
export const screenText = (raw: string) => raw.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').replace(/\r/g, '\n');

/**
 * Run `argv` on a terminal; for each [prompt, keys] wait until the screen shows `prompt` (after the previous
 * one), then type `keys`. Resolves with the exit code and the screen once the command ends.
 */
export function onTerminal(argv: string[], env: Record<string, string | undefined>, answers: [RegExp, string][]): Promise<{ code: number | null; screen: string }> {
  const command = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn(SCRIPT_BIN, ['-qfec', command, '/dev/null'], { env: { TERM: 'dumb', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  let seenUpTo = 0;
  const pending = [...answers];
  const onData = (chunk: Buffer) => {
    raw += chunk.toString();
    const next = pending[0];
    if (!next) return;
    const screen = screenText(raw);
    const m = next[0].exec(screen.slice(seenUpTo));
    if (!m) return;
    seenUpTo += m.index + m[0].length;
    pending.shift();
    child.stdin!.write(next[1]);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, screen: screenText(raw) })));
}
