// What a running `carapace start` tells the other commands about itself (`status`, `open`): its pid, when it
// started, the sandbox backend it chose and where its web chat is. Written once started, removed with the lock;
// believed only while that pid is alive and still holds the data directory's pid file.
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { dataPaths } from '../fs/paths.js';
import { processAlive, readPid } from '../fs/pid-file.js';

const InstanceInfo = z.object({
  pid: z.number().int().positive(),
  startedAt: z.number(),
  backend: z.string(),
  /** The web chat's address, without the token. */
  webUrl: z.string(),
});
export type InstanceInfo = z.infer<typeof InstanceInfo>;

export function writeInstanceInfo(dataDir: string, info: Omit<InstanceInfo, 'pid'>): void {
  writeFileSync(dataPaths(dataDir).instanceInfo, `${JSON.stringify({ pid: process.pid, ...info })}\n`, { mode: 0o600 });
}

const readText = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The running instance of this data directory, or undefined when none runs (or one died without cleaning up). */
export function runningInstance(dataDir: string): InstanceInfo | undefined {
  const paths = dataPaths(dataDir);
  const pid = readPid(paths.instancePid);
  const text = readText(paths.instanceInfo);
  if (!pid || !text || !processAlive(pid)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const info = InstanceInfo.safeParse(parsed);
  return info.success && info.data.pid === pid ? info.data : undefined;
}
