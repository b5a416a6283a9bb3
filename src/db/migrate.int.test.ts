// Migrations from an empty database on both dialects, the schema they make (the same tables and
// columns on each), two processes migrating at once, and what each dialect's `caps` promises.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openEmptyDatabase, type TestHandle } from '../../test/support/store.js';
import { createTestDatabase } from '../../test/support/postgres.js';
import { DIALECTS, type Dialect } from '../../test/support/vault.js';
import { openPostgres, openSqlite } from './kysely.js';
import { migrate } from './migrate.js';
import { migrations } from './migrations/index.js';
import { LIVE_NAME_INDEXES } from './migrations/202612200000_live_names_unique.js';
import { JOB_LANES_MIGRATION } from './migrations/202612210000_job_lanes.js';
import { JOB_TURNS_MIGRATION } from './migrations/202612220000_job_turns.js';
import { JOB_WEIGHTS_MIGRATION } from './migrations/202612230000_job_weights.js';
import { VERSIONS_AWAITING_REPLICA_MIGRATION } from './migrations/202612230100_versions_awaiting_replica.js';
import { DOCUMENTS_BY_ORGANISATION_ID_MIGRATION } from './migrations/202612250400_documents_by_organisation_id.js';
import { LIVE_NAME_KEYS_MIGRATION, LIVE_NAME_KEY_INDEXES } from './migrations/202612260000_live_name_keys.js';
import { SEQUENCED_EVENT_SEALS_MIGRATION } from './migrations/202612271940_sequenced_event_seals.js';
import { BlobReplicasRepo } from './repos/replicas.repo.js';
import { DELAYED_TURNS_FROM, JobsRepo } from './repos/jobs.repo.js';
import { extractTextJob } from '../domain/jobs/kinds.js';
import { JOB_KINDS } from '../domain/jobs/kinds.js';
import { violatesUniqueIndex } from './unique-violations.js';

const schemas = new Map<Dialect, Map<string, string[]>>();

describe.each(DIALECTS)('migrations on %s', (dialect) => {
  let t: TestHandle;
  beforeAll(async () => {
    t = await openEmptyDatabase(dialect);
  });
  afterAll(async () => {
    await t?.remove();
  });

  it('run every migration in order from empty, once, and record each', async () => {
    const { db, caps } = t.handle;
    expect(await migrate(db, caps)).toEqual(migrations.map((m) => m.name));
    expect(await migrate(db, caps)).toEqual([]);
    const recorded = await db.selectFrom('schema_migrations' as never).select('name' as never).execute() as { name: string }[];
    expect(recorded.map((r) => r.name).sort()).toEqual(migrations.map((m) => m.name).sort());
    expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
    const tables = await db.introspection.getTables();
    schemas.set(dialect, new Map(tables.map((table) => [table.name, table.columns.map((c) => c.name).sort()])));
    expect(tables.map((table) => table.name)).toEqual(expect.arrayContaining(['organisations', 'users', 'documents', 'versions', 'audit_events', 'jobs', 'resource_locks', 'sign_in_throttles', 'upload_slots', 'upload_admission']));
  });
});

describe.each(DIALECTS)('migration 202612110000_users_disabled_by on %s', (dialect) => {
  it('records every account already switched off as an org admin\'s, and leaves the others on with no one recorded', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: '202612100000_jobs_due_in_order' });
      const now = new Date().toISOString();
      await db.insertInto('organisations' as never).values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: now } as never).execute();
      const person = (id: string, disabled: number) => ({ id, organisation_id: 'o1', email: `${id}@o1.test`, name: id, roles: '["member"]', teams: '[]', clearance: 'OFFICIAL', disabled, created_at: now });
      await db.insertInto('users' as never).values([person('on', 0), person('off', 1)] as never).execute();
      expect(await migrate(db, caps)).toContain('202612110000_users_disabled_by');
      const rows = await db.selectFrom('users' as never).select(['id', 'disabled', 'disabled_by'] as never).orderBy('id' as never).execute();
      expect(rows).toEqual([{ id: 'off', disabled: 1, disabled_by: 'admin' }, { id: 'on', disabled: 0, disabled_by: null }]);
    } finally {
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612160000_version_release_reason on %s', (dialect) => {
  it('moves a release reason out of the detail every reader is shown into its own column, and leaves other versions as they were', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: '202612150000_sign_in_seals' });
      const now = new Date().toISOString();
      await db.insertInto('organisations' as never).values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: now } as never).execute();
      await db.insertInto('collections' as never).values({ id: 'c1', organisation_id: 'o1', name: 'payroll', service_area: 'payroll', classification: 'OFFICIAL', created_at: now } as never).execute();
      const documentRow = (id: string) => ({
        id, organisation_id: 'o1', collection_id: 'c1', name: `${id}.txt`, classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
        current_version: 1, current_version_id: `${id}-v1`, created_at: now, updated_at: now,
      });
      const versionRow = (documentId: string, scanStatus: string, scanDetail: string | null) => ({
        id: `${documentId}-v1`, document_id: documentId, organisation_id: 'o1', number: 1, size: 1, sha256: 'ab', media_type: 'text/plain', blob_id: `b-${documentId}`,
        wrapped_key: Buffer.from([1]), key_id: 'k', scan_status: scanStatus, scan_detail: scanDetail, created_at: now,
      });
      const rows: [string, string, string | null][] = [
        ['signature', 'released', 'Win.Test.EICAR_HDB-1 — released: Checked with Jo Bloggs of Acme Ltd, a test file'],
        ['nodetail', 'released', ' — released: Looked inside with the sender on the phone'],
        ['clean', 'clean', null],
        ['destroyed', 'infected', 'Win.Test.EICAR_HDB-1 — destroyed'],
      ];
      for (const [id, status, detail] of rows) {
        await db.insertInto('documents' as never).values(documentRow(id) as never).execute();
        await db.insertInto('versions' as never).values(versionRow(id, status, detail) as never).execute();
      }
      expect(await migrate(db, caps)).toContain('202612160000_version_release_reason');
      const after = await db.selectFrom('versions' as never).select(['document_id', 'scan_detail', 'release_reason'] as never).orderBy('document_id' as never).execute();
      expect(after).toEqual([
        { document_id: 'clean', scan_detail: null, release_reason: null },
        { document_id: 'destroyed', scan_detail: 'Win.Test.EICAR_HDB-1 — destroyed', release_reason: null },
        { document_id: 'nodetail', scan_detail: 'released after review by a security admin', release_reason: 'Looked inside with the sender on the phone' },
        { document_id: 'signature', scan_detail: 'Win.Test.EICAR_HDB-1 — released after review by a security admin', release_reason: 'Checked with Jo Bloggs of Acme Ltd, a test file' },
      ]);
    } finally {
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612200000_live_names_unique on %s', (dialect) => {
  it('refuses a database holding a live name twice, naming each clash and how to mend it, and changes nothing; once mended, it applies', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: '202612190000_account_notices' });
      const now = new Date().toISOString();
      await db.insertInto('organisations' as never).values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: now } as never).execute();
      const collection = (id: string, name: string, parentId: string | null, deletedAt: string | null = null) =>
        ({ id, organisation_id: 'o1', parent_id: parentId, name, service_area: 'payroll', classification: 'OFFICIAL', created_at: now, deleted_at: deletedAt });
      await db.insertInto('collections' as never).values([
        collection('c1', 'payroll', null), collection('c2', 'payroll', null), collection('c3', 'payroll', null, now),
        collection('s1', 'Salaries', 'c1'), collection('s2', 'Salaries', 'c1'), collection('s3', 'Salaries', 'c2'),
      ] as never).execute();
      const documentRow = (id: string, name: string, options: { deletedAt?: string; status?: string } = {}) => ({
        id, organisation_id: 'o1', collection_id: 'c1', name, classification: 'OFFICIAL', service_area: 'payroll', status: options.status ?? 'available',
        current_version: 1, current_version_id: `${id}-v1`, created_at: now, updated_at: now, deleted_at: options.deletedAt ?? null,
      });
      await db.insertInto('documents' as never).values([
        documentRow('d1', 'payslips.txt'), documentRow('d2', 'payslips.txt'), documentRow('d3', 'payslips.txt', { deletedAt: now }),
        // Binned, or a disposed stub, may share a live name; so may documents in another collection.
        documentRow('d4', 'report.txt'), documentRow('d5', 'report.txt', { deletedAt: now }), documentRow('d6', 'report.txt', { status: 'disposed' }),
      ] as never).execute();

      const refused = await migrate(db, caps).then(() => null, (e: unknown) => e as Error);
      expect(refused?.message).toBe([
        'Migration 202612200000_live_names_unique refused: a name can belong to only one live document or collection in one place, '
          + 'and this database has 3 names held twice or more (written by a past bug or by hand). Nothing was changed, renamed or binned, and the database is still at the schema it had.',
        '- in collection c1: the documents d1, d2 are all called "payslips.txt" (for example: strongroom document move d2 --name NEW-NAME --as EMAIL)',
        '- under collection c1: the collections s1, s2 are all called "Salaries" (for example: strongroom collection move s2 --name NEW-NAME --as EMAIL)',
        '- at the top level of organisation o1: the collections c1, c2 are all called "payroll" (for example: strongroom collection move c2 --name NEW-NAME --as EMAIL)',
        'Give all but one of each a new name (or move or bin them) with the release you are upgrading from, then start this release again.',
      ].join('\n'));
      const applied = async () => (await db.selectFrom('schema_migrations' as never).select('name' as never).execute() as { name: string }[]).map((r) => r.name);
      expect(await applied()).not.toContain('202612200000_live_names_unique');
      // No index was left behind: a third live document of the name can still be written, and nothing was renamed.
      await db.insertInto('documents' as never).values(documentRow('d7', 'payslips.txt') as never).execute();
      expect(await db.selectFrom('documents' as never).select('id' as never).where('name' as never, '=', 'payslips.txt' as never).orderBy('id' as never).execute()).toEqual([{ id: 'd1' }, { id: 'd2' }, { id: 'd3' }, { id: 'd7' }]);

      await db.updateTable('documents' as never).set({ name: 'payslips (2).txt' } as never).where('id' as never, '=', 'd2' as never).execute();
      await db.updateTable('documents' as never).set({ deleted_at: now } as never).where('id' as never, '=', 'd7' as never).execute();
      await db.updateTable('collections' as never).set({ name: 'Salaries (old)' } as never).where('id' as never, '=', 's2' as never).execute();
      await db.updateTable('collections' as never).set({ name: 'payroll (old)' } as never).where('id' as never, '=', 'c2' as never).execute();
      expect(await migrate(db, caps, { until: '202612200000_live_names_unique' })).toEqual(['202612200000_live_names_unique']);
      const again = await db.insertInto('documents' as never).values(documentRow('d8', 'payslips.txt') as never).execute().then(() => null, (e: unknown) => e);
      expect(violatesUniqueIndex(again, LIVE_NAME_INDEXES.documents)).toBe(true);
    } finally {
      await t.remove();
    }
  });
});

// Its work needs the master key and the log's public key, so the open that applies it does it (compose/sign-in-seals.ts;
// test/audit/sequenced-rewrites.int.test.ts): the migration itself changes nothing.
describe.each(DIALECTS)('migration 202612271940_sequenced_event_seals on %s', (dialect) => {
  it('changes no table or column', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      const previous = migrations[migrations.findIndex((m) => m.name === SEQUENCED_EVENT_SEALS_MIGRATION) - 1]!.name;
      await migrate(db, caps, { until: previous });
      const shape = async () => (await db.introspection.getTables()).map((table) => `${table.name}(${table.columns.map((c) => c.name).sort().join(',')})`).sort();
      const before = await shape();
      expect(await migrate(db, caps, { until: SEQUENCED_EVENT_SEALS_MIGRATION })).toEqual([SEQUENCED_EVENT_SEALS_MIGRATION]);
      expect(await shape()).toEqual(before);
    } finally {
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612260000_live_name_keys on %s', (dialect) => {
  it('keeps every live name differing only in case that was stored, says which, and from then on refuses another spelling of one', async () => {
    const t = await openEmptyDatabase(dialect);
    const written: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: DOCUMENTS_BY_ORGANISATION_ID_MIGRATION });
      const now = new Date().toISOString();
      const later = new Date(Date.now() + 1000).toISOString();
      await db.insertInto('organisations' as never).values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: now } as never).execute();
      const collection = (id: string, name: string, parentId: string | null, createdAt = now) =>
        ({ id, organisation_id: 'o1', parent_id: parentId, name, service_area: 'payroll', classification: 'OFFICIAL', created_at: createdAt, deleted_at: null });
      await db.insertInto('collections' as never).values([
        collection('c1', 'Payroll', null), collection('c2', 'payroll', null, later),
        collection('s1', 'salaries', 'c1', later), collection('s2', 'Salaries', 'c1'), collection('s3', 'MINUTES.docx', 'c1'),
      ] as never).execute();
      const documentRow = (id: string, name: string, createdAt: string, deletedAt: string | null = null) => ({
        id, organisation_id: 'o1', collection_id: 'c1', name, classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
        current_version: 1, current_version_id: `${id}-v1`, created_at: createdAt, updated_at: createdAt, deleted_at: deletedAt,
      });
      await db.insertInto('documents' as never).values([
        // The oldest holds the key; a binned one is in no group; a control character is shown escaped.
        documentRow('d2', 'minutes.docx', later), documentRow('d1', 'Minutes.docx', now), documentRow('d3', 'MINUTES.DOCX', now, now),
        documentRow('d4', 'Ärger.pdf', now), documentRow('d5', 'ärger.pdf', later), documentRow('d6', 'Rates\u0085.txt', now), documentRow('d7', 'RATES\u0085.txt', later),
      ] as never).execute();

      expect(await migrate(db, caps, { until: LIVE_NAME_KEYS_MIGRATION })).toEqual([LIVE_NAME_KEYS_MIGRATION]);
      expect(written.join('')).toBe([
        'Migration 202612260000_live_name_keys: names that differ only in capital letters are now one name in a place. '
          + 'This database holds 6 groups of live things whose names differ only so, written before; all of them were kept as they are and keep working, '
          + 'and no new name of the same letters can join them. Windows and macOS clients reach only one of each group: give the others a distinct name '
          + '(strongroom document move ID --name NEW-NAME --as EMAIL, or collection move).',
        '- in collection c1: the documents d1 "Minutes.docx", d2 "minutes.docx" differ only in capital letters',
        '- in collection c1: the documents d6 "Rates\\u0085.txt", d7 "RATES\\u0085.txt" differ only in capital letters',
        '- in collection c1: the documents d4 "Ärger.pdf", d5 "ärger.pdf" differ only in capital letters',
        '- under collection c1: the collections s2 "Salaries", s1 "salaries" differ only in capital letters',
        '- at the top level of organisation o1: the collections c1 "Payroll", c2 "payroll" differ only in capital letters',
        // A document and a folder are not marked (each table's index stands), but reported.
        '- in collection c1: the document(s) d1 "Minutes.docx", d2 "minutes.docx" and the collection(s) s3 "MINUTES.docx" have one name, capital letters apart',
      ].join('\n') + '\n');
      const keys = await db.selectFrom('documents' as never).select(['id', 'name', 'name_key', 'name_key_duplicate'] as never).orderBy('id' as never).execute();
      expect(keys).toEqual([
        { id: 'd1', name: 'Minutes.docx', name_key: 'minutes.docx', name_key_duplicate: '' },
        { id: 'd2', name: 'minutes.docx', name_key: 'minutes.docx', name_key_duplicate: 'd2' },
        { id: 'd3', name: 'MINUTES.DOCX', name_key: 'minutes.docx', name_key_duplicate: '' },
        { id: 'd4', name: 'Ärger.pdf', name_key: 'ärger.pdf', name_key_duplicate: '' },
        { id: 'd5', name: 'ärger.pdf', name_key: 'ärger.pdf', name_key_duplicate: 'd5' },
        { id: 'd6', name: 'Rates\u0085.txt', name_key: 'rates\u0085.txt', name_key_duplicate: '' },
        { id: 'd7', name: 'RATES\u0085.txt', name_key: 'rates\u0085.txt', name_key_duplicate: 'd7' },
      ]);
      // A third spelling is refused by the database too, in a document's place and a folder's.
      const third = await db.insertInto('documents' as never).values({ ...documentRow('d8', 'MINUTES.docx', now), name_key: 'minutes.docx' } as never).execute().then(() => null, (e: unknown) => e);
      expect(violatesUniqueIndex(third, LIVE_NAME_KEY_INDEXES.documents)).toBe(true);
      const folder = await db.insertInto('collections' as never).values({ ...collection('c3', 'PAYROLL', null), name_key: 'payroll' } as never).execute().then(() => null, (e: unknown) => e);
      expect(violatesUniqueIndex(folder, LIVE_NAME_KEY_INDEXES.top)).toBe(true);
    } finally {
      stderr.mockRestore();
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612210000_job_lanes on %s', (dialect) => {
  it('puts the jobs already in the table in their kinds\' lanes, whatever their status, and everything else in the background lane', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: '202612200000_live_names_unique' });
      const now = new Date().toISOString();
      const job = (kind: string, status: string) => ({ kind, payload: '{}', run_at: now, attempts: 0, max_attempts: 3, status, created_at: now });
      await db.insertInto('jobs' as never).values([
        job('scan-version', 'queued'), job('send-email', 'failed'), job('send-account-notice-summary', 'running'), job('extract-text', 'queued'), job('backup', 'done'),
      ] as never).execute();
      expect(await migrate(db, caps, { until: JOB_LANES_MIGRATION })).toEqual([JOB_LANES_MIGRATION]);
      const rows = await db.selectFrom('jobs' as never).select(['kind', 'lane'] as never).orderBy('id' as never).execute();
      expect(rows).toEqual([
        { kind: 'scan-version', lane: 'availability' }, { kind: 'send-email', lane: 'mail' }, { kind: 'send-account-notice-summary', lane: 'mail' },
        { kind: 'extract-text', lane: 'background' }, { kind: 'backup', lane: 'background' },
      ]);
      // Each kind's lane now is the lane the migration gave its rows: a job queued before it runs where one queued after would.
      for (const row of rows as { kind: string; lane: string }[]) expect(JOB_KINDS.find((k) => k.kind === row.kind)?.lane).toBe(row.lane);
    } finally {
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612220000_job_turns on %s', (dialect) => {
  it('moves the live jobs queued before it into the line by when they were due, taking turns with those queued after, and those due later wait until then', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: JOB_LANES_MIGRATION });
      const now = new Date();
      const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000).toISOString();
      const job = (versionId: string, status: string, runAt: string) =>
        ({ kind: 'extract-text', lane: 'background', payload: JSON.stringify({ versionId }), run_at: runAt, attempts: 0, max_attempts: 3, status, created_at: runAt });
      await db.insertInto('jobs' as never).values([
        job('later', 'queued', at(30)), job('second', 'queued', at(-5)), job('first', 'queued', at(-10)), job('finished', 'done', at(-20)),
      ] as never).execute();
      expect(await migrate(db, caps, { until: JOB_TURNS_MIGRATION })).toEqual([JOB_TURNS_MIGRATION]);
      expect(await migrate(db, caps, { until: JOB_WEIGHTS_MIGRATION })).toEqual([JOB_WEIGHTS_MIGRATION]);
      const turns = await db.selectFrom('jobs').select(['payload', 'turn', 'organisation_id']).orderBy('id').execute();
      expect(turns.map((r) => [JSON.parse(r.payload).versionId, Number(r.turn), r.organisation_id])).toEqual([
        ['later', DELAYED_TURNS_FROM + Date.parse(at(30)), null], ['second', DELAYED_TURNS_FROM + Date.parse(at(-5)), null],
        ['first', DELAYED_TURNS_FROM + Date.parse(at(-10)), null], ['finished', 0, null],
      ]);
      // A council's job queued after the upgrade takes turns with the two due from before it (the vault's own,
      // as they name no organisation): the first of them, then the council's, then the second. The one due later waits.
      const jobs = new JobsRepo(db, caps);
      expect(await jobs.enqueue(extractTextJob, { versionId: 'new' }, { now, bytes: 0, organisationId: 'o1' })).toBe(true);
      const order: unknown[] = [];
      for (let i = 0; i < 4; i += 1) order.push(...(await jobs.lease('background', now.toISOString(), at(60), 1)).map((j) => j.payload));
      expect(order).toEqual([{ versionId: 'first' }, { versionId: 'new' }, { versionId: 'second' }]);
      expect(await jobs.lease('background', at(31), at(32), 10)).toMatchObject([{ payload: { versionId: 'later' } }]);
    } finally {
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612230000_job_weights on %s', (dialect) => {
  it('weighs the live jobs queued before it 1, as every job was, and a council\'s next job goes on from its last turn by that weight', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: JOB_TURNS_MIGRATION });
      const now = new Date();
      const job = (versionId: string, status: string, turn: number) => ({
        kind: 'extract-text', lane: 'background', payload: JSON.stringify({ versionId }), run_at: now.toISOString(), attempts: status === 'running' ? 1 : 0,
        max_attempts: 3, status, created_at: now.toISOString(), organisation_id: 'o1', turn, ...(status === 'running' ? { lease_until: new Date(now.getTime() + 60_000).toISOString() } : {}),
      });
      await db.insertInto('jobs' as never).values([job('running', 'running', 0), job('waiting', 'queued', 1), job('finished', 'done', 0)] as never).execute();
      expect(await migrate(db, caps, { until: JOB_WEIGHTS_MIGRATION })).toEqual([JOB_WEIGHTS_MIGRATION]);
      const rows = await db.selectFrom('jobs').select(['payload', 'weight']).orderBy('id').execute();
      expect(rows.map((r) => [JSON.parse(r.payload).versionId, r.weight])).toEqual([['running', 1], ['waiting', 1], ['finished', 1]]);
      // The council's next job goes one turn after its last queued before the upgrade; a 49 MiB one weighs 50.
      const jobs = new JobsRepo(db, caps);
      expect(await jobs.enqueue(extractTextJob, { versionId: 'large' }, { now, organisationId: 'o1', bytes: 49 * 1024 * 1024 })).toBe(true);
      expect(await jobs.enqueue(extractTextJob, { versionId: 'small' }, { now, organisationId: 'o1', bytes: 10 })).toBe(true);
      const added = await db.selectFrom('jobs').select(['payload', 'turn', 'weight']).where('status', '=', 'queued').orderBy('id').execute();
      expect(added.map((r) => [JSON.parse(r.payload).versionId, Number(r.turn), r.weight])).toEqual([['waiting', 1, 1], ['large', 2, 50], ['small', 52, 1]]);
    } finally {
      await t.remove();
    }
  });
});

describe.each(DIALECTS)('migration 202612230100_versions_awaiting_replica on %s', (dialect) => {
  it('copies when the replica got each version from its ledger, so the lag counts the live versions it does not hold and no other', async () => {
    const t = await openEmptyDatabase(dialect);
    try {
      const { db, caps } = t.handle;
      await migrate(db, caps, { until: JOB_WEIGHTS_MIGRATION });
      const at = (minutes: number) => new Date(Date.UTC(2026, 11, 1, 9, minutes)).toISOString();
      await db.insertInto('organisations' as never).values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: at(0) } as never).execute();
      await db.insertInto('collections' as never).values({ id: 'c1', organisation_id: 'o1', name: 'C', service_area: 'payroll', classification: 'OFFICIAL', created_at: at(0) } as never).execute();
      await db.insertInto('documents' as never).values({
        id: 'd1', organisation_id: 'o1', collection_id: 'c1', name: 'a.txt', classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
        current_version: 4, current_version_id: 'v4', created_at: at(0), updated_at: at(0), deleted_at: null,
      } as never).execute();
      const version = (id: string, number: number, minutes: number, key: Buffer | null) => ({
        id, document_id: 'd1', organisation_id: 'o1', number, size: 1, sha256: 'ab', media_type: 'text/plain', blob_id: `b-${id}`,
        wrapped_key: key, key_id: 'k1', scan_status: 'clean', created_at: at(minutes),
      });
      const key = Buffer.from([1, 2, 3]);
      // Replicated; waiting (no ledger row); waiting (a ledger row the scrub wrote, no copy yet); destroyed, never copied.
      await db.insertInto('versions' as never).values([version('v1', 1, 1, key), version('v2', 2, 2, key), version('v3', 3, 3, key), version('v4', 4, 4, null)] as never).execute();
      await db.insertInto('blob_replicas' as never).values([
        { blob_id: 'b-v1', version_id: 'v1', replicated_at: at(5) }, { blob_id: 'b-v3', version_id: 'v3', scrubbed_at: at(6) },
      ] as never).execute();
      expect(await migrate(db, caps, { until: VERSIONS_AWAITING_REPLICA_MIGRATION })).toEqual([VERSIONS_AWAITING_REPLICA_MIGRATION]);
      const rows = await db.selectFrom('versions').select(['id', 'replicated_at']).orderBy('id').execute();
      expect(rows).toEqual([{ id: 'v1', replicated_at: at(5) }, { id: 'v2', replicated_at: null }, { id: 'v3', replicated_at: null }, { id: 'v4', replicated_at: null }]);
      const replicas = new BlobReplicasRepo(db);
      expect(await replicas.lag()).toEqual({ pending: 2, oldestCommittedAt: at(2) });
      // The job's record of a copy takes the version out of the count.
      await replicas.markReplicated('b-v2', 'v2', at(7));
      expect(await replicas.lag()).toEqual({ pending: 1, oldestCommittedAt: at(3) });
    } finally {
      await t.remove();
    }
  });
});

describe('the schema', () => {
  it('has the same tables and columns on both dialects', () => {
    const [sqlite, postgres] = [schemas.get('sqlite'), schemas.get('postgres')];
    expect(sqlite, 'the sqlite migration test ran').toBeDefined();
    expect(postgres, 'the postgres migration test ran').toBeDefined();
    // The search index is dialect-specific by design (FTS5 and its shadow tables on SQLite; sealed
    // text and a blind tsvector index on PostgreSQL: docs/search.md); only its common table is compared,
    // without PostgreSQL's copy of the scope columns (migration 202612060000), which SQLite reads from documents.
    const scopeCopy = ['doc_arrangement_id', 'doc_classification', 'doc_collection_id', 'doc_deleted_at', 'doc_organisation_id', 'doc_service_area', 'doc_status', 'doc_updated_at', 'version_scan_status'];
    const portable = (schema: Map<string, string[]>) => Object.fromEntries([...schema]
      .filter(([table]) => !table.startsWith('search_') || table === 'search_documents')
      .map(([table, columns]) => [table, table === 'search_documents' ? columns.filter((c) => !scopeCopy.includes(c)) : columns]));
    expect(portable(postgres!)).toEqual(portable(sqlite!));
    expect(postgres!.get('search_documents')!.filter((c) => !sqlite!.get('search_documents')!.includes(c))).toEqual(scopeCopy);
    expect([...sqlite!.keys()].filter((t) => t.startsWith('search_')).sort()).toEqual(expect.arrayContaining(['search_documents', 'search_fts', 'search_sections']));
    expect([...postgres!.keys()].filter((t) => t.startsWith('search_')).sort()).toEqual(['search_documents', 'search_sections', 'search_terms']);
  });
});

describe('two processes starting at once on postgres', () => {
  it('apply each migration exactly once between them', async () => {
    const database = await createTestDatabase('srmig');
    const [a, b] = [openPostgres(database.url, 2), openPostgres(database.url, 2)];
    try {
      const [ranA, ranB] = await Promise.all([migrate(a.db, a.caps), migrate(b.db, b.caps)]);
      expect([...ranA, ...ranB].sort()).toEqual(migrations.map((m) => m.name).sort());
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from schema_migrations`.execute(a.db);
      expect(rows[0]?.n).toBe(migrations.length);
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });
});

describe('dialect caps', () => {
  it('sqlite: blob, integer, no row locks; foreign keys enforced, WAL, and the file unreadable with another key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-caps-'));
    const file = path.join(dir, 'caps.db');
    const key = randomBytes(32);
    try {
      const handle = openSqlite({ file, key });
      expect(handle.caps).toEqual({ dialect: 'sqlite', binary: 'blob', bigint: 'integer', rowLocks: false });
      const pragma = async (name: string) => Object.values((await sql.raw(`pragma ${name}`).execute(handle.db)).rows[0] as object)[0];
      expect(await pragma('foreign_keys')).toBe(1);
      expect(String(await pragma('journal_mode')).toLowerCase()).toBe('wal');
      await sql`create table t (id integer primary key)`.execute(handle.db);
      await handle.close();
      expect(() => openSqlite({ file, key: randomBytes(32) })).toThrow(/key does not match/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('postgres: bytea, bigint as a number, and row locks that skip what another transaction holds', async () => {
    const t = await openEmptyDatabase('postgres');
    const { db, caps } = t.handle;
    try {
      expect(caps).toEqual({ dialect: 'postgres', binary: 'bytea', bigint: 'bigint', rowLocks: true });
      const { rows } = await sql<{ big: number }>`select 5000000000::bigint as big`.execute(db);
      expect(rows[0]?.big).toBe(5_000_000_000);
      await sql`create table q (id int primary key)`.execute(db);
      await sql`insert into q values (1), (2)`.execute(db);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = db.transaction().execute(async (trx) => {
        await sql`select id from q where id = 1 for update`.execute(trx);
        locked();
        await held;
      });
      await isLocked;
      const seen = await db.transaction().execute(async (trx) => (await sql<{ id: number }>`select id from q order by id for update skip locked`.execute(trx)).rows.map((r) => r.id));
      release();
      await holder;
      expect(seen).toEqual([2]);
    } finally {
      await t.remove();
    }
  });
});
