import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { plucked, stmt } from '../src/store/statements.js';
import { Store } from '../src/store/store.js';

const freshDb = () => openDatabase(join(mkdtempSync(join(tmpdir(), 'carapace-stmt-')), 'c.db'));
const message = (platformId: string, text: string) => ({ chatId: 'local:owner', platformId, senderId: 'u1', senderName: 'Owner', text, timestamp: Date.now() });

describe('prepared statements', () => {
  it('prepares each SQL text once per connection and hands the same statement back', () => {
    const db = freshDb();
    const sql = 'SELECT COUNT(*) AS n FROM messages';
    expect(stmt(db, sql)).toBe(stmt(db, sql));
    expect(plucked(db, sql)).toBe(plucked(db, sql));
    const other = freshDb();
    expect(stmt(other, sql)).not.toBe(stmt(db, sql));
  });

  it('keeps the row form and the one-column form of the same SQL apart, whichever is asked first', () => {
    const db = freshDb();
    new Store(db).insertMessage(message('p1', 'hello'));
    const sql = 'SELECT COUNT(*) AS n FROM messages';
    expect(plucked(db, sql).get()).toBe(1);
    expect(stmt(db, sql).get()).toEqual({ n: 1 });
    expect(plucked(db, sql).get()).toBe(1);
  });

  it('answers from the current data every time, on each connection separately', () => {
    const a = new Store(freshDb());
    const b = new Store(freshDb());
    a.insertMessage(message('p1', 'one'));
    expect(a.lastMessageAfter('local:owner', 0)).toBeGreaterThan(0);
    expect(b.lastMessageAfter('local:owner', 0)).toBe(0);
    a.insertMessage(message('p2', 'two'));
    expect(a.countMessagesBetween('local:owner', 0, Number.MAX_SAFE_INTEGER)).toBe(2);
    expect(a.insertMessage(message('p2', 'two again'))).toBeNull(); // a redelivery is still refused
    b.db.close();
    expect(a.messagesAfter('local:owner', 0).map((m) => m.text)).toEqual(['one', 'two']); // another connection closing leaves these alone
  });
});
