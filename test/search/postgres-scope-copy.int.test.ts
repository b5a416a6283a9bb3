// PostgreSQL's search reads the readable scope from search_documents' copy of each document's columns
// and of its indexed version's scan status (migration 202612060000). The copy is only as good as the
// triggers that keep it, so this checks, change by change, that it equals what the documents and
// versions rows say: the migration's backfill of an index written before it, every copied column of a
// document changed as any write path would change it, a rescan's verdict, a re-pointed or re-indexed
// row, rows whose document or version is missing, and that an unchanged value writes nothing. The
// search itself is checked end to end by the visibility tests and the contract suite's property test
// on both dialects. PostgreSQL only: SQLite reads `documents` directly.
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { PostgresSearchIndex } from '../../src/db/repos/search.postgres.js';
import { MasterKey } from '../../src/storage/keys.js';
import { DerivedSearchKeys } from '../../src/storage/search-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const CAPS = { dialect: 'postgres', binary: 'bytea', bigint: 'bigint', rowLocks: true } as const;
const AT = '2026-11-30T12:00:00.000Z';

interface Copy {
  doc_organisation_id: string | null;
  doc_collection_id: string | null;
  doc_service_area: string | null;
  doc_classification: string | null;
  doc_arrangement_id: string | null;
  doc_status: string | null;
  doc_updated_at: string | null;
  doc_deleted_at: string | null;
  version_scan_status: string | null;
}

const NOTHING: Copy = {
  doc_organisation_id: null, doc_collection_id: null, doc_service_area: null, doc_classification: null, doc_arrangement_id: null,
  doc_status: null, doc_updated_at: null, doc_deleted_at: null, version_scan_status: null,
};

describe("search_documents' copy of the scope (PostgreSQL)", () => {
  let database: TestDatabase;
  let db: Kysely<any>;
  const organisations = [randomUUID(), randomUUID()];
  const collections = [randomUUID(), randomUUID()];
  const keys = new DerivedSearchKeys(MasterKey.fromBytes(randomBytes(32)));

  beforeAll(async () => {
    database = await createTestDatabase('scopecopy');
    // The handle the server uses (its plugins included), as the repositories below require.
    db = openPostgres(database.url, 2).db as Kysely<any>;
  });
  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
  });

  // Documents written before the first test has migrated the schema whole have no name key yet (migration 202612260000).
  let migratedWhole = false;
  const nameKeyOnceMigrated = (name: string) => (migratedWhole ? { name_key: name } : {});

  async function addDocument(organisationIndex = 0): Promise<{ documentId: string; versionId: string }> {
    const documentId = randomUUID();
    const versionId = randomUUID();
    await db.insertInto('documents').values({
      id: documentId, organisation_id: organisations[organisationIndex], collection_id: collections[organisationIndex], name: `payslip-${documentId}.pdf`, ...nameKeyOnceMigrated(`payslip-${documentId}.pdf`), classification: 'OFFICIAL',
      service_area: 'payroll', status: 'available', current_version: 1, current_version_id: versionId, legal_hold: 0, arrangement_id: null, created_at: AT, updated_at: AT, deleted_at: null,
    }).execute();
    await addVersion(documentId, versionId, organisationIndex);
    return { documentId, versionId };
  }

  async function addVersion(documentId: string, versionId: string, organisationIndex = 0, number = 1): Promise<void> {
    await db.insertInto('versions').values({
      id: versionId, document_id: documentId, organisation_id: organisations[organisationIndex], number, size: 1, sha256: '0'.repeat(64), media_type: 'application/pdf',
      blob_id: randomUUID(), wrapped_key: null, key_id: 'k', scan_status: 'clean', scan_detail: null, scan_engine: null, scanned_at: null, author_id: null, created_at: AT,
    }).execute();
  }

  const index = (documentId: string, versionId: string): Promise<unknown> =>
    db.insertInto('search_documents').values({ document_id: documentId, version_id: versionId, organisation_id: organisations[0], type: 'pdf' }).execute();

  async function copyOf(documentId: string): Promise<Copy> {
    const row = await db.selectFrom('search_documents').select(Object.keys(NOTHING) as (keyof Copy)[]).where('document_id', '=', documentId).executeTakeFirstOrThrow();
    return row as Copy;
  }

  /** What the copy must say: the documents row and the indexed version's row, read now. */
  async function truthOf(documentId: string): Promise<Copy> {
    const rows = await sql<Copy>`select d.organisation_id as doc_organisation_id, d.collection_id as doc_collection_id, d.service_area as doc_service_area,
        d.classification as doc_classification, d.arrangement_id as doc_arrangement_id, d.status as doc_status, d.updated_at as doc_updated_at,
        d.deleted_at as doc_deleted_at, v.scan_status as version_scan_status
      from search_documents sd left join documents d on d.id = sd.document_id left join versions v on v.id = sd.version_id and v.document_id = sd.document_id
      where sd.document_id = ${documentId}`.execute(db);
    return rows.rows[0]!;
  }

  it('the migration copies an index written before it', async () => {
    await migrate(db, CAPS, { until: '202612050000_search_prefix_column' });
    for (const [n, organisationId] of organisations.entries()) {
      await db.insertInto('organisations').values({ id: organisationId, slug: `o-${organisationId}`, name: `Council ${n}`, kind: 'council', region: 'North', created_at: AT }).execute();
      await db.insertInto('collections').values({
        id: collections[n], organisation_id: organisationId, parent_id: null, name: 'payroll', service_area: 'payroll', classification: 'OFFICIAL', arrangement_id: null, created_at: AT, deleted_at: null,
      }).execute();
    }
    const kept = await addDocument();
    const binned = await addDocument();
    await db.updateTable('documents').set({ deleted_at: AT, classification: 'OFFICIAL-SENSITIVE' }).where('id', '=', binned.documentId).execute();
    const orphan = randomUUID();
    await index(kept.documentId, kept.versionId);
    await index(binned.documentId, binned.versionId);
    await index(orphan, randomUUID());
    await migrate(db, CAPS);
    migratedWhole = true;
    for (const { documentId } of [kept, binned]) expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
    expect((await copyOf(binned.documentId)).doc_deleted_at).toBe(AT);
    expect(await copyOf(orphan)).toEqual(NOTHING);
  });

  it('a new index row takes its document and version as they are; one for a missing document or version gets nulls', async () => {
    const { documentId, versionId } = await addDocument();
    await db.updateTable('versions').set({ scan_status: 'released' }).where('id', '=', versionId).execute();
    await index(documentId, versionId);
    expect(await copyOf(documentId)).toEqual({
      doc_organisation_id: organisations[0], doc_collection_id: collections[0], doc_service_area: 'payroll', doc_classification: 'OFFICIAL', doc_arrangement_id: null,
      doc_status: 'available', doc_updated_at: AT, doc_deleted_at: null, version_scan_status: 'released',
    });
    const orphan = randomUUID();
    await index(orphan, versionId);
    // The version belongs to another document: its status is not this row's.
    expect(await copyOf(orphan)).toEqual(NOTHING);
    const missingVersion = await addDocument();
    await index(missingVersion.documentId, randomUUID());
    expect(await copyOf(missingVersion.documentId)).toEqual({ ...(await truthOf(missingVersion.documentId)), version_scan_status: null });
  });

  it.each<[string, Record<string, unknown>]>([
    ['a move to another collection', { collection_id: 'other' }],
    ['a change of service area', { service_area: 'hr' }],
    ['a reclassification', { classification: 'OFFICIAL-SENSITIVE' }],
    ['a place in an arrangement', { arrangement_id: 'arr-1' }],
    ['a new status', { status: 'pending_scan' }],
    ['a change', { updated_at: '2026-12-01T09:00:00.000Z' }],
    ['the bin', { deleted_at: '2026-12-01T09:00:00.000Z' }],
    ['a transfer to another organisation', { organisation_id: 'other-organisation' }],
  ])('%s reaches the copy in the same statement', async (_, change) => {
    const { documentId, versionId } = await addDocument();
    await index(documentId, versionId);
    const column = Object.keys(change)[0]!;
    if (column === 'collection_id') change.collection_id = collections[1];
    if (column === 'organisation_id') change.organisation_id = organisations[1];
    await db.updateTable('documents').set(change).where('id', '=', documentId).execute();
    const copy = await copyOf(documentId);
    expect(copy).toEqual(await truthOf(documentId));
    expect(copy[`doc_${column}` as keyof Copy]).toBe(change[column]);
  });

  it("a rescan's verdict on the indexed version reaches the copy; one on another version does not", async () => {
    const { documentId, versionId } = await addDocument();
    const newer = randomUUID();
    await addVersion(documentId, newer, 0, 2);
    await index(documentId, versionId);
    await db.updateTable('versions').set({ scan_status: 'infected' }).where('id', '=', versionId).execute();
    expect((await copyOf(documentId)).version_scan_status).toBe('infected');
    await db.updateTable('versions').set({ scan_status: 'pending' }).where('id', '=', newer).execute();
    expect((await copyOf(documentId)).version_scan_status).toBe('infected');
    // Re-pointed at the newer version, as a re-index does: the row takes that version's status.
    await db.updateTable('search_documents').set({ version_id: newer }).where('document_id', '=', documentId).execute();
    expect((await copyOf(documentId)).version_scan_status).toBe('pending');
    // Re-indexed the way the adapter does it (delete, then insert).
    await db.deleteFrom('search_documents').where('document_id', '=', documentId).execute();
    await db.updateTable('versions').set({ scan_status: 'clean' }).where('id', '=', newer).execute();
    await index(documentId, newer);
    expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
    expect((await copyOf(documentId)).version_scan_status).toBe('clean');
  });

  it('a removed version or document leaves nulls, which no scope matches', async () => {
    const { documentId, versionId } = await addDocument();
    await index(documentId, versionId);
    await db.updateTable('documents').set({ current_version_id: 'none' }).where('id', '=', documentId).execute();
    await db.deleteFrom('versions').where('id', '=', versionId).execute();
    expect((await copyOf(documentId)).version_scan_status).toBeNull();
    await db.deleteFrom('documents').where('id', '=', documentId).execute();
    expect(await copyOf(documentId)).toEqual(NOTHING);
  });

  describe('a change racing the transaction that writes the index row', () => {
    const connect = async (): Promise<pg.Client> => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return client;
    };

    it('written first: the change waits for the index row, then reaches it', async () => {
      const { documentId, versionId } = await addDocument();
      await index(documentId, versionId);
      const [indexer, writer] = [await connect(), await connect()];
      try {
        await indexer.query('begin');
        await indexer.query('delete from search_documents where document_id = $1', [documentId]);
        await indexer.query(`insert into search_documents (document_id, version_id, organisation_id, type) values ($1, $2, $3, 'pdf')`, [documentId, versionId, organisations[0]]);
        let binned = false;
        const bin = writer.query('update documents set deleted_at = $1 where id = $2', [AT, documentId]).then(() => { binned = true; });
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(binned).toBe(false);
        await indexer.query('commit');
        await bin;
        expect((await copyOf(documentId)).doc_deleted_at).toBe(AT);
        await db.updateTable('versions').set({ scan_status: 'infected' }).where('id', '=', versionId).execute();
        expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
      } finally {
        await indexer.end();
        await writer.end();
      }
    });

    it('through the adapter: the first index row waits for a change in flight, then copies it', async () => {
      const { documentId, versionId } = await addDocument();
      const search = new PostgresSearchIndex(db, keys);
      const writer = await connect();
      try {
        for (const change of [`update versions set scan_status = 'infected' where id = '${versionId}'`, `update documents set deleted_at = '${AT}' where id = '${documentId}'`]) {
          // No index row yet, so the writer's trigger locks none: only the adapter's own locks order the two.
          await search.removeDocuments([documentId]);
          await writer.query('begin');
          await writer.query(change);
          let indexed = false;
          const replaced = search.replaceDocument({ organisationId: organisations[0]!, documentId, versionId, name: 'payslip.pdf', type: 'pdf', sections: [{ page: 1, text: 'net pay' }] })
            .then(() => { indexed = true; });
          await new Promise((resolve) => setTimeout(resolve, 200));
          expect(indexed).toBe(false);
          await writer.query('commit');
          await replaced;
          expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
        }
        expect(await copyOf(documentId)).toMatchObject({ doc_deleted_at: AT, version_scan_status: 'infected' });
      } finally {
        await writer.end();
      }
    });

    it("a rescan that quarantines the indexed version, beside a change of its document, completes without a deadlock", async () => {
      const { documentId, versionId } = await addDocument();
      await index(documentId, versionId);
      const [scanner, filer] = [await connect(), await connect()];
      try {
        // As QuarantineService does: the version's verdict, then its document's status.
        await scanner.query('begin');
        await scanner.query(`update versions set scan_status = 'infected' where id = $1`, [versionId]);
        const binned = filer.query('update documents set deleted_at = $1 where id = $2', [AT, documentId]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await scanner.query(`update documents set status = 'quarantined' where id = $1`, [documentId]);
        await scanner.query('commit');
        await binned;
        expect(await copyOf(documentId)).toMatchObject({ doc_status: 'quarantined', doc_deleted_at: AT, version_scan_status: 'infected' });
        expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
      } finally {
        await scanner.end();
        await filer.end();
      }
    });

    it('an extraction and a disposal of the same document, at once, complete one after the other', async () => {
      const { documentId, versionId } = await addDocument();
      await index(documentId, versionId);
      const disposer = await connect();
      try {
        // As DisposalExecution does: the document locked first, then its versions shredded, then the document.
        await disposer.query('begin');
        await disposer.query('select 1 from documents where id = $1 for update', [documentId]);
        // As TextIndexing's final transaction does.
        const extraction = db.transaction().execute(async (trx) => {
          const current = await new DocumentsRepo(trx as never, { rowLocks: true }).byIdForChange(documentId);
          await new PostgresSearchIndex(trx, keys).replaceDocument({ organisationId: organisations[0]!, documentId, versionId, name: 'payslip.pdf', type: 'pdf', sections: [{ page: 1, text: 'net pay' }] });
          await trx.updateTable('versions').set({ text_status: 'done' }).where('id', '=', versionId).execute();
          return current;
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        await disposer.query('update versions set wrapped_key = null where id = $1', [versionId]);
        await disposer.query(`update documents set status = 'disposed' where id = $1`, [documentId]);
        await disposer.query('commit');
        expect((await extraction)?.status).toBe('disposed');
        expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
      } finally {
        await disposer.end();
      }
    });

    it('refuses to change a document under any isolation but READ COMMITTED, which the copy needs', async () => {
      const { documentId } = await addDocument();
      const writer = await connect();
      try {
        await writer.query('begin isolation level repeatable read');
        const refused = await writer.query(`update documents set deleted_at = $1 where id = $2`, [AT, documentId]).then(() => null, (error: Error) => error.message);
        expect(refused).toBe('Strongroom changes documents only under READ COMMITTED isolation, not repeatable read');
        await writer.query('rollback');
      } finally {
        await writer.end();
      }
    });

    it('changed first: the index row is refused at once (55P03) rather than copying what is about to change', async () => {
      // The document's first index row: no row yet for the writer's trigger to update.
      const { documentId, versionId } = await addDocument();
      const [indexer, writer] = [await connect(), await connect()];
      try {
        for (const change of [`update documents set deleted_at = '${AT}' where id = '${documentId}'`, `update versions set scan_status = 'infected' where id = '${versionId}'`]) {
          await db.deleteFrom('search_documents').where('document_id', '=', documentId).execute();
          await writer.query('begin');
          await writer.query(change);
          await indexer.query('begin');
          const refused = await indexer.query(`insert into search_documents (document_id, version_id, organisation_id, type) values ($1, $2, $3, 'pdf')`, [documentId, versionId, organisations[0]])
            .then(() => null, (error: { code?: string }) => error.code);
          expect(refused).toBe('55P03');
          await indexer.query('rollback');
          await writer.query('commit');
          // Run again, as the job is: the row copies what was committed.
          await index(documentId, versionId);
          expect(await copyOf(documentId)).toEqual(await truthOf(documentId));
        }
        expect(await copyOf(documentId)).toMatchObject({ doc_deleted_at: AT, version_scan_status: 'infected' });
      } finally {
        await indexer.end();
        await writer.end();
      }
    });
  });

  it('a change that leaves every copied value as it was writes no new row', async () => {
    const { documentId, versionId } = await addDocument();
    await index(documentId, versionId);
    const rowVersion = async () => (await sql<{ xmin: string }>`select xmin::text as xmin from search_documents where document_id = ${documentId}`.execute(db)).rows[0]!.xmin;
    const before = await rowVersion();
    await db.updateTable('documents').set({ name: `renamed-${documentId}.pdf`, legal_hold: 1, status: 'available' }).where('id', '=', documentId).execute();
    await db.updateTable('versions').set({ scan_status: 'clean', scan_detail: 'rescanned' }).where('id', '=', versionId).execute();
    expect(await rowVersion()).toBe(before);
  });
});
