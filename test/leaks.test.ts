// Small leaks (issue 17 item 8): an engine that never confirms a sandbox's exit does not hold `stop` forever, a
// failing `waitFor` still ends the handle, and a reply given up for good leaves nothing behind in its channel.
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startCarapace, type Carapace } from '../src/app.js';
import { AppleRuntime } from '../src/sandbox/apple.js';
import { EngineHandle } from '../src/sandbox/engine.js';
import { FakeWhatsApp, fakeWhatsAppChannel, groupMetadata } from './support/fake-whatsapp.js';
import { sandboxReadableTempDir, testConfig } from './support/harness.js';
import { until } from './support/wait.js';

/** An Apple `container` CLI whose every command fails (its services went away): no signal lands, no list answers. */
function brokenAppleEngine(): AppleRuntime {
  const dir = sandboxReadableTempDir('carapace-leaks-');
  const bin = join(dir, 'container');
  writeFileSync(bin, '#!/bin/sh\necho "XPC connection error" >&2\nexit 1\n');
  chmodSync(bin, 0o755);
  return new AppleRuntime({ stateDir: join(dir, 'state'), bin });
}

/** The attached client of a sandbox: a real process that lives until killed. */
const attachedClient = () => spawn('sleep', ['60'], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('sandbox handles of an engine that does not answer', () => {
  it('a killed client whose container the engine cannot report on still resolves `exited` (and cleans up)', async () => {
    const client = attachedClient();
    let closed = false;
    const handle = new EngineHandle('c-broken', client, brokenAppleEngine(), async () => void (closed = true));
    client.kill('SIGKILL');
    await expect(handle.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(closed).toBe(true);
  });

  it('`stop` returns within its bound when the engine never confirms the exit', async () => {
    const client = attachedClient();
    try {
      const handle = new EngineHandle('c-stuck', client, brokenAppleEngine(), async () => undefined);
      const started = performance.now();
      await expect(handle.stop(100, 600)).resolves.toEqual({ code: null, signal: 'SIGKILL' });
      const took = performance.now() - started;
      expect(took).toBeGreaterThanOrEqual(600);
      expect(took).toBeLessThan(3000);
    } finally {
      client.kill('SIGKILL');
    }
  });
});

let app: Carapace | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('a reply given up for good', () => {
  it('leaves no progress entry in its channel after its last attempt fails half-way', async () => {
    const wa = new FakeWhatsApp();
    const FAMILY = '120363000000000009@g.us';
    wa.groups = [groupMetadata(FAMILY, 'Family')];
    const log = pino({ level: 'silent' });
    const config = testConfig(sandboxReadableTempDir('carapace-leaks-wa-'), 'http://127.0.0.1:9', { WHATSAPP_MAIN_CHAT: 'none' });
    const channel = fakeWhatsAppChannel(wa, config, log, { maxChars: 60 });
    app = await startCarapace(config, log, { channels: [channel] });
    await until(() => app!.pairing?.status().status === 'open');
    const family = app.orchestrator.registerGroup({ channel: 'wa', chatId: `wa:${FAMILY}`, name: 'Family', folder: 'family', trigger: '@Andy', requiresTrigger: true, isMain: false });
    // The first part goes out; every later one fails, and this is the reply's last allowed attempt.
    wa.onSent = () => wa.sendFailures.push(new Error('stream errored'), new Error('stream errored'));
    app.store.queueOutput({ runId: 'r-leak', seq: 1, chatId: family.chatId, text: `${'first part. '.repeat(6)}\n\n${'second part. '.repeat(6)}`, groupId: family.id });
    app.store.db.prepare('UPDATE outbox SET attempts = 9').run();
    app.orchestrator.delivery.kick();
    await until(() => (app!.store.db.prepare('SELECT status FROM outbox').get() as { status: string }).status === 'failed');
    expect(wa.sent).toHaveLength(1);
    expect((channel as unknown as { outbound: { progress: { size: number } } }).outbound.progress.size).toBe(0);
  });
});
