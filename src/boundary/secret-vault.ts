// The secret vault: API secrets the owner adds (`carapace secret add`) are sealed with AES-256-GCM under a
// 32-byte key in its own owner-only file beside the database, so a copy of the database alone reveals nothing.
// Sandboxes only ever see a placeholder; the egress proxy swaps it for the value at the wire (tls-intercept.ts).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DB } from '../store/db.js';
import { deleteSecret, grantedRows, listSecretRows, putSecret, type SecretRoute } from '../store/secrets.js';
import { normalizeHost } from './egress-policy.js';

/** Host-only files of the vault: the sealing key, and the interception CA (ca-key.pem never leaves it). */
export const vaultDir = (dataDir: string) => join(dataDir, 'vault');

export const PLACEHOLDER_PREFIX = 'carapace:secret:';
export const placeholder = (name: string) => PLACEHOLDER_PREFIX + name;
/** Any placeholder, in any letter case (names are [a-z0-9_-]); `new RegExp(it, 'gi')` to find them all. */
export const PLACEHOLDER_PATTERN = /carapace:secret:([a-z0-9_-]+)/i;

export interface Secret extends SecretRoute {
  value: string;
}

export class VaultError extends Error {}

const NAME = /^[a-z][a-z0-9_-]{0,39}$/;
const HEADER = /^[A-Za-z0-9-]{1,64}$/;
const ENV = /^[A-Z_][A-Z0-9_]{0,63}$/;
const HOST = /^[a-z0-9.-]{1,253}(?::\d{1,5})?$/;

/** Does secret `s` go to host:port? Its host may name a port (a home API on 8443); otherwise HTTPS's 443. */
export function sentTo(s: Pick<SecretRoute, 'host'>, host: string, port: number): boolean {
  const [h, p] = s.host.split(':');
  return h === host && Number(p ?? 443) === port;
}

/** Check and normalise what `secret add` was given; throws a VaultError naming what is wrong. */
export function checkSecret(s: Secret): Secret {
  const route = { ...s, host: normalizeHost(s.host), header: s.header.toLowerCase() };
  if (!NAME.test(route.name)) throw new VaultError(`secret name "${s.name}" must be lower case letters, digits, - or _ (starting with a letter)`);
  if (!HOST.test(route.host) || !route.host.includes('.')) throw new VaultError(`"${s.host}" is not a host name like api.github.com (or host:port)`);
  if (!HEADER.test(route.header)) throw new VaultError(`"${s.header}" is not an HTTP header name`);
  if (route.format.split('{}').length !== 2) throw new VaultError(`the format must contain {} exactly once (where the secret goes), got "${s.format}"`);
  if (!ENV.test(route.env)) throw new VaultError(`"${s.env}" is not an environment variable name like GITHUB_TOKEN`);
  if (!route.value || /[\r\n\0]/.test(route.value)) throw new VaultError('the secret value is empty or has a line break in it');
  if (route.value.length > 8192) throw new VaultError('the secret value is longer than 8192 characters');
  return route;
}

/** The sealing key: made on first use (0600 in a 0700 directory); a key others could read or replace is refused. */
function loadKey(dir: string): Buffer {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'secrets.key');
  try {
    writeFileSync(path, randomBytes(32), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (!st.isFile() || (st.mode & 0o077) !== 0 || st.uid !== process.getuid?.()) {
    throw new VaultError(`${path} must be a regular file only its owner can read (chmod 600); refusing to use it`);
  }
  const key = readFileSync(path);
  if (key.length !== 32) throw new VaultError(`${path} is not a 32-byte key`);
  return key;
}

/** Encrypt under `key`; the secret's name is bound in as associated data, so rows cannot be swapped. */
function seal(key: Buffer, name: string, value: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(name));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, name: string, sealed: Buffer): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12)).setAAD(Buffer.from(name));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    throw new VaultError(`secret "${name}" cannot be opened with this install's key (was its secrets.key replaced?)`);
  }
}

export class SecretVault {
  private key: Buffer | undefined;
  constructor(
    private readonly db: DB,
    private readonly dir: string,
  ) {}

  private sealingKey(): Buffer {
    return (this.key ??= loadKey(this.dir));
  }

  add(secret: Secret): SecretRoute {
    const s = checkSecret(secret);
    putSecret(this.db, { ...s, sealed: seal(this.sealingKey(), s.name, s.value), createdAt: Date.now() });
    return { name: s.name, host: s.host, header: s.header, format: s.format, env: s.env };
  }

  list(): SecretRoute[] {
    return listSecretRows(this.db).map(({ name, host, header, format, env }) => ({ name, host, header, format, env }));
  }

  remove(name: string): boolean {
    return deleteSecret(this.db, name);
  }

  /** The secrets granted to a group, opened: only the host process holds these, for its egress proxies. */
  granted(groupId: number): Secret[] {
    const rows = grantedRows(this.db, groupId);
    if (rows.length === 0) return [];
    const key = this.sealingKey();
    return rows.map((r) => ({ name: r.name, host: r.host, header: r.header, format: r.format, env: r.env, value: open(key, r.name, r.sealed) }));
  }
}
