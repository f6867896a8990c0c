import { Agent, request as httpRequest } from 'node:http';
// End-to-end harness: a real Carapace (store, queue, real sandboxes running the real Claude Agent SDK) wired to
// the fake Anthropic API, driven through the local chat's real HTTP API. Sandboxes are bubblewrap unless a
// runtime is injected (the conformance suite runs the same path on every backend).
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startCarapace, type Carapace } from '../../src/app.js';
import type { Channel } from '../../src/channels/channel.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { SandboxRuntime } from '../../src/sandbox/runtime.js';
import { startFakeAnthropic, type FakeAnthropic, type Script } from './fake-anthropic.js';
import { until } from './wait.js';

export const REAL_KEY = 'sk-ant-test-real-credential-0123456789';

export interface Reply {
  text: string;
  /** Who the chat shows as the sender: the assistant's name, or a team member's role. */
  sender: string;
  at: number;
}

export interface ShownCard {
  id: string;
  text: string;
  choices: { id: string; label: string }[];
  at: number;
}

export interface Harness {
  fake: FakeAnthropic;
  app: Carapace;
  config: Config;
  dataDir: string;
  logFile: string;
  replies: Reply[];
  /** Cards (egress approvals) the local chat showed, with when they arrived. */
  cards: ShownCard[];
  /** Press a card's button in the local chat, as the page does; resolves to what the host answered. */
  pressCard(cardId: string, choice: string): Promise<string>;
  /** Type a message into the owner's local chat, as the web page does. Resolves when accepted (202). */
  say(text: string): Promise<void>;
  waitForReplies(n: number, timeoutMs?: number): Promise<Reply[]>;
  /** Stop Carapace, run `whileStopped` (e.g. tamper with its files), start it again on the same data. */
  restart(whileStopped?: () => void): Promise<void>;
  close(): Promise<void>;
}

/** A data dir the sandbox uid can traverse (mkdtemp makes 0700 dirs; bwrap runs as the sandbox uid). */
export function sandboxReadableTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** The environment a test Carapace runs with (in process, or as a child running the real CLI). */
export function testEnv(dataDir: string, upstreamUrl: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: REAL_KEY,
    ANTHROPIC_BASE_URL: upstreamUrl,
    CARAPACE_DATA_DIR: dataDir,
    // Not the .env next to package.json: a developer's own settings must not leak into a test.
    CARAPACE_ENV_FILE: join(dataDir, 'test.env'),
    CARAPACE_WEB_PORT: '0',
    CARAPACE_TZ: 'UTC',
    CLAUDE_CODE_MAX_RETRIES: '0',
    CARAPACE_RETRY_BASE_MS: '200',
    CARAPACE_RETRY_MAX_MS: '1000',
    CARAPACE_HEARTBEAT_MS: '500',
    CARAPACE_IDLE_TIMEOUT_MS: '20000',
    CARAPACE_RUNTIME: 'bwrap',
    // Nothing from the real user's home (e.g. a mount allowlist) may leak into a test.
    HOME: join(dataDir, 'owner-home'),
    ...env,
  };
}

export function testConfig(dataDir: string, upstreamUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig(testEnv(dataDir, upstreamUrl, env));
}

export interface HarnessOptions {
  script?: Script;
  env?: Record<string, string>;
  /** The sandbox backend (default: bubblewrap); gets a state directory inside the data dir. */
  runtime?: (stateDir: string) => SandboxRuntime;
  /** Extra channels, made fresh on every (re)start. */
  channels?: (config: Config, log: pino.Logger) => Channel[];
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const fake = await startFakeAnthropic({ script: opts.script });
  const dataDir = sandboxReadableTempDir('carapace-e2e-');
  const logFile = join(dataDir, 'test.log');
  const config = testConfig(dataDir, fake.url, opts.env);
  const runtime = opts.runtime?.(join(dataDir, 'sandboxes'));
  const log = createLogger('debug', pino.destination({ dest: logFile, sync: true }));
  const replies: Reply[] = [];
  const cards: ShownCard[] = [];
  let app: Carapace;
  let events: AbortController;
  let client: Agent;

  async function boot() {
    app = await startCarapace(config, log, { runtime, channels: opts.channels?.(config, log) });
    client = new Agent({ keepAlive: true });
    events = new AbortController();
    await subscribe(app, events.signal, {
      reply: (d) => replies.push({ text: d.text, sender: d.senderName, at: performance.now() }),
      card: (d) => cards.push({ ...d.card, at: performance.now() }),
    });
  }
  await boot();

  const h: Harness = {
    fake,
    get app() {
      return app;
    },
    config,
    dataDir,
    logFile,
    replies,
    cards,
    async pressCard(cardId, choice) {
      const res = await postLocal(app, client, 'api/cards', { cardId, choice });
      if (res.status !== 200) throw new Error(`local chat refused the answer: ${res.status} ${res.text}`);
      return (JSON.parse(res.text) as { text: string }).text;
    },
    async say(text) {
      const res = await postLocal(app, client, 'api/messages', { text });
      if (res.status !== 202) throw new Error(`local chat refused the message: ${res.status} ${res.text}`);
    },
    waitForReplies(n, timeoutMs = 30_000) {
      return until(() => replies.length >= n && replies.slice(), timeoutMs, () => `${n} replies, got ${replies.length}: ${JSON.stringify(replies)} (log: ${logFile})`);
    },
    async restart(whileStopped) {
      events.abort();
      client.destroy();
      await app.stop();
      whileStopped?.();
      await boot();
    },
    async close() {
      events.abort();
      client.destroy();
      await app.stop();
      await fake.close();
    },
  };
  return h;
}

const tokenOf = (app: Carapace) => new URL(app.chatUrl).hash.replace('#token=', '');

/**
 * POST to the local chat as a browser would, over a kept-alive connection. Not fetch: in this process, which
 * Carapace shares here, undici's fetch spends ~0.5 ms more before the request leaves, and the latency figures
 * would count that client's work as Carapace's.
 */
function postLocal(app: Carapace, agent: Agent, path: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${tokenOf(app)}`, 'content-type': 'application/json' };
    const req = httpRequest(`${app.local.address().url}${path}`, { method: 'POST', agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Follow the local chat's event stream and hand each event to its listener. Resolves once connected. */
async function subscribe(app: Carapace, signal: AbortSignal, on: Record<string, (data: any) => void>): Promise<void> {
  const { url } = app.local.address();
  const res = await fetch(`${url}api/events?token=${encodeURIComponent(tokenOf(app))}`, { signal });
  if (!res.ok || !res.body) throw new Error(`event stream refused: ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event && data && on[event]) on[event](JSON.parse(data));
        }
      }
    } catch {
      // aborted on restart/close
    }
  })();
}
