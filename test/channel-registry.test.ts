// The channel registry: each platform channel says when it is on and how it is built; app.ts builds the list
// from it, never creating a second channel of a name the caller already built.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startCarapace, type Carapace } from '../src/app.js';
import { CHANNEL_PLUGINS } from '../src/channels/registry.js';
import { whatsappPlugin } from '../src/channels/whatsapp/plugin.js';
import { dataPaths } from '../src/fs/paths.js';
import { FakeWhatsApp, fakeWhatsAppChannel } from './support/fake-whatsapp.js';
import { sandboxReadableTempDir, testConfig } from './support/harness.js';

const log = pino({ level: 'silent' });
const freshConfig = (env: Record<string, string> = {}) => testConfig(sandboxReadableTempDir('carapace-registry-'), 'http://127.0.0.1:9', env);
let app: Carapace | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

describe('channel registry', () => {
  it('lists each platform channel once, by name', () => {
    const names = CHANNEL_PLUGINS.map((p) => p.name);
    expect(names).toContain('whatsapp');
    expect(new Set(names).size).toBe(names.length);
  });

  it('WhatsApp is on when configured on, or when unset and already paired', () => {
    const config = freshConfig();
    expect(whatsappPlugin.enabled(config)).toBe(false);
    const auth = dataPaths(config.dataDir).whatsappAuth;
    mkdirSync(auth, { recursive: true });
    writeFileSync(join(auth, 'creds.json'), JSON.stringify({ account: {}, me: { id: '4915100000001:3@s.whatsapp.net' } }));
    expect(whatsappPlugin.enabled(config)).toBe(true);
    expect(whatsappPlugin.enabled({ ...config, whatsapp: { ...config.whatsapp, enabled: false } })).toBe(false);
    expect(whatsappPlugin.enabled({ ...freshConfig(), whatsapp: { ...config.whatsapp, enabled: true } })).toBe(true);
  });

  it('builds the WhatsApp channel on demand, with its pairing panel, without connecting', async () => {
    const channel = await whatsappPlugin.create(freshConfig({ WHATSAPP_ENABLED: '1' }), log);
    expect(channel.name).toBe('whatsapp');
    expect(channel.owns('wa:4915100000001@s.whatsapp.net')).toBe(true);
    expect(channel.owns('local:owner')).toBe(false);
    expect(channel.pairing?.status().status).toBe('stopped');
    await channel.disconnect();
  });

  it('startCarapace uses the caller\'s channel of a registry name instead of building another', async () => {
    const config = freshConfig({ WHATSAPP_ENABLED: '1' });
    const given = fakeWhatsAppChannel(new FakeWhatsApp(), config, log);
    app = await startCarapace(config, log, { channels: [given] });
    expect(app.channels.map((c) => c.name)).toEqual(['local', 'whatsapp']);
    expect(app.channels[1]).toBe(given);
    expect(app.pairing).toBe(given);
  });

  it('with every platform channel off, only the local chat runs and there is no pairing panel', async () => {
    app = await startCarapace(freshConfig({ WHATSAPP_ENABLED: '0' }), log);
    expect(app.channels.map((c) => c.name)).toEqual(['local']);
    expect(app.pairing).toBeUndefined();
    const token = new URL(app.chatUrl).hash.replace('#token=', '');
    const res = await fetch(new URL('api/whatsapp', app.local.address().url), { headers: { authorization: `Bearer ${token}` } });
    expect(await res.json()).toMatchObject({ status: 'disabled' });
  });
});
