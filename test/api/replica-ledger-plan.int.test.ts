// The offsite replica's ledger read at every metrics scrape (the lag and the unrecoverable count), on a council's
// Storage page (the same counts, of its own organisation's versions) and the daily scrub's sample, on a vault of
// 5,000 versions: each reads the few rows it is about from an index, never every version (nor every version of
// the council whose Storage page it is). Until 7 December each read every version: the lag joined them all to the ledger (about 9 s on the main
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
/** A second council's versions (a bulk import): all waiting for the replica but OTHER_COPIED, one of those found bad on both sides. */
const OTHER = 1000;
const OTHER_COPIED = 4;

describe.each(DIALECTS)('the replica ledger\'s reads on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let replicas: BlobReplicasRepo;
  const at = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString();

  beforeAll(async () => {
    ({ handle, close } = await openMigratedHandle(dialect, 'ledger'));
    const db = handle.db;
    replicas = new BlobReplicasRepo(db);
    const key = Buffer.from([1, 2, 3]);
    /** Council `n`, with one document whose versions follow. */
    const council = async (n: number, versions: number) => {
      await db.insertInto('organisations').values({ id: `o${n}`, slug: `o${n}`, name: `O${n}`, kind: 'district', region: 'North', created_at: at(0) } as never).execute();
      await db.insertInto('collections').values({ id: `c${n}`, organisation_id: `o${n}`, name: 'C', service_area: 'payroll', classification: 'OFFICIAL', created_at: at(0) } as never).execute();
      await db.insertInto('documents').values({
        id: `d${n}`, organisation_id: `o${n}`, collection_id: `c${n}`, name: 'a.txt', classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
        current_version: versions, current_version_id: 'v', created_at: at(0), updated_at: at(0), deleted_at: null,
      } as never).execute();
    };
    /** Version `number` of council `n`'s document, committed `i`-th in the vault; the replica got it at `replicatedAt`. */
    const version = (n: number, number: number, i: number, wrappedKey: Buffer | null, replicatedAt: string | null) => {
      const id = randomUUID();
      return {
        id, document_id: `d${n}`, organisation_id: `o${n}`, number, size: 1, sha256: 'ab', media_type: 'text/plain', blob_id: `b-${id}`,
        wrapped_key: wrappedKey, key_id: 'k1', scan_status: 'clean', created_at: at(i), replicated_at: replicatedAt,
      };
    };
    await council(1, VERSIONS);
    // The first AWAITING versions are not in the replica yet; the next DESTROYED had their keys erased; the rest are copied,
    // UNRECOVERABLE of them found bad on both sides.
    for (let from = 0; from < VERSIONS; from += 500) {
      const rows = Array.from({ length: 500 }, (_, k) => {
        const i = from + k;
        const row = version(1, i + 1, i, i >= AWAITING && i < AWAITING + DESTROYED ? null : key, i < AWAITING ? null : at(i + 1));
        return { version: row, ledger: i < AWAITING ? null : { blob_id: row.blob_id, version_id: row.id, replicated_at: at(i + 1), unrecoverable_at: i >= VERSIONS - UNRECOVERABLE ? at(i + 2) : null } };
      });
      await db.insertInto('versions').values(rows.map((r) => r.version) as never).execute();
      await db.insertInto('blob_replicas').values(rows.flatMap((r) => (r.ledger ? [r.ledger] : [])) as never).execute();
    }
    // Another council's bulk import, committed after the first council's versions: most still waiting, one copied found bad.
    await council(2, OTHER);
    const others = Array.from({ length: OTHER }, (_, i) => version(2, i + 1, VERSIONS + i, key, i < OTHER_COPIED ? at(VERSIONS + i + 1) : null));
    await db.insertInto('versions').values(others as never).execute();
    await db.insertInto('blob_replicas').values(others.slice(0, OTHER_COPIED).map((v, i) => ({
      blob_id: v.blob_id, version_id: v.id, replicated_at: v.replicated_at, unrecoverable_at: i === 0 ? at(VERSIONS + i + 2) : null,
    })) as never).execute();
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
    expect(result).toEqual({ pending: AWAITING + OTHER - OTHER_COPIED, oldestCommittedAt: at(0) });
    await expectIndexed(statements, AWAITING + OTHER - OTHER_COPIED);
    if (dialect === 'sqlite') expect((await sqlitePlan(handle.db, statements[0]!)).join('\n')).toContain('versions_awaiting_replica_by_organisation');
  });

  it('counts a council\'s own lag from the versions waiting for the replica, not from every version of the council', async () => {
    const { result, statements } = await record(() => replicas.lag('o1'));
    expect(result).toEqual({ pending: AWAITING, oldestCommittedAt: at(0) });
    // Its own waiting versions alone: never its 5,000 versions (versions_organisation_scan), nor the other council's 996.
    await expectIndexed(statements, AWAITING);
    if (dialect === 'sqlite') expect((await sqlitePlan(handle.db, statements[0]!)).join('\n')).toContain('versions_awaiting_replica_by_organisation');
    expect(await replicas.lag('o2')).toEqual({ pending: OTHER - OTHER_COPIED, oldestCommittedAt: at(VERSIONS + OTHER_COPIED) });
  });

  it('counts the unrecoverable versions from the ledger\'s few marked rows, the vault\'s and a council\'s own', async () => {
    const { result, statements } = await record(async () => [await replicas.unrecoverable(), await replicas.unrecoverable('o1')]);
    expect(result).toEqual([UNRECOVERABLE + 1, UNRECOVERABLE]);
    await expectIndexed(statements, UNRECOVERABLE + 1);
    expect(await replicas.unrecoverable('o2')).toBe(1);
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
