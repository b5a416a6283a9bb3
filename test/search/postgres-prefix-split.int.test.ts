// Migration 202612050000 on an index written before it: each search_terms row held its words
// (positioned) and its prefixes (no position) in one tsvector. The migration splits them with no key,
// by position, into exactly what the adapter writes now, and both columns are kept out of the row.
// PostgreSQL only: SQLite's FTS5 index has no such column.
import { randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { tsvectorChunks } from '../../src/db/repos/search-blind.js';
import { tokenize } from '../../src/domain/search/terms.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const CAPS = { dialect: 'postgres', binary: 'bytea', bigint: 'bigint', rowLocks: true } as const;

describe('splitting an existing PostgreSQL search index into words and prefixes', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  beforeAll(async () => {
    database = await createTestDatabase('prefixsplit');
    db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  it('moves every position-less lexeme to prefixes and leaves the positioned words in tsv', async () => {
    await migrate(db, CAPS, { until: '202612041100_arrangements_host' });
    const key = Buffer.alloc(32, 7);
    const chunks = tsvectorChunks(key, tokenize('Council tax arrears for the council of Stourbridge, council tax band D'));
    const empty = tsvectorChunks(key, []);
    const organisationId = randomUUID();
    const rows = [{ section: 0, chunk: chunks[0]! }, { section: -1, chunk: empty[0]! }];
    for (const { section, chunk } of rows) {
      const documentId = randomUUID();
      const inserted = await sql<{ id: string }>`insert into search_sections (document_id, version_id, organisation_id, section, page, text_sealed)
        values (${documentId}, ${randomUUID()}, ${organisationId}, ${section}, null, ${Buffer.alloc(1)}) returning id`.execute(db);
      // The format before the migration: words and prefixes in one tsvector.
      await sql`insert into search_terms (section_id, document_id, organisation_id, chunk, tsv)
        values (${inserted.rows[0]!.id}, ${documentId}, ${organisationId}, 0, ${`${chunk.words} ${chunk.prefixes}`}::tsvector)`.execute(db);
    }
    await migrate(db, CAPS);
    for (const { section, chunk } of rows) {
      const split = await sql<{ words: boolean; prefixes: boolean; lexemes: number }>`
        select t.tsv = ${chunk.words}::tsvector as words, t.prefixes = ${chunk.prefixes}::tsvector as prefixes, length(t.prefixes) as lexemes
        from search_terms t join search_sections s on s.id = t.section_id where s.section = ${section}`.execute(db);
      expect(split.rows).toEqual([{ words: true, prefixes: true, lexemes: section === 0 ? expect.any(Number) : 0 }]);
    }
    expect(chunks[0]!.prefixes.split(' ').length).toBeGreaterThan(10);
    const storage = await sql<{ attname: string; attstorage: string }>`
      select attname, attstorage from pg_attribute where attrelid = 'search_terms'::regclass and attname in ('tsv', 'prefixes') order by attname`.execute(db);
    expect(storage.rows).toEqual([{ attname: 'prefixes', attstorage: 'e' }, { attname: 'tsv', attstorage: 'e' }]);
    const options = await sql<{ reloptions: string[] }>`select reloptions from pg_class where oid = 'search_terms'::regclass`.execute(db);
    expect(options.rows[0]!.reloptions).toEqual(['toast_tuple_target=128']);
  });
});
