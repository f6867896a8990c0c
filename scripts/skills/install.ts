// A temporary install for rehearsals: a data directory the sandbox user can reach, the fake Anthropic API, and the
// real `carapace start` in a child process, with a way to talk to it through the local chat's API.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { APP_ROOT } from '../../src/app-root.js';
import { startChildCarapace, type ChildCarapace } from '../../test/support/child-carapace.js';
import { startFakeAnthropic, type FakeAnthropic, type Script } from '../../test/support/fake-anthropic.js';
import { sandboxReadableTempDir, testEnv } from '../../test/support/harness.js';
import { until } from '../../test/support/wait.js';

export interface Install {
  dataDir: string;
  model: FakeAnthropic;
  /** The environment a user's shell has for this install (data dir, credentials, the fake's address). */
  env: Record<string, string>;
  running?: ChildCarapace;
  start(): Promise<ChildCarapace>;
  stop(): Promise<void>;
  /** Say something in the local chat and wait for the `n`th assistant line there. */
  sayAndWait(text: string, n: number): Promise<string>;
  close(): Promise<void>;
}

/** A port free right now: the commands a skill runs find the running assistant's local API there. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function temporaryInstall(moreEnv: Record<string, string> = {}, script?: Script): Promise<Install> {
  const dataDir = sandboxReadableTempDir('carapace-rehearse-');
  const model = await startFakeAnthropic({ script });
  const extraEnv = { CARAPACE_WEB_PORT: String(await freePort()), ...moreEnv };
  const env = testEnv(dataDir, model.url, extraEnv);
  const install: Install = {
    dataDir,
    model,
    env,
    async start() {
      install.running = await startChildCarapace(dataDir, model.url, extraEnv);
      return install.running;
    },
    async stop() {
      await install.running?.kill('SIGTERM');
      install.running = undefined;
    },
    async sayAndWait(text, n) {
      const child = install.running;
      if (!child) throw new Error('Carapace is not running');
      const auth = { authorization: `Bearer ${child.token}` };
      const res = await fetch(`${child.url}api/messages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
      if (res.status !== 202) throw new Error(`the local chat refused the message: ${res.status}`);
      const replies = async () => {
        const body = (await (await fetch(`${child.url}api/history?limit=50`, { headers: auth })).json()) as { messages: { from: string; text: string }[] };
        return body.messages.filter((m) => m.from === 'assistant');
      };
      const got = await until(async () => ((await replies()).length >= n ? await replies() : undefined), 60_000, () => `${n} replies in the local chat (log: ${dataDir}/child.log)`);
      return got[n - 1].text;
    },
    async close() {
      await install.stop();
      await model.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return install;
}

/** This checkout's `carapace`, for a scenario's own checks. */
export function carapace(env: Record<string, string>, ...args: string[]): string {
  return execFileSync(process.execPath, [join(APP_ROOT, 'bin', 'carapace.js'), ...args], { env: { ...env, PATH: process.env.PATH }, encoding: 'utf8' });
}
