// Migration 202612070000 rebuilds search_terms: its document and organisation ids stay in the row, and
// each row carries its section's number and page. Before it, the 128-byte TOAST target that keeps the
// tsvectors out of the row also pushed a 36-character document id out of line, so every matching row's
// id was read back from TOAST. What is out of line is read from the TOAST table itself: its chunks of
// exactly an id's length are ids (a tsvector's chunk is never 36 bytes here).
// PostgreSQL only: SQLite's FTS5 index has no such table.
import { randomBytes, randomUUID } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { PostgresSearchIndex } from '../../src/db/repos/search.postgres.js';
import { tsvectorChunks } from '../../src/db/repos/search-blind.js';
import { tokenize } from '../../src/domain/search/terms.js';
import { MasterKey } from '../../src/storage/keys.js';
import { DerivedSearchKeys } from '../../src/storage/search-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const CAPS = { dialect: 'postgres', binary: 'bytea', bigint: 'bigint', rowLocks: true } as const;
const TEXT = `Council tax arrears for the council of Stourbridge ${Array.from({ length: 80 }, (_, k) => `word${k}`).join(' ')}`;

describe('search_terms rebuilt with its ids in the row and its sections\' numbers (PostgreSQL)', () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  beforeAll(async () => {
    database = await createTestDatabase('idsinrow');
    db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }) });
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  /** The chunks of search_terms' TOAST table as long as a UUID: document or organisation ids stored out of line. */
  async function idsOutOfLine(): Promise<number> {
    const toast = await sql<{ name: string }>`select reltoastrelid::regclass::text as name from pg_class where oid = 'search_terms'::regclass`.execute(db);
    const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.raw(toast.rows[0]!.name)} where octet_length(chunk_data) = 36`.execute(db);
    return Number(rows[0]!.n);
  }

  /** A section and its term row as a writer of the version before the migration wrote them (`on`: the connection or transaction). */
  async function writeRow(section: number, page: number | null, on: Kysely<any> = db): Promise<string> {
    const chunk = tsvectorChunks(Buffer.alloc(32, 7), tokenize(TEXT))[0]!;
    const documentId = randomUUID();
    const organisationId = randomUUID();
    const inserted = await sql<{ id: string }>`insert into search_sections (document_id, version_id, organisation_id, section, page, text_sealed)
      values (${documentId}, ${randomUUID()}, ${organisationId}, ${section}, ${page}, ${Buffer.alloc(1)}) returning id`.execute(on);
    await sql`insert into search_terms (section_id, document_id, organisation_id, chunk, tsv, prefixes)
      values (${inserted.rows[0]!.id}, ${documentId}, ${organisationId}, 0, ${chunk.words}::tsvector, ${chunk.prefixes}::tsvector)`.execute(on);
    return documentId;
  }

  it('rewrites the rows written before it with their ids in the row and their section and page, and new ones are written so', async () => {
    await migrate(db, CAPS, { until: '202612060000_search_document_scope' });
    const before = [await writeRow(0, 3), await writeRow(-1, null)];
    // The flaw the migration mends: each row's document id went out of line.
    expect(await idsOutOfLine()).toBe(2);
    // An operator's own index survives: the table is rewritten in place, not replaced.
    await sql`create index operator_chunk on search_terms (chunk)`.execute(db);

    // A write in flight when the migration starts (a node of the old version still running) is waited
    // for, not lost: the migration takes its locks in the writers' order before reading a row.
    const writer = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 1 }) }) });
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    let inFlight!: string;
    const writing = writer.transaction().execute(async (trx) => {
      inFlight = await writeRow(2, 7, trx);
      await released;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let migrated = false;
    const migrating = migrate(db, CAPS).then(() => { migrated = true; });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(migrated).toBe(false);
    release();
    await writing;
    await migrating;
    await writer.destroy();

    expect(await idsOutOfLine()).toBe(0);
    const kept = await sql<{ document_id: string; section: number; page: number | null }>`select document_id, section, page from search_terms order by section_id`.execute(db);
    expect(kept.rows).toEqual([
      { document_id: before[0], section: 0, page: 3 }, { document_id: before[1], section: -1, page: null }, { document_id: inFlight, section: 2, page: 7 },
    ]);
    const indexes = await sql<{ indexname: string }>`select indexname from pg_indexes where tablename = 'search_terms' order by indexname`.execute(db);
    expect(indexes.rows.map((r) => r.indexname)).toEqual(['operator_chunk', 'search_terms_document', 'search_terms_prefixes', 'search_terms_section', 'search_terms_tsv']);
    // The table that took the old one's place deletes with its sections, as the old one did.
    await sql`delete from search_sections where document_id = ${before[1]!}`.execute(db);
    expect((await sql`select 1 from search_terms where document_id = ${before[1]!}`.execute(db)).rows).toEqual([]);
    const storage = await sql<{ attname: string; attstorage: string }>`
      select attname, attstorage from pg_attribute where attrelid = 'search_terms'::regclass and attname in ('document_id', 'organisation_id') order by attname`.execute(db);
    expect(storage.rows).toEqual([{ attname: 'document_id', attstorage: 'p' }, { attname: 'organisation_id', attstorage: 'p' }]);

    // Rows the adapter writes afterwards keep theirs in the row too, as they are: ids that would
    // compress well (zeros) are not compressed either, so no search decompresses them.
    const index = new PostgresSearchIndex(db, new DerivedSearchKeys(MasterKey.fromBytes(randomBytes(32))));
    const organisationId = `00000000-0000-4000-8000-${randomBytes(6).toString('hex')}`;
    const documentId = `00000000-0000-4000-8000-${randomBytes(6).toString('hex')}`;
    const versionId = randomUUID();
    const at = '2026-12-01T12:00:00.000Z';
    await sql`insert into organisations (id, slug, name, kind, region, created_at) values (${organisationId}, ${`o-${randomBytes(4).toString('hex')}`}, 'Council', 'council', 'North', ${at})`.execute(db);
    const collectionId = randomUUID();
    await sql`insert into collections (id, organisation_id, parent_id, name, service_area, classification, arrangement_id, created_at, deleted_at)
      values (${collectionId}, ${organisationId}, null, 'payroll', 'payroll', 'OFFICIAL', null, ${at}, null)`.execute(db);
    await sql`insert into documents (id, organisation_id, collection_id, name, classification, service_area, status, current_version, current_version_id, legal_hold, arrangement_id, created_at, updated_at, deleted_at)
      values (${documentId}, ${organisationId}, ${collectionId}, 'letter.pdf', 'OFFICIAL', 'payroll', 'available', 1, ${versionId}, 0, null, ${at}, ${at}, null)`.execute(db);
    await sql`insert into versions (id, document_id, organisation_id, number, size, sha256, media_type, blob_id, wrapped_key, key_id, scan_status, scan_detail, scan_engine, scanned_at, author_id, created_at)
      values (${versionId}, ${documentId}, ${organisationId}, 1, 1, ${'0'.repeat(64)}, 'application/pdf', ${randomUUID()}, null, 'k', 'clean', null, null, null, null, ${at})`.execute(db);
    await index.replaceDocument({ organisationId, documentId, versionId, name: 'letter.pdf', type: 'pdf', sections: [{ page: 1, text: TEXT }, { page: 2, text: TEXT }] });
    const written = await sql<{ section: number; page: number | null }>`select section, page from search_terms where document_id = ${documentId} order by section`.execute(db);
    expect(written.rows).toEqual([{ section: -1, page: null }, { section: 0, page: 1 }, { section: 1, page: 2 }]);
    expect(await idsOutOfLine()).toBe(0);
    // A compressed 36-character id is stored in fewer than 37 bytes (its text and a 1-byte header).
    const compressed = await sql<{ n: string }>`select count(*) as n from search_terms
      where pg_column_size(document_id) < 37 or pg_column_size(organisation_id) < 37`.execute(db);
    expect(Number(compressed.rows[0]!.n)).toBe(0);
  });
});
