// Reading settings from the environment (and a .env file): the parsers every setting shares.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { APP_ROOT } from '../app-root.js';
import { parseDotenv } from './dotenv.js';

export type Env = Record<string, string | undefined>;

/** A setting the owner must fix; its message says how. */
export class ConfigError extends Error {}

/** The .env file read: CARAPACE_ENV_FILE when set (tests, several installs), else the one next to package.json. */
export function envFilePath(root = APP_ROOT, env: NodeJS.ProcessEnv = process.env): string {
  return env.CARAPACE_ENV_FILE ? resolve(env.CARAPACE_ENV_FILE) : join(root, '.env');
}

/**
 * process.env wins over .env. The file is found next to package.json whatever the working directory; a line it
 * cannot read stops Carapace with the line's number rather than silently losing a setting.
 */
export function readEnv(root = APP_ROOT, env: NodeJS.ProcessEnv = process.env): Env {
  const file = envFilePath(root, env);
  if (!existsSync(file)) return { ...env };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Could not read ${file}: ${(err as Error).message}`);
  }
  const { values, problems } = parseDotenv(text);
  if (problems.length) {
    const lines = problems.map((p) => `  line ${p.line}: ${p.message}`).join('\n');
    throw new ConfigError(`${file} has lines that are not settings:\n${lines}`);
  }
  return { ...values, ...env };
}

export function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    const allowed = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new ConfigError(`${name} must be ${allowed}, got "${raw}".`);
  }
  return n;
}

/** One of a fixed set of words, or the default when unset. */
export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!allowed.includes(raw as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}; got "${raw}".`);
  return raw as T;
}

/** An http(s) (or ws(s) with `ws`) URL setting, without trailing slashes, or the default when unset. */
export function url(env: Env, name: string, fallback: string, opts: { ws?: boolean } = {}): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const schemes = opts.ws ? /^(https?|wss?):$/ : /^https?:$/;
  let ok = false;
  try {
    ok = schemes.test(new URL(raw).protocol);
  } catch {
    // not a URL at all: the same message
  }
  if (!ok) throw new ConfigError(`${name} must be an http(s) URL like https://api.example.com, got "${raw}".`);
  return raw.replace(/\/+$/, '');
}

export function flag(env: Env, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be 1 or 0 (true/false), got "${env[name]}".`);
}

/** A list written with commas and/or spaces. */
export const list = (raw: string): string[] => raw.split(/[\s,]+/).filter(Boolean);
