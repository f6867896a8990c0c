// The settings file `carapace setup` writes: read with Node's own parser, updated key by key (every other line,
// comment and setting kept), and always left readable by the owner alone, since it holds the model credential.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { APP_ROOT } from '../app-root.js';

/** The .env next to package.json, where Carapace's settings live. */
export const DEFAULT_ENV_FILE = join(APP_ROOT, '.env');

export function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
}

/** A value as a .env line writes it: bare when plain, double-quoted (with escapes) otherwise. */
function quote(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('a setting cannot span lines');
  if (/^[\w@%+=:,./-]*$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Set (or, with undefined, remove) the given keys in `file`, keeping everything else. Written to a temporary
 * file with mode 0600 and renamed over the old one, so the credential is never readable by others, even briefly.
 */
export function updateEnvFile(file: string, updates: Record<string, string | undefined>): void {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
  if (lines.at(-1) === '') lines.pop();
  const pending = new Map(Object.entries(updates));
  const kept: string[] = [];
  for (const line of lines) {
    const key = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line)?.[1];
    if (key === undefined || !pending.has(key)) {
      kept.push(line);
      continue;
    }
    const value = pending.get(key);
    pending.delete(key);
    if (value !== undefined) kept.push(`${key}=${quote(value)}`);
  }
  for (const [key, value] of pending) if (value !== undefined) kept.push(`${key}=${quote(value)}`);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, kept.length ? `${kept.join('\n')}\n` : '', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
