import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, type DatabaseHandle } from '../kysely.js';
import { migrate } from '../migrate.js';
import { openEncryptedSqlite } from '../sqlite-cipher.js';
import { SqliteSearchIndex } from './search.sqlite.js';

describe('the SQLite search index’s compaction', () => {
  let dir: string;
  let file: string;
  let handle: DatabaseHandle;
  const key = randomBytes(32);
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sr-compact-'));
    file = path.join(dir, 'strongroom.db');
    handle = openSqlite({ file, key });
    await migrate(handle.db, handle.caps);
  });
  afterEach(async () => {
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails at once, to be run again, while another connection’s read keeps the log from being emptied; then empties it', async () => {
    const index = new SqliteSearchIndex(handle.db);
    const reader = openEncryptedSqlite(file, key);
    try {
      reader.exec('begin');
      reader.prepare('select count(*) from search_sections').get();
      // Written after the reader's snapshot began: the checkpoint cannot copy it and truncate the log.
      await sql`insert into search_fts (rowid, terms) values (1, 'removed words')`.execute(handle.db);
      await sql`delete from search_fts where rowid = 1`.execute(handle.db);
      const started = Date.now();
      await expect(index.compact()).rejects.toThrow(/another connection \(a search still finishing, or another process\) was reading or writing the database.*will run again/);
      // It did not wait out the busy timeout (5 s) with the event loop, and every request, stalled.
      expect(Date.now() - started).toBeLessThan(2_000);
      expect((await stat(`${file}-wal`)).size).toBeGreaterThan(0);
      expect((await sql<{ timeout: number }>`pragma busy_timeout`.execute(handle.db)).rows).toEqual([{ timeout: 5000 }]);
      reader.exec('commit');
    } finally {
      reader.close();
    }
    await index.compact();
    expect((await stat(`${file}-wal`)).size).toBe(0);
  });
});
