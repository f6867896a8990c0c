// The WhatsApp connection's lifecycle under a fake socket and fake timers: backoff without storms, the close
// reasons that must not reconnect (logged out, replaced), restarts after pairing, QR and pairing-code flows, and
// a shutdown that leaves no timer or listener behind.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WhatsAppConnection, type ConnectionStatus } from '../src/channels/whatsapp/connection.js';
import { closeError, FakeWhatsApp } from './support/fake-whatsapp.js';

const silent = pino({ level: 'silent' });
const BACKOFF = { baseMs: 2_000, maxMs: 300_000, stableMs: 60_000 };

/** Deterministic "random" numbers in [0, 1) for the jitter. */
function lcg(seed = 42): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function setup(opts: { random?: () => number } = {}) {
  const wa = new FakeWhatsApp();
  const authDir = join(mkdtempSync(join(tmpdir(), 'carapace-wa-')), 'auth');
  const statuses: ConnectionStatus[] = [];
  const connection = new WhatsAppConnection({
    factory: wa.factory,
    authDir,
    log: silent,
    baileysLogger: silent,
    backoff: BACKOFF,
    random: opts.random ?? lcg(),
    handlers: {},
    onStatus: (s) => statuses.push(s),
  });
  const delays = () => statuses.flatMap((s) => (s.status === 'reconnecting' ? [s.inMs] : []));
  return { wa, authDir, statuses, connection, delays };
}

/** A connection to an account not paired yet, showing its first QR code. */
async function showingQr() {
  const s = setup();
  s.wa.paired = false;
  s.connection.start();
  await boot();
  expect(s.connection.status.status).toBe('qr');
  return s;
}

/** Let a new fake socket boot (its connect happens on a timer, like real network I/O). */
const boot = () => vi.advanceTimersByTimeAsync(1);

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('WhatsApp connection', () => {
  it('opens and reports who it is connected as', async () => {
    const { connection, statuses } = setup();
    connection.start();
    await boot();
    expect(statuses.map((s) => s.status)).toEqual(['connecting', 'open']);
    expect(connection.status).toEqual({ status: 'open', me: { pn: '4915100000001@s.whatsapp.net', lid: '99900000001@lid', name: 'Olga Owner' } });
    await connection.stop();
  });

  it('50 failed attempts with the network down: one timer at a time, growing capped delays, bounded attempts', async () => {
    const { wa, connection, delays } = setup();
    wa.network = 'down';
    connection.start();
    const started = Date.now();
    let pendingTimers = 0;
    while (wa.sockets.length < 50) {
      await vi.advanceTimersToNextTimerAsync();
      pendingTimers = Math.max(pendingTimers, vi.getTimerCount());
      // A stray second close of a closed socket must not add a retry.
      if (wa.current.closed) wa.current.closeAgain(closeError(408, 'duplicate'));
    }
    expect(pendingTimers).toBe(1);
    const d = delays();
    expect(d.length).toBeGreaterThanOrEqual(49);
    for (let i = 0; i < d.length; i++) {
      const nominal = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** i);
      expect(d[i]).toBeGreaterThanOrEqual(nominal / 2);
      expect(d[i]).toBeLessThanOrEqual(nominal);
      if (i > 0 && nominal < BACKOFF.maxMs) expect(d[i]).toBeGreaterThanOrEqual(d[i - 1]);
    }
    expect(Math.max(...d)).toBeLessThanOrEqual(BACKOFF.maxMs);
    // 50 attempts take hours, not seconds: at least the minimum delays added up.
    const minimum = d.reduce((sum, _, i) => sum + Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** i) / 2, 0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(minimum);
    // In the first hour of the outage: the first try, 8 ramp-up retries, then at most one per 150 s at the cap.
    let elapsed = 0;
    const firstHour = 1 + d.filter((x) => (elapsed += x) <= 3_600_000).length;
    expect(firstHour).toBeLessThanOrEqual(1 + 8 + (3_600_000 - 255_000) / (BACKOFF.maxMs / 2));
    expect(firstHour).toBeGreaterThanOrEqual(1 + 8 + (3_600_000 - 510_000) / BACKOFF.maxMs - 1);

    // The network comes back: the next attempt opens, and the backoff starts over after a stable hour.
    wa.network = 'up';
    await vi.advanceTimersToNextTimerAsync();
    await boot();
    expect(connection.status.status).toBe('open');
    await vi.advanceTimersByTimeAsync(BACKOFF.stableMs);
    void wa.current.end(closeError(428, 'Connection Terminated'));
    expect(delays().at(-1)).toBeLessThanOrEqual(BACKOFF.baseMs);
    await connection.stop();
  });

  it('a link that opens and drops at once keeps backing off instead of storming', async () => {
    const { wa, connection, delays } = setup({ random: () => 0.5 });
    connection.start();
    for (let i = 0; i < 12; i++) {
      await vi.advanceTimersToNextTimerAsync(); // the socket boots and opens
      expect(connection.status.status).toBe('open');
      void wa.current.end(closeError(428, 'Connection Terminated by Server'));
      if (i < 11) await vi.advanceTimersToNextTimerAsync(); // the reconnect timer
    }
    const d = delays();
    expect(d.slice(0, 8)).toEqual([1500, 3000, 6000, 12000, 24000, 48000, 96000, 192000]);
    expect(d.slice(8).every((x) => x === 225_000)).toBe(true);
    await connection.stop();
  });

  it('a late close from an old socket is ignored', async () => {
    const { wa, connection } = setup();
    connection.start();
    await boot();
    const first = wa.current;
    void first.end(closeError(428));
    await vi.advanceTimersToNextTimerAsync();
    await boot();
    expect(wa.sockets).toHaveLength(2);
    expect(connection.status.status).toBe('open');
    first.closeAgain(closeError(428)); // a misbehaving old socket speaks up again
    await vi.advanceTimersByTimeAsync(600_000);
    expect(wa.sockets).toHaveLength(2);
    expect(connection.status.status).toBe('open');
    await connection.stop();
  });

  it('conflict (440): another session took over; no reconnect loop', async () => {
    const { wa, connection, statuses } = setup();
    connection.start();
    await boot();
    void wa.current.end(closeError(440, 'Stream Errored (conflict)'));
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(wa.sockets).toHaveLength(1);
    expect(statuses.at(-1)).toMatchObject({ status: 'replaced', reason: expect.stringMatching(/Another session/) });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('logged out (401): the dead login is removed, no reconnect, a clear reason', async () => {
    const { wa, connection, authDir } = setup();
    mkdirSync(authDir, { recursive: true });
    writeFileSync(join(authDir, 'creds.json'), '{}');
    connection.start();
    await boot();
    void wa.current.end(closeError(401, 'Connection Failure'));
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(wa.sockets).toHaveLength(1);
    expect(existsSync(authDir)).toBe(false);
    expect(connection.status).toMatchObject({ status: 'logged-out', reason: expect.stringMatching(/carapace whatsapp pair/) });
    // The owner pairs again: a fresh start shows a QR code.
    wa.paired = false;
    connection.start();
    await boot();
    expect(connection.status).toEqual({ status: 'qr', qr: '2@fake-qr-1-1' });
    await connection.stop();
  });

  it('restart required (515) after pairing reconnects at once; repeated ones back off', async () => {
    const { wa, connection, delays } = await showingQr();
    wa.paired = true; // the phone scanned it
    void wa.current.end(closeError(515, 'Stream Errored (restart required)'));
    await boot();
    expect(wa.sockets).toHaveLength(2);
    expect(connection.status.status).toBe('open');
    expect(delays()).toEqual([]);
    for (let i = 0; i < 3; i++) {
      void wa.current.end(closeError(515));
      await vi.advanceTimersToNextTimerAsync();
      await boot();
      expect(connection.status.status).toBe('open');
    }
    expect(delays()).toHaveLength(1); // three quick restarts in a row, then the fourth waits like any failure
    await connection.stop();
  });

  it('an unscanned QR code expires into a clear "unpaired" state, without retrying', async () => {
    const { wa, connection } = await showingQr();
    wa.current.emit('connection.update', { qr: '2@second-qr' });
    expect(connection.status).toEqual({ status: 'qr', qr: '2@second-qr' });
    void wa.current.end(closeError(408, 'QR refs attempts ended'));
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(wa.sockets).toHaveLength(1);
    expect(connection.status).toMatchObject({ status: 'unpaired', reason: expect.stringMatching(/expired/) });
  });

  it('pairing by phone number asks WhatsApp for a code once', async () => {
    const { wa, connection } = setup();
    wa.paired = false;
    connection.start({ pairingPhone: '4915100000001' });
    await boot();
    wa.current.emit('connection.update', { qr: '2@another' });
    await boot();
    expect(wa.pairingRequests).toEqual(['4915100000001']);
    expect(connection.status).toEqual({ status: 'pairing-code', code: 'FAKE1234', phone: '4915100000001' });
    await connection.stop();
  });

  it('switching a QR session to a pairing code ends the old socket', async () => {
    const { wa, connection } = await showingQr();
    connection.start({ pairingPhone: '4915100000001' });
    await boot();
    expect(wa.sockets.map((s) => s.closed)).toEqual([true, false]);
    expect(connection.status).toMatchObject({ status: 'pairing-code' });
    await connection.stop();
  });

  it('stops cleanly: no timer, no socket, and later events change nothing', async () => {
    const { wa, connection, statuses } = setup();
    wa.network = 'down';
    connection.start();
    await vi.advanceTimersToNextTimerAsync();
    expect(connection.status.status).toBe('reconnecting');
    await connection.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(connection.status.status).toBe('stopped');
    const count = statuses.length;
    wa.network = 'up';
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(wa.sockets).toHaveLength(1);
    expect(statuses).toHaveLength(count);
  });
});

describe('describeStatus', () => {
  it('says "no internet" when the machine cannot reach WhatsApp at all, and names the error otherwise', async () => {
    const { describeStatus } = await import('../src/channels/whatsapp/connection.js');
    expect(describeStatus({ status: 'reconnecting', attempt: 3, inMs: 8000, error: 'getaddrinfo ENOTFOUND web.whatsapp.com' })).toBe(
      'no internet connection (getaddrinfo ENOTFOUND web.whatsapp.com): trying again in 8 s (attempt 3)',
    );
    expect(describeStatus({ status: 'reconnecting', attempt: 1, inMs: 2000, error: 'Connection Closed' })).toBe('reconnecting (attempt 1, in 2 s): Connection Closed');
  });
});
