// A bot channel's saved credentials: one JSON file per channel under <data>/channels/, readable by the owner only
// (the directory 0700, the file 0600), written whole through a temporary file so a crash never leaves half a token.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { dataPaths } from '../../fs/paths.js';

export interface SavedCredentials {
  /** The account the credentials belong to, as shown to people ("@carapace_bot"). */
  account: string;
}

/** The saved credentials of channel `name`, or undefined when it is not set up (or the file is unreadable). */
export function readCredentials<T extends SavedCredentials>(dataDir: string, name: string): T | undefined {
  const file = dataPaths(dataDir).channelSecrets(name);
  if (!existsSync(file)) return undefined;
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as T;
    return typeof data?.account === 'string' ? data : undefined;
  } catch {
    return undefined;
  }
}

export function saveCredentials<T extends SavedCredentials>(dataDir: string, name: string, data: T): void {
  const file = dataPaths(dataDir).channelSecrets(name);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  chmodSync(dirname(file), 0o700);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

export function removeCredentials(dataDir: string, name: string): void {
  rmSync(dataPaths(dataDir).channelSecrets(name), { force: true });
}
