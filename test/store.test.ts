import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { appliedMigrations, migrate } from '../src/store/ledger.js';
import { migrations } from '../src/store/migrations.js';
import { Store } from '../src/store/store.js';

const inbound = (text: string, platformId: string, chatId = 'local:owner') => ({
  chatId,
  platformId,
  senderId: 'u1',
  senderName: 'Owner',
  text,
  timestamp: Date.now(),
});

describe('store', () => {
  it('migrates an empty database to the latest version, with WAL and foreign keys on', () => {
    const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'carapace-db-')), 'c.db'));
    expect(appliedMigrations(db)).toEqual(migrations.map((m) => m.id));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r: any) => r.name);
    for (const t of ['chats', 'messages', 'groups', 'sessions', 'runs', 'run_inputs', 'outbox', 'model_usage', 'tasks', 'task_runs', 'schema_migrations']) expect(tables).toContain(t);
    migrate(db); // idempotent
    expect(appliedMigrations(db)).toEqual(migrations.map((m) => m.id));
  });

  it('ignores a redelivered message and keeps order', () => {
    const store = new Store(openDatabase(':memory:'));
    const a = store.insertMessage(inbound('one', 'p1'));
    expect(store.insertMessage(inbound('one again', 'p1'))).toBeNull();
    const b = store.insertMessage(inbound('two', 'p2'));
    expect(b).toBeGreaterThan(a!);
    expect(store.messagesAfter('local:owner', 0).map((m) => m.text)).toEqual(['one', 'two']);
  });

  it('registering a chat does not replay its earlier messages; the cursor only moves forward', () => {
    const store = new Store(openDatabase(':memory:'));
    store.insertMessage(inbound('before', 'p1', 'x:chat'));
    const g = store.registerGroup({ channel: 'x', chatId: 'x:chat', name: 'Chat', folder: 'chat', trigger: '@Andy', requiresTrigger: true, isMain: false });
    expect(store.messagesAfter(g.chatId, g.cursor)).toEqual([]);
    const id = store.insertMessage(inbound('after', 'p2', 'x:chat'))!;
    store.advanceCursor(g.id, id);
    store.advanceCursor(g.id, id - 1);
    expect(store.groupById(g.id)!.cursor).toBe(id);
  });

  it('allows only one main group and unique folders', () => {
    const store = new Store(openDatabase(':memory:'));
    store.registerGroup({ channel: 'x', chatId: 'x:a', name: 'A', folder: 'a', trigger: '@A', requiresTrigger: false, isMain: true });
    expect(() => store.registerGroup({ channel: 'x', chatId: 'x:b', name: 'B', folder: 'b', trigger: '@A', requiresTrigger: false, isMain: true })).toThrow();
    expect(() => store.registerGroup({ channel: 'x', chatId: 'x:c', name: 'C', folder: 'a', trigger: '@A', requiresTrigger: true, isMain: false })).toThrow();
  });

  it('queues a run output once per (run, seq) and advances the cursor with it', () => {
    const store = new Store(openDatabase(':memory:'));
    const g = store.registerGroup({ channel: 'local', chatId: 'local:owner', name: 'O', folder: 'main', trigger: '@A', requiresTrigger: false, isMain: true });
    const m = store.insertMessage(inbound('hi', 'p1'))!;
    store.startRun({ id: 'r1', groupId: g.id, attempt: 1, fromMessage: 0, toMessage: m, sandbox: 's' });
    expect(store.inputMessage('r1', 0)).toBe(m);
    const out = { runId: 'r1', seq: 2, chatId: g.chatId, text: 'hello', groupId: g.id, answered: m };
    expect(store.queueOutput(out)).toBe(true);
    expect(store.queueOutput(out)).toBe(false); // replay after a crash
    expect(store.pendingOutbox()).toHaveLength(1);
    expect(store.groupById(g.id)!.cursor).toBe(m);
    store.markSent(store.pendingOutbox()[0].id, 'plat-1');
    expect(store.pendingOutbox()).toHaveLength(0);
    expect(store.recentMessages(g.chatId, 10).map((x) => [x.text, x.fromAssistant])).toEqual([
      ['hi', false],
      ['hello', true],
    ]);
  });
});
