// The offsite replica's ledger read at every metrics scrape (the lag and the unrecoverable count) and the daily
// scrub's sample, on a vault of 5,000 versions: each reads the few rows it is about from an index, never every
// version. Until 7 December each read every version: the lag joined them all to the ledger (about 9 s on the main
// connection for a million versions, three times a scrape), the count of unrecoverable versions was planned from
// the versions' side by SQLite, and the sample sorted every version by random() (docs/performance.md "The
// replica's lag and the scrub's sample, read by index").
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/kysely.js';
import { BlobReplicasRepo } from '../../src/db/repos/replicas.repo.js';
import { openMigratedHandle, postgresPlan, record, sqlitePlan, type RecordedStatement } from '../support/recorded-statements.js';
import { DIALECTS } from '../support/vault.js';

const VERSIONS = 5000;
const AWAITING = 10;
const DESTROYED = 100;
const UNRECOVERABLE = 2;

describe.each(DIALECTS)('the replica ledger\'s reads on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let replicas: BlobReplicasRepo;
  const at = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString();

  beforeAll(async () => {
    ({ handle, close } = await openMigratedHandle(dialect, 'ledger'));
    const db = handle.db;
    replicas = new BlobReplicasRepo(db);
    await db.insertInto('organisations').values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: at(0) } as never).execute();
    await db.insertInto('collections').values({ id: 'c1', organisation_id: 'o1', name: 'C', service_area: 'payroll', classification: 'OFFICIAL', created_at: at(0) } as never).execute();
    await db.insertInto('documents').values({
      id: 'd1', organisation_id: 'o1', collection_id: 'c1', name: 'a.txt', classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
      current_version: VERSIONS, current_version_id: 'v', created_at: at(0), updated_at: at(0), deleted_at: null,
    } as never).execute();
    // The first AWAITING versions are not in the replica yet; the next DESTROYED had their keys erased; the rest are copied,
    // UNRECOVERABLE of them found bad on both sides.
    for (let from = 0; from < VERSIONS; from += 500) {
      const rows = Array.from({ length: 500 }, (_, k) => {
        const i = from + k;
        const id = randomUUID();
        return {
          version: {
            id, document_id: 'd1', organisation_id: 'o1', number: i + 1, size: 1, sha256: 'ab', media_type: 'text/plain', blob_id: `b-${id}`,
            wrapped_key: i >= AWAITING && i < AWAITING + DESTROYED ? null : Buffer.from([1, 2, 3]), key_id: 'k1', scan_status: 'clean', created_at: at(i),
            replicated_at: i < AWAITING ? null : at(i + 1),
          },
          ledger: i < AWAITING ? null : { blob_id: `b-${id}`, version_id: id, replicated_at: at(i + 1), unrecoverable_at: i >= VERSIONS - UNRECOVERABLE ? at(i + 2) : null },
        };
      });
      await db.insertInto('versions').values(rows.map((r) => r.version) as never).execute();
      await db.insertInto('blob_replicas').values(rows.flatMap((r) => (r.ledger ? [r.ledger] : [])) as never).execute();
    }
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze versions, blob_replicas`.execute(db);
  });
  afterAll(async () => {
    await close?.();
  });

  /** Every statement reads the versions table and the ledger through indexes, and on PostgreSQL touches at most `rows` of either. */
  async function expectIndexed(statements: RecordedStatement[], rows: number): Promise<void> {
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      if (dialect === 'sqlite') {
        const details = await sqlitePlan(handle.db, statement);
        // A search by key or a scan of an index holding only the rows wanted; never the table, nor a sort of it.
        expect(details.filter((d) => /^SCAN (versions|v|blob_replicas|r)\b(?! USING (COVERING )?INDEX versions_awaiting_replica)/.test(d) || /TEMP B-TREE/.test(d)), `${statement.source}\n${details.join('\n')}`).toEqual([]);
      } else {
        const nodes = await postgresPlan(handle.db, statement);
        const overVersions = nodes.filter((n) => n['Relation Name'] === 'versions' || n['Relation Name'] === 'blob_replicas');
        expect(overVersions.filter((n) => n['Node Type'] === 'Seq Scan'), statement.source).toEqual([]);
        expect(Math.max(0, ...overVersions.map((n) => (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0))), statement.source).toBeLessThanOrEqual(rows);
        expect(nodes.filter((n) => n['Node Type'] === 'Sort'), statement.source).toEqual([]);
      }
    }
  }

  it('counts the replica\'s lag from the versions waiting for it alone', async () => {
    const { result, statements } = await record(() => replicas.lag());
    expect(result).toEqual({ pending: AWAITING, oldestCommittedAt: at(0) });
    await expectIndexed(statements, AWAITING);
    if (dialect === 'sqlite') expect((await sqlitePlan(handle.db, statements[0]!)).join('\n')).toContain('versions_awaiting_replica');
  });

  it('counts the unrecoverable versions from the ledger\'s few marked rows', async () => {
    const { result, statements } = await record(() => replicas.unrecoverable());
    expect(result).toBe(UNRECOVERABLE);
    await expectIndexed(statements, UNRECOVERABLE);
  });

  it('draws the scrub\'s sample of live versions by index: as many as asked, each once, none destroyed', async () => {
    const { result, statements } = await record(() => replicas.liveVersions({ limit: 50, random: true }));
    expect(result).toHaveLength(50);
    expect(new Set(result.map((v) => v.id)).size).toBe(50);
    for (const v of result) expect(v.wrappedKey.length).toBeGreaterThan(0);
    // The first read looks whether the vault holds more than asked (51 rows); each draw after it reads one.
    await expectIndexed(statements, 51 + DESTROYED);
    // Not the same versions every time.
    const again = await replicas.liveVersions({ limit: 50, random: true });
    expect(again.map((v) => v.id).sort()).not.toEqual(result.map((v) => v.id).sort());
  });
});
