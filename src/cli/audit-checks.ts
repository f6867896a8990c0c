// What makes an install unsafe, as checks with stable ids (scripts and the console key on them). Each check looks
// at the machine as it is; the ones about file modes and ownership also know how to repair what they found.
import { chmodSync, chownSync, existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { dataModes, dataPaths } from '../fs/paths.js';

export type Severity = 'high' | 'medium' | 'low';

export interface Finding {
  /** Stable: never renamed, so scripts may key on it. */
  id: string;
  severity: Severity;
  ok: boolean;
  /** What was found, in a sentence. */
  detail: string;
  /** What to do about it, when not ok. */
  fix?: string;
  /** Repairs it (`carapace audit --fix`): only modes and ownership ever are. */
  repair?: () => void;
}

export interface AuditInput {
  config: Config;
  /** The .env the settings (and the model credential) live in. */
  envFile: string;
  uid: number | undefined;
  /** Groups' own egress lists (container_config.egress.allow), when there is a store. */
  groupEgress: { folder: string; allow: string[] }[];
  passwd?: string;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;
const pass = (id: string, severity: Severity, detail: string): Finding => ({ id, severity, ok: true, detail });

/** Files and folders that hold secrets or the store: nobody but the owner may read them. */
function privatePaths(input: AuditInput): string[] {
  const { config, envFile } = input;
  const p = dataPaths(config.dataDir);
  const channels = join(config.dataDir, 'channels');
  const channelFiles = existsSync(channels) ? readdirSync(channels).map((f) => join(channels, f)) : [];
  return [p.db, `${p.db}-wal`, `${p.db}-shm`, p.localToken, envFile, join(config.dataDir, 'whatsapp'), channels, ...channelFiles].filter((f) => existsSync(f));
}

/** The data folder: the owner's alone (as root, sandboxes pass through it: execute only, see `dataModes`). */
export function dataDirMode(input: AuditInput): Finding[] {
  const dir = input.config.dataDir;
  if (!existsSync(dir)) return [pass('data-dir-mode', 'high', `${dir} does not exist yet`), pass('data-dir-owner', 'high', `${dir} does not exist yet`)];
  const st = lstatSync(dir);
  const findings: Finding[] = [];
  if (st.mode & 0o066) {
    const mode = dataModes().dir;
    findings.push({ id: 'data-dir-mode', severity: 'high', ok: false, detail: `${dir} is ${octal(st.mode)}: other users can read or change Carapace's data`, fix: `chmod ${octal(mode)} ${dir}`, repair: () => chmodSync(dir, mode) });
  } else findings.push(pass('data-dir-mode', 'high', `${dir} is ${octal(st.mode)}`));
  if (input.uid !== undefined && st.uid !== input.uid) {
    const uid = input.uid;
    findings.push({ id: 'data-dir-owner', severity: 'high', ok: false, detail: `${dir} belongs to uid ${st.uid}, not to the user running Carapace (uid ${uid})`, fix: `chown ${uid} ${dir}`, repair: () => chownSync(dir, uid, st.gid) });
  } else findings.push(pass('data-dir-owner', 'high', `${dir} belongs to the user running Carapace`));
  return findings;
}

/** The database, the chat token, the .env, channel logins: mode 0600 (folders 0700). */
export function secretModes(input: AuditInput): Finding {
  const loose = privatePaths(input).filter((f) => lstatSync(f).mode & 0o077 && !lstatSync(f).isSymbolicLink());
  if (loose.length === 0) return pass('secret-file-modes', 'high', 'the database, the chat token, the .env and channel logins are readable by the owner only');
  const wanted = (f: string) => (lstatSync(f).isDirectory() ? 0o700 : 0o600);
  return {
    id: 'secret-file-modes',
    severity: 'high',
    ok: false,
    detail: `readable by others: ${loose.map((f) => `${f} (${octal(lstatSync(f).mode)})`).join(', ')}`,
    fix: loose.map((f) => `chmod ${octal(wanted(f))} ${f}`).join('; '),
    repair: () => loose.forEach((f) => chmodSync(f, wanted(f))),
  };
}

export function webExposure({ config }: AuditInput): Finding {
  const host = config.web.host;
  if (/^(127\.\d+\.\d+\.\d+|::1|localhost)$/i.test(host)) return pass('web-beyond-loopback', 'high', `the web console listens on ${host} only`);
  return {
    id: 'web-beyond-loopback',
    severity: 'high',
    ok: false,
    detail: `CARAPACE_WEB_HOST=${host}: the web console (chat, settings, pairing) is reachable from other machines, guarded only by its token over plain HTTP`,
    fix: 'set CARAPACE_WEB_HOST=127.0.0.1 and reach it through an SSH tunnel or a TLS reverse proxy',
  };
}

/** As root, sandboxes run as CARAPACE_SANDBOX_UID: that uid must not be a person's account on this host. */
export function sandboxUid(input: AuditInput): Finding {
  const { uid, config } = input;
  if (uid !== 0) return pass('root-sandbox-uid', 'high', 'Carapace does not run as root (sandboxes run in a user namespace of its own user)');
  const passwd = input.passwd ?? (existsSync('/etc/passwd') ? readFileSync('/etc/passwd', 'utf8') : '');
  const entry = passwd.split('\n').map((l) => l.split(':')).find((f) => Number(f[2]) === config.sandbox.uid);
  if (!entry || /(nologin|false)$/.test(entry[6] ?? '')) return pass('root-sandbox-uid', 'high', `sandboxes run as uid ${config.sandbox.uid}, which is no login account here`);
  return {
    id: 'root-sandbox-uid',
    severity: 'high',
    ok: false,
    detail: `running as root, sandboxes run as uid ${config.sandbox.uid}, which is the account "${entry[0]}" (${entry[5]}): files agents write belong to that person, and an escape would act as them`,
    fix: 'set CARAPACE_SANDBOX_UID and CARAPACE_SANDBOX_GID to an unused id (e.g. 64000), or run Carapace as a normal user',
  };
}
