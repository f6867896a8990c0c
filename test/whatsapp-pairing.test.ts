// Pairing: `carapace whatsapp pair` on its own (QR in the terminal, or a pairing code), through a running
// Carapace (its QR relayed to the terminal and served to the web page), "already paired", and logout.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startCarapace, type Carapace } from '../src/app.js';
import { lockLogin } from '../src/channels/whatsapp/auth.js';
import { runCli } from '../src/cli/main.js';
import type { SocketFactory } from '../src/channels/whatsapp/socket.js';
import type { Config } from '../src/config.js';
import { dataPaths } from '../src/fs/paths.js';
import { closeError, FakeWhatsApp, fakeWhatsAppChannel } from './support/fake-whatsapp.js';
import { sandboxReadableTempDir, testConfig } from './support/harness.js';
import { until } from './support/wait.js';

const log = pino({ level: 'silent' });
let app: Carapace | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
});

function terminal() {
  const out = new PassThrough();
  const text = { value: '' };
  out.on('data', (c: Buffer) => (text.value += c.toString()));
  return { out, text };
}


/** `carapace whatsapp <args>` through the real command line, writing to `out`; resolves to its exit code. */
function whatsappCommand(args: string[], o: { config: Config; out: PassThrough; factory?: SocketFactory; pollMs?: number }): Promise<number> {
  return runCli(['whatsapp', ...args], { out: o.out, err: o.out, config: () => o.config, exitCode: 0, whatsapp: { factory: o.factory, pollMs: o.pollMs } });
}

const freshConfig = (env: Record<string, string> = {}) => testConfig(sandboxReadableTempDir('carapace-wa-pair-'), 'http://127.0.0.1:9', env);

/** `carapace whatsapp <args>` with no Carapace running and an unpaired phone; resolves once it shows something. */
async function pairAlone(args: string[], shows: string) {
  const config = freshConfig();
  const wa = new FakeWhatsApp();
  wa.paired = false;
  const { out, text } = terminal();
  const done = whatsappCommand(args, { config, out, factory: wa.factory });
  await until(() => text.value.includes(shows));
  return { config, wa, out, text, done };
}

describe('carapace whatsapp pair', () => {
  it('on its own: shows the QR code in the terminal, then finishes once the phone linked it', async () => {
    const { config, wa, text, done } = await pairAlone(['pair'], 'then scan this code');
    expect(text.value).toMatch(/[▄▀█]{5,}/); // a QR code drawn with block characters
    expect(existsSync(dataPaths(config.dataDir).whatsappLock)).toBe(true);
    wa.scan(dataPaths(config.dataDir).whatsappAuth);
    expect(await done).toBe(0);
    expect(text.value).toContain('Paired: WhatsApp is linked to +4915100000001.');
    expect(existsSync(dataPaths(config.dataDir).whatsappLock)).toBe(false);

    // Paired now: saying so is all it does.
    const again = terminal();
    expect(await whatsappCommand(['pair'], { config, out: again.out, factory: wa.factory })).toBe(0);
    expect(again.text.value).toMatch(/already paired as \+4915100000001.*\n.*carapace whatsapp logout/);
    expect(wa.sockets).toHaveLength(2);
  });

  it('with --phone: asks WhatsApp for a pairing code and shows it', async () => {
    const { config, wa, out, text, done } = await pairAlone(['pair', '--phone', '+49 151 00000001'], 'FAKE1234');
    expect(text.value).toContain('Link with phone number instead');
    expect(wa.pairingRequests).toEqual(['4915100000001']);
    wa.scan(dataPaths(config.dataDir).whatsappAuth);
    expect(await done).toBe(0);
    expect(await whatsappCommand(['pair', '--phone', 'abc'], { config, out, factory: wa.factory })).toBe(2);
    expect(text.value).toMatch(/--phone needs the full number/);
  });

  it('an expired QR code ends with a clear message and exit code 1', async () => {
    const { wa, text, done } = await pairAlone(['pair'], 'scan this code');
    void wa.current.end(closeError(408, 'QR refs attempts ended'));
    expect(await done).toBe(1);
    expect(text.value).toContain('expired before it was used');
  });

  it('through a running Carapace: its QR code is relayed here and served to the web page', async () => {
    const config = freshConfig({ WHATSAPP_ENABLED: '1' });
    const wa = new FakeWhatsApp();
    wa.paired = false;
    app = await startCarapace(config, log, { channels: [fakeWhatsAppChannel(wa, config, log)] });
    const { url } = app.local.address();
    const token = new URL(app.chatUrl).hash.replace('#token=', '');
    const auth = { authorization: `Bearer ${token}` };
    const live: Config = { ...config, web: { ...config.web, port: app.local.address().port } };
    await until(() => app!.pairing?.status().status === 'qr');

    const status = await (await fetch(`${url}api/whatsapp`, { headers: auth })).json();
    expect(status).toMatchObject({ status: 'qr', qr: '2@fake-qr-0-1', detail: 'waiting for the QR code to be scanned' });
    const svg = await fetch(`${url}api/whatsapp/qr.svg?token=${token}`);
    expect(svg.headers.get('content-type')).toBe('image/svg+xml');
    expect(await svg.text()).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect((await fetch(`${url}api/whatsapp`)).status).toBe(401);
    expect((await fetch(`${url}api/whatsapp/qr.svg`)).status).toBe(401);
    const bad = await fetch(`${url}api/whatsapp/connect`, { method: 'POST', headers: auth, body: '{"phone":"12ab"}' });
    expect(bad.status).toBe(400);

    const { out, text } = terminal();
    const done = whatsappCommand(['pair'], { config: live, out, pollMs: 20 });
    await until(() => text.value.includes('scan this code'));
    expect(text.value).toContain('Carapace is running: pairing through it');
    expect(wa.sockets).toHaveLength(1); // one login, one connection: the CLI made none of its own
    wa.scan(dataPaths(config.dataDir).whatsappAuth);
    expect(await done).toBe(0);
    expect(text.value).toContain('Paired: WhatsApp is connected as +4915100000001.');
    expect(await (await fetch(`${url}api/whatsapp`, { headers: auth })).json()).toMatchObject({ status: 'open', me: '+4915100000001' });
    expect((await fetch(`${url}api/whatsapp/qr.svg?token=${token}`)).status).toBe(404);
  });

  it('the web page can restart pairing after a logout, by QR or by code', async () => {
    const config = freshConfig({ WHATSAPP_ENABLED: '1' });
    const wa = new FakeWhatsApp();
    app = await startCarapace(config, log, { channels: [fakeWhatsAppChannel(wa, config, log)] });
    const { url } = app.local.address();
    const auth = { authorization: `Bearer ${new URL(app.chatUrl).hash.replace('#token=', '')}` };
    await until(() => app!.pairing?.status().status === 'open');
    void wa.current.end(closeError(401, 'Connection Failure'));
    await until(() => app!.pairing?.status().status === 'logged-out');
    wa.paired = false;
    const res = await fetch(`${url}api/whatsapp/connect`, { method: 'POST', headers: auth, body: '{"phone":"+49 151 00000001"}' });
    expect(res.status).toBe(202);
    await until(() => app!.pairing?.status().code === 'FAKE1234');
    expect(wa.pairingRequests).toEqual(['4915100000001']);
  });
});

describe('carapace whatsapp logout and status', () => {
  it('removes the login, but not while Carapace holds it', async () => {
    const config = freshConfig();
    const paths = dataPaths(config.dataDir);
    mkdirSync(paths.whatsappAuth, { recursive: true });
    writeFileSync(join(paths.whatsappAuth, 'creds.json'), JSON.stringify({ account: {}, me: { id: '4915100000001:3@s.whatsapp.net' } }));
    const status = terminal();
    await whatsappCommand(['status'], { config, out: status.out });
    expect(status.text.value).toContain('Login on this computer: paired as +4915100000001');
    const json = terminal();
    expect(await whatsappCommand(['status', '--json'], { config, out: json.out })).toBe(0);
    expect(JSON.parse(json.text.value)).toEqual({ paired: true, phone: '+4915100000001', running: null });

    const release = lockLogin(paths.whatsappLock);
    const busy = terminal();
    expect(await whatsappCommand(['logout'], { config, out: busy.out })).toBe(1);
    expect(busy.text.value).toContain('stop Carapace first');
    release();

    const { out, text } = terminal();
    expect(await whatsappCommand(['logout'], { config, out })).toBe(0);
    expect(text.value).toContain('Removed the WhatsApp login for +4915100000001');
    expect(existsSync(paths.whatsappAuth)).toBe(false);
  });
});

describe('the login on disk', () => {
  it('is owner-only, while the data directory above stays reachable for the sandbox user', () => {
    const dataDir = join(sandboxReadableTempDir('carapace-wa-perm-'), 'data');
    const paths = dataPaths(dataDir);
    const release = lockLogin(paths.whatsappLock);
    expect(statSync(join(dataDir, 'whatsapp')).mode & 0o777).toBe(0o700);
    expect(statSync(dataDir).mode & 0o011).toBe(0o011);
    release();
  });
});
