import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { appliedMigrations, migrate } from '../src/store/ledger.js';
import { migrations } from '../src/store/migrations.js';
import { Store } from '../src/store/store.js';

const allIds = migrations.map((m) => m.id);
const freshFile = () => join(mkdtempSync(join(tmpdir(), 'carapace-ledger-')), 'carapace.db');

/** A database as a pre-ledger Carapace left it: `sql` applied and its number in schema_version. */
function legacyDatabase(sql: string[], version: number): string {
  const file = freshFile();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
  for (const s of sql) db.exec(s);
  db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(version);
  db.close();
  return file;
}

const ledgerRows = (db: Database.Database) =>
  db.prepare('SELECT id, applied_at AS appliedAt FROM schema_migrations ORDER BY seq').all() as { id: string; appliedAt: number | null }[];

/** Rows for every table of the first schema, written with its own columns (no later column exists yet). */
function fillFirstSchema(file: string): void {
  const db = new Database(file);
  db.exec(`
    INSERT INTO chats (id, channel, name, last_message_at) VALUES ('local:owner', 'local', 'Owner', 1000), ('wa:1@g.us', 'wa', 'Family', 2000);
    INSERT INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp) VALUES
      ('local:owner', 'p1', 'u1', 'Owner', 'hello', 1000),
      ('wa:1@g.us', 'p2', 'u2', 'Ann', 'dinner?', 2000);
    INSERT INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp, from_assistant) VALUES
      ('local:owner', 'out-1', 'assistant', 'assistant', 'hi there', 1500, 1);
    INSERT INTO groups (channel, chat_id, name, folder, trigger, requires_trigger, is_main, cursor, created_at) VALUES
      ('local', 'local:owner', 'Owner', 'main', '@Andy', 0, 1, 1, 900),
      ('wa', 'wa:1@g.us', 'Family', 'family', '@Andy', 1, 0, 0, 950);
    INSERT INTO sessions (group_id, session_id, updated_at) VALUES (1, '6f1c9a52-4f7e-4d7e-9a43-0d3c1b2a9e10', 1600);
    INSERT INTO runs (id, group_id, status, attempt, from_message, to_message, sandbox, started_at, ended_at) VALUES
      ('run-1', 1, 'succeeded', 1, 0, 1, 'carapace-run-1', 1100, 1600);
    INSERT INTO run_inputs (run_id, seq, to_message) VALUES ('run-1', 0, 1);
    INSERT INTO outbox (run_id, seq, chat_id, text, status, attempts, platform_message_id, created_at, sent_at) VALUES
      ('run-1', 1, 'local:owner', 'hi there', 'sent', 1, 'out-1', 1400, 1500),
      ('run-1', 2, 'local:owner', 'still to send', 'pending', 0, NULL, 1450, NULL);
  `);
  db.close();
}

describe('migration ledger', () => {
  it('upgrades a database made with the very first schema, keeping every row, and the newest schema works on it', () => {
    const file = legacyDatabase([readFileSync(join(import.meta.dirname, 'fixtures', 'schema-v1.sql'), 'utf8')], 1);
    fillFirstSchema(file);

    const db = openDatabase(file);
    const ledger = ledgerRows(db);
    expect(ledger.map((r) => r.id)).toEqual(allIds);
    expect(ledger[0].appliedAt).toBeNull(); // adopted: applied before the ledger, not run again
    for (const r of ledger.slice(1)) expect(r.appliedAt).toBeGreaterThan(0);

    const store = new Store(db);
    expect(store.listGroups().map((g) => [g.folder, g.chatId, g.isMain, g.cursor])).toEqual([
      ['main', 'local:owner', true, 1],
      ['family', 'wa:1@g.us', false, 0],
    ]);
    expect(store.recentMessages('local:owner', 10).map((m) => [m.text, m.fromAssistant])).toEqual([
      ['hello', false],
      ['hi there', true],
    ]);
    expect(store.messagesAfter('wa:1@g.us', 0).map((m) => m.text)).toEqual(['dinner?']);
    expect(store.sessionOf(1)).toBe('6f1c9a52-4f7e-4d7e-9a43-0d3c1b2a9e10');
    expect(store.runById('run-1')).toMatchObject({ status: 'succeeded', toMessage: 1, isolated: false, firstOutputAt: null });
    expect(store.inputMessage('run-1', 0)).toBe(1);
    expect(store.pendingOutbox()).toMatchObject([{ runId: 'run-1', seq: 2, text: 'still to send', sender: null, filePath: null }]);
    expect(store.chatById('wa:1@g.us')).toMatchObject({ name: 'Family', isGroup: false, folder: 'family' });

    // Every later migration's columns and tables take writes.
    store.upsertChat({ chatId: 'wa:1@g.us', name: 'Family', isGroup: true });
    expect(store.chatById('wa:1@g.us')!.isGroup).toBe(true);
    const task = store.tasks.create(
      { id: 't1', groupId: 2, createdBy: 1, prompt: 'remind', scheduleType: 'interval', scheduleValue: '1h', contextMode: 'isolated', anchorAt: 0, nextRun: 10 },
      5,
    );
    expect(store.tasks.list({ groupId: 2 })).toEqual([task]);
    store.startRun({ id: 'run-2', groupId: 2, attempt: 1, fromMessage: 0, toMessage: 2, sandbox: 's', isolated: true });
    expect(store.queueOutput({ runId: 'run-2', seq: 0, chatId: 'wa:1@g.us', text: 'cap', groupId: 2, answered: 2, sender: 'Researcher', file: { path: '/x', name: 'a.pdf' } })).toBe(true);
    expect(store.pendingOutbox().at(-1)).toMatchObject({ sender: 'Researcher', fileName: 'a.pdf' });
    store.recordUsage({ groupId: 2, runId: 'run-2', inputTokens: 3, outputTokens: 4, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 });
    expect(store.runUsage('run-2')).toMatchObject({ calls: 1, inputTokens: 3, outputTokens: 4 });
    db.close();
  });

  it('adopts a database the pre-ledger code brought fully up to date, running nothing again', () => {
    const file = legacyDatabase(migrations.slice(0, 5).map((m) => m.sql), 5); // the last list the pre-ledger code had
    // Data as the code of that time wrote it (today's store code would write columns that did not exist yet).
    const before = new Database(file);
    before.exec(`INSERT INTO chats (id, channel, name) VALUES ('local:owner', 'local', 'Owner');
      INSERT INTO groups (channel, chat_id, name, folder, trigger, requires_trigger, is_main, created_at)
        VALUES ('local', 'local:owner', 'Owner', 'main', '@A', 0, 1, 1);
      INSERT INTO messages (chat_id, platform_id, sender_id, sender_name, text, timestamp) VALUES ('local:owner', 'p1', 'u', 'U', 'kept', 1);`);
    const schema = before.prepare('SELECT name, sql FROM sqlite_master ORDER BY name').all();
    before.close();

    const db = openDatabase(file);
    // The five it had are adopted as they are; the ones after them run now.
    expect(ledgerRows(db)).toEqual(allIds.map((id, i) => ({ id, appliedAt: i < 5 ? null : expect.any(Number) })));
    const schemaOf = (d: Database.Database) =>
      d.prepare(`SELECT name, sql FROM sqlite_master WHERE name NOT IN ('schema_migrations', 'sqlite_autoindex_schema_migrations_1') ORDER BY name`).all();
    const fresh = openDatabase(freshFile());
    expect(schemaOf(db)).toEqual(schemaOf(fresh));
    fresh.close();
    expect(schema.length).toBeGreaterThan(0);
    expect(new Store(db).messagesAfter('local:owner', 0).map((m) => m.text)).toEqual(['kept']);
    // A pre-ledger build reads this number and refuses the database as newer instead of re-running migration 1.
    expect(db.prepare('SELECT version FROM schema_version').pluck().all()).toEqual([2_147_483_647]);
    db.close();
    expect(appliedMigrations(openDatabase(file))).toEqual(allIds); // a second open changes nothing
  });

  it('applies a new migration once, each in its own transaction with its ledger row', () => {
    const db = openDatabase(freshFile());
    const added = [
      { id: '0006-notes', sql: 'CREATE TABLE notes (text TEXT)' },
      { id: '0007-broken', sql: 'CREATE TABLE more_notes (text TEXT); INSERT INTO no_such_table VALUES (1)' },
    ];
    expect(() => migrate(db, [...migrations, ...added])).toThrow(/no such table: no_such_table/);
    expect(appliedMigrations(db)).toEqual([...allIds, '0006-notes']);
    const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all();
    expect(tables).toContain('notes');
    expect(tables).not.toContain('more_notes'); // the failed one left neither its table nor its ledger row
    migrate(db, [...migrations, added[0]]);
    expect(appliedMigrations(db)).toEqual([...allIds, '0006-notes']);
  });

  it('refuses a database whose ledger holds a migration this build does not know', () => {
    const file = freshFile();
    const db = openDatabase(file);
    db.prepare(`INSERT INTO schema_migrations (id, applied_at) VALUES ('0099-from-the-future', 1)`).run();
    db.close();
    expect(() => openDatabase(file)).toThrow(
      `The database ${file} was migrated by a newer Carapace: it records 0099-from-the-future, which this build does not know. ` +
        'Upgrade Carapace, or restore a backup this build made; do not open newer data with older code.',
    );
  });

  it('refuses a database whose applied migrations are not a prefix of the known list', () => {
    const file = freshFile();
    const db = openDatabase(file);
    db.prepare(`DELETE FROM schema_migrations WHERE id = '0002-scheduled-tasks'`).run();
    db.close();
    expect(() => openDatabase(file)).toThrow(
      `The database ${file} has its migrations out of order: it records 0003-model-usage-per-call where this Carapace ` +
        'expects 0002-scheduled-tasks (recorded: 0001-initial-schema, 0003-model-usage-per-call, 0004-outbox-sender, ' +
        '0005-chat-kinds-and-outbound-files, 0006-bot-channels, 0008-spend). A different build of Carapace migrated it; run that build, or restore a ' +
        'backup this build made, instead of migrating it further.',
    );
    // Refused before anything ran: the ledger is as it was.
    expect(appliedMigrations(new Database(file))).toEqual(allIds.filter((id) => id !== '0002-scheduled-tasks'));
  });

  it('refuses a pre-ledger database numbered beyond the versions that numbering ever had', () => {
    const file = legacyDatabase([], 9);
    expect(() => openDatabase(file)).toThrow(
      `The database ${file} was migrated by a newer Carapace: it records schema version 9, which this build does not know. ` +
        'Upgrade Carapace, or restore a backup this build made; do not open newer data with older code.',
    );
    expect(new Database(file).prepare(`SELECT name FROM sqlite_master WHERE name = 'schema_migrations'`).get()).toBeUndefined();
  });
});
