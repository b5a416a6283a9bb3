// The Quarantine page's read (any organisation's security admin, `/admin/quarantine` and its API) on a vault
// where another council has 4,000 versions waiting for their scan (a bulk import) and this one a few: the read
// takes this organisation's infected, held and pending versions from an index by organisation, never every
// council's. Until 7 December it read every infected, held and pending version of the whole vault by
// (scan_status, created_at) and kept its own (docs/performance.md "The audit page, read in log order").
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/kysely.js';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { openMigratedHandle, postgresPlan, record, sqlitePlan } from '../support/recorded-statements.js';
import { DIALECTS } from '../support/vault.js';

const OTHERS_PENDING = 4000;
const OWN_CLEAN = 1000;
const OWN = { infected: 3, held: 2, pending: 4 };

describe.each(DIALECTS)('the quarantine\'s read on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let documents: DocumentsRepo;
  const at = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString();
  const own: string[] = [];

  beforeAll(async () => {
    ({ handle, close } = await openMigratedHandle(dialect, 'quarantine'));
    const db = handle.db;
    documents = new DocumentsRepo(db, handle.caps);
    for (const o of ['o1', 'o2']) {
      await db.insertInto('organisations').values({ id: o, slug: o, name: o, kind: 'district', region: 'North', created_at: at(0) } as never).execute();
      await db.insertInto('collections').values({ id: `c-${o}`, organisation_id: o, name: 'C', service_area: 'payroll', classification: 'OFFICIAL', created_at: at(0) } as never).execute();
      await db.insertInto('documents').values({
        id: `d-${o}`, organisation_id: o, collection_id: `c-${o}`, name: 'a.txt', classification: 'OFFICIAL', service_area: 'payroll', status: 'available',
        current_version: 1, current_version_id: 'v', created_at: at(0), updated_at: at(0), deleted_at: null,
      } as never).execute();
    }
    const statuses = [
      ...Array.from({ length: OTHERS_PENDING }, () => ['o2', 'pending'] as const),
      ...Array.from({ length: OWN_CLEAN }, () => ['o1', 'clean'] as const),
      ...Object.entries(OWN).flatMap(([status, count]) => Array.from({ length: count }, () => ['o1', status] as const)),
    ];
    const rows = statuses.map(([o, status], i) => {
      const id = randomUUID();
      if (o === 'o1' && status !== 'clean') own.push(id);
      return {
        id, document_id: `d-${o}`, organisation_id: o, number: i + 1, size: 1, sha256: 'ab', media_type: 'text/plain', blob_id: `b-${id}`,
        wrapped_key: Buffer.from([1, 2, 3]), key_id: 'k1', scan_status: status, created_at: at(i),
      };
    });
    for (let from = 0; from < rows.length; from += 500) await db.insertInto('versions').values(rows.slice(from, from + 500) as never).execute();
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze versions`.execute(db);
  });
  afterAll(async () => {
    await close?.();
  });

  it('reads the organisation\'s own infected, held and pending versions, oldest first, from its index', async () => {
    const { result, statements } = await record(() => documents.versionsByScanStatus(['infected', 'held', 'pending'], 'o1'));
    expect(result.map((v) => v.id)).toEqual(own);
    expect(statements).toHaveLength(1);
    const ownCount = own.length;
    if (dialect === 'sqlite') {
      const details = await sqlitePlan(handle.db, statements[0]!);
      // The sort left is of the rows returned.
      expect(details, details.join('\n')).toEqual(['SEARCH versions USING INDEX versions_organisation_scan (organisation_id=? AND scan_status=?)', 'USE TEMP B-TREE FOR ORDER BY']);
    } else {
      const nodes = await postgresPlan(handle.db, statements[0]!);
      const overVersions = nodes.filter((n) => n['Relation Name'] === 'versions');
      expect(overVersions.filter((n) => n['Node Type'] === 'Seq Scan'), statements[0]!.source).toEqual([]);
      expect(Math.max(0, ...overVersions.map((n) => (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0))), statements[0]!.source).toBeLessThanOrEqual(ownCount);
    }
  });
});
