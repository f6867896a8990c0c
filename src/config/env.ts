// Reading settings from the environment (and a .env file): the parsers every setting shares.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';

export type Env = Record<string, string | undefined>;

/** A setting the owner must fix; its message says how. */
export class ConfigError extends Error {}

/** process.env wins over .env; .env is read from the working directory when present. */
export function readEnv(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Env {
  const file = resolve(cwd, '.env');
  let fromFile: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch (err) {
      throw new ConfigError(`Could not read ${file}: ${(err as Error).message}`);
    }
  }
  return { ...fromFile, ...env };
}

export function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got "${raw}".`);
  return n;
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
