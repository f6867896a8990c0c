// Which migrations a database has had, by id, in the order they ran: the ledger table. On open, the missing
// ones are applied in order, each in its own transaction with its ledger row. A database whose ledger this
// build cannot continue (an id it does not know, or not a prefix of its list) is refused, never "repaired".
import type Database from 'better-sqlite3';
import { migrations, type Migration } from './migrations.js';

type DB = Database.Database;

/**
 * Before the ledger, a database kept one number (schema_version): version N meant the first N migrations.
 * Such a database is adopted with these ids, without running anything again.
 */
const LEGACY_IDS = [
  '0001-initial-schema',
  '0002-scheduled-tasks',
  '0003-model-usage-per-call',
  '0004-outbox-sender',
  '0005-chat-kinds-and-outbound-files',
];

/**
 * What a pre-ledger build finds in schema_version once the ledger exists: far above anything it knows, so it
 * refuses the database as "written by a newer version" instead of running migration 1 over it.
 */
const LEGACY_VERSION_GUARD = 2_147_483_647;

/** Bring the schema up to date. Each step is an immediate transaction, so two processes opening at once take turns. */
export function migrate(db: DB, list: Migration[] = migrations): void {
  db.transaction(() => createLedger(db)).immediate();
  while (db.transaction(() => applyNext(db, list)).immediate());
}

/** Ids of the applied migrations, in the order they were applied. */
export function appliedMigrations(db: DB): string[] {
  return db.prepare('SELECT id FROM schema_migrations ORDER BY seq').pluck().all() as string[];
}

function createLedger(db: DB): void {
  const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).get();
  if (exists) return;
  const legacyVersion = readLegacyVersion(db);
  // applied_at is NULL for migrations applied before the ledger existed: when is not known.
  db.exec(`CREATE TABLE schema_migrations (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    applied_at INTEGER
  )`);
  if (legacyVersion > LEGACY_IDS.length) throw newerDatabase(db, [`schema version ${legacyVersion}`]);
  const adopt = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, NULL)');
  for (const id of LEGACY_IDS.slice(0, legacyVersion)) adopt.run(id);
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL); DELETE FROM schema_version');
  db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(LEGACY_VERSION_GUARD);
}

function readLegacyVersion(db: DB): number {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'`).get();
  if (!table) return 0;
  return (db.prepare('SELECT MAX(version) FROM schema_version').pluck().get() as number | null) ?? 0;
}

/** Apply the first migration the ledger lacks; false when there is none. */
function applyNext(db: DB, list: Migration[]): boolean {
  const applied = appliedMigrations(db);
  checkLedger(db, applied, list);
  const next = list[applied.length];
  if (!next) return false;
  db.exec(next.sql);
  db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(next.id, Date.now());
  return true;
}

function checkLedger(db: DB, applied: string[], list: Migration[]): void {
  const known = new Set(list.map((m) => m.id));
  const unknown = applied.filter((id) => !known.has(id));
  if (unknown.length > 0) throw newerDatabase(db, unknown);
  const wrong = applied.findIndex((id, i) => id !== list[i].id);
  if (wrong < 0) return;
  throw new Error(
    `The database ${db.name} has its migrations out of order: it records ${applied[wrong]} where this Carapace ` +
      `expects ${list[wrong].id} (recorded: ${applied.join(', ')}). A different build of Carapace migrated it; ` +
      'run that build, or restore a backup this build made, instead of migrating it further.',
  );
}

function newerDatabase(db: DB, what: string[]): Error {
  return new Error(
    `The database ${db.name} was migrated by a newer Carapace: it records ${what.join(', ')}, which this build ` +
      'does not know. Upgrade Carapace, or restore a backup this build made; do not open newer data with older code.',
  );
}
