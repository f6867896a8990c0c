import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../src/app-root.js';
import { openDatabase, sidecars } from '../src/store/db.js';

const mode = (path: string) => statSync(path).mode & 0o777;
const isRoot = process.getuid!() === 0;
/** As root the sandbox uid must pass through the data directory to its group's folder; otherwise it is ours alone. */
const dirMode = isRoot ? 0o711 : 0o700;
const modes = (dataDir: string, db: string) => [mode(dataDir), ...[db, ...sidecars(db)].map(mode)];

const umask = process.umask();
afterEach(() => {
  process.umask(umask);
});

describe('store file modes', () => {
  it.each([0, 0o277])('creates the data directory 0711 as root (else 0700) and the database files 0600 under umask %o, also after checkpoints and a reopen', (mask) => {
    process.umask(mask); // neither a permissive nor a restrictive umask changes the modes
    const dataDir = join(mkdtempSync(join(tmpdir(), 'carapace-modes-')), 'data');
    const file = join(dataDir, 'carapace.db');
    const expected = [dirMode, 0o600, 0o600, 0o600];
    const db = openDatabase(file);
    expect(modes(dataDir, file)).toEqual(expected);
    db.exec('CREATE TABLE filler (x); INSERT INTO filler VALUES (randomblob(100000))');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('INSERT INTO filler VALUES (randomblob(100000))');
    expect(modes(dataDir, file)).toEqual(expected);
    db.close();
    expect(sidecars(file).filter(existsSync)).toEqual([]); // gone on a clean close: the next open makes new ones
    process.umask(0o022);
    const again = openDatabase(file);
    expect(modes(dataDir, file)).toEqual(expected);
    again.close();
  });

  it('tightens a data directory and database files an older Carapace left at 0755 and 0644', () => {
    process.umask(0o022);
    const dataDir = join(mkdtempSync(join(tmpdir(), 'carapace-modes-')), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const file = join(dataDir, 'carapace.db');
    const old = new Database(file); // the old way: default modes, and a connection still open keeps -wal and -shm
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE kept (x); INSERT INTO kept VALUES (1)');
    expect(modes(dataDir, file)).toEqual([0o755, 0o644, 0o644, 0o644]);

    const db = openDatabase(file);
    expect(modes(dataDir, file)).toEqual([dirMode, 0o600, 0o600, 0o600]);
    expect(db.prepare('SELECT x FROM kept').pluck().all()).toEqual([1]);
    db.close();
    old.close();
  });

  it.runIf(isRoot)('as an ordinary user the data directory is 0700 (run as uid 1000 from the build)', () => {
    const dbModule = join(APP_ROOT, 'dist', 'src', 'store', 'db.js');
    if (!existsSync(dbModule)) throw new Error(`${dbModule} is missing: run \`npm run build\` first`);
    const home = mkdtempSync(join(tmpdir(), 'carapace-modes-'));
    chownSync(home, 1000, 1000);
    const file = join(home, 'data', 'carapace.db');
    const script = `import { openDatabase } from ${JSON.stringify(dbModule)}; openDatabase(process.argv[1]).close();`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script, file], { uid: 1000, gid: 1000 });
    expect(mode(join(home, 'data'))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    expect(statSync(file).uid).toBe(1000);
  });
});
