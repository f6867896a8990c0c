// The limit Carapace's own overhead is measured against: the Claude Agent SDK alone, in this process, no sandbox,
// no host, no proxy — the same fake API and the same kind of prompt — from handing it a prompt to the API
// receiving the model request. Warm: a follow-up into a live streaming session; cold: a fresh query() (the CLI
// process starts); cold process: a fresh `node` that imports the SDK first; pre-started: the first turn into a
// process that is up and idle. The bench takes these samples interleaved with Carapace's own (one of each in
// turn), so a noisy moment on the machine falls on both sides of a ratio.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { query, type SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import { APP_ROOT } from '../src/app-root.js';
import { PromptStream } from '../src/runner/prompt-stream.js';
import { startFakeAnthropic, type FakeAnthropic } from '../test/support/fake-anthropic.js';
import { testConfig } from '../test/support/harness.js';
import { nextMainRequest } from './message-to-model.js';

/** The prompt as Carapace formats one chat message. */
const prompt = (text: string) => `<messages>\n<message sender="Owner" time="Mon 30 Nov 09:00">${text}</message>\n</messages>`;

const sdkEnv = (fake: FakeAnthropic, home: string): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: home,
  CLAUDE_CONFIG_DIR: join(home, '.claude'),
  ANTHROPIC_BASE_URL: fake.url,
  ANTHROPIC_API_KEY: 'sk-bench',
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  IS_SANDBOX: '1',
});

/**
 * The model the bench's Carapace asks for. The CLI's prompt and tool descriptions depend on the model (for
 * claude-sonnet-4-5 they are ~40 KB longer than for the CLI's default), and a longer request takes the CLI longer
 * to build: the SDK alone is measured with the same one, or the ratio would count that as Carapace's overhead.
 */
const carapaceModel = (fake: FakeAnthropic, home: string) => testConfig(home, fake.url).model;

/** One SDK session on a prompt stream; `turn` pushes a prompt and resolves with the time to its model request. */
function session(fake: FakeAnthropic, home: string, model: string | undefined) {
  const stream = new PromptStream();
  const messages = query({
    prompt: stream as AsyncIterable<SDKUserMessage>,
    options: {
      cwd: home,
      model,
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      settingSources: [],
      systemPrompt: { type: 'preset', preset: 'claude_code' },
      env: sdkEnv(fake, home),
    },
  });
  const results: (() => void)[] = [];
  const done = (async () => {
    for await (const m of messages) if (m.type === 'result') results.shift()?.();
  })();
  return {
    /** Time from `from` (default: now) to the model request of `text`'s turn. */
    async turn(text: string, from?: number): Promise<number> {
      const result = new Promise<void>((resolve) => results.push(resolve));
      const request = nextMainRequest(fake);
      const t0 = from ?? performance.now();
      stream.push(prompt(text));
      const ms = (await request) - t0;
      await result;
      return ms;
    },
    async end(): Promise<void> {
      stream.end();
      await done;
    },
  };
}

/** A Node program that imports the SDK and asks one prompt: what any host that starts a process per session runs. */
const ONE_PROMPT_PROGRAM = `
const { query } = await import('@anthropic-ai/claude-agent-sdk');
const options = { cwd: process.env.HOME, model: process.env.BENCH_MODEL || undefined, permissionMode: 'bypassPermissions', allowDangerouslySkipPermissions: true, settingSources: [], systemPrompt: { type: 'preset', preset: 'claude_code' }, env: { ...process.env } };
for await (const m of query({ prompt: process.env.BENCH_PROMPT, options })) if (m.type === 'result') break;
`;

export interface SdkProbe {
  /** One follow-up into the live session. */
  warm(): Promise<number>;
  /** A fresh query() in this process (the CLI starts). */
  cold(): Promise<number>;
  /** A fresh `node` that imports the SDK, then starts the CLI: the same steps as Carapace's runner, unsandboxed. */
  coldProcess(): Promise<number>;
  /** The first turn into a CLI process that started a while ago and sat idle (a pre-started sandbox's case). */
  prestarted(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The SDK alone, ready to be sampled one measurement at a time; its live session is warmed up first. `model`:
 * Carapace's by default; `null` leaves it to the CLI.
 */
export async function openSdkProbe(opts: { model?: string | null } = {}): Promise<SdkProbe> {
  const fake = await startFakeAnthropic();
  const home = mkdtempSync(join(tmpdir(), 'carapace-bench-sdk-'));
  const model = opts.model === null ? undefined : (opts.model ?? carapaceModel(fake, home));
  const live = session(fake, home, model);
  // The first few turns of a fresh CLI process are still warming its caches (as in Carapace's warm figure).
  for (let i = 0; i < 6; i++) await live.turn(`warm up ${i}`);
  let n = 0;
  return {
    warm: () => live.turn(`warm message ${++n}`),
    async cold() {
      const t0 = performance.now(); // query() starts the CLI process: the clock runs from before it
      const fresh = session(fake, home, model);
      const ms = await fresh.turn(`cold message ${++n}`, t0);
      await fresh.end();
      return ms;
    },
    async coldProcess() {
      const request = nextMainRequest(fake);
      const t0 = performance.now();
      const child = spawn(process.execPath, ['--input-type=module', '-e', ONE_PROMPT_PROGRAM], {
        cwd: APP_ROOT, // resolves the SDK from this checkout's node_modules
        env: { ...sdkEnv(fake, home), BENCH_PROMPT: prompt(`cold process ${++n}`), BENCH_MODEL: model ?? '' },
        stdio: 'ignore',
      });
      const exited = new Promise((r) => child.once('exit', r));
      const ms = (await request) - t0;
      await exited;
      return ms;
    },
    async prestarted() {
      const fresh = session(fake, home, model);
      await new Promise((r) => setTimeout(r, 1500)); // started, idle: as the scheduler's lead time leaves it
      const ms = await fresh.turn(`first message ${++n}`);
      await fresh.end();
      return ms;
    },
    async close() {
      await live.end();
      await fake.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
