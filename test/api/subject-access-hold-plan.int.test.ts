// Releasing a legal hold asks whether an open subject access request keeps it (HoldsService.release, twice:
// before and inside the release's transaction), on a register of 3,000 requests, most of them closed long ago,
// each with a part and a hold: the answer is read from the part naming the hold, found by an index, never by
// reading every request's parts. Until 7 December each release read every part of every council's requests,
// which are kept for good (docs/performance.md "Finished jobs and a hold's request, read by index").
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/kysely.js';
import { SubjectAccessRepo } from '../../src/db/repos/subject-access.repo.js';
import { openMigratedHandle, postgresPlan, record, sqlitePlan } from '../support/recorded-statements.js';
import { DIALECTS } from '../support/vault.js';

const REQUESTS = 3000;

describe.each(DIALECTS)('the open request holding a hold on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let subjectAccess: SubjectAccessRepo;
  const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString();

  beforeAll(async () => {
    ({ handle, close } = await openMigratedHandle(dialect, 'sarhold'));
    const db = handle.db;
    subjectAccess = new SubjectAccessRepo(db, handle.caps);
    for (const o of ['o1', 'o2']) await db.insertInto('organisations').values({ id: o, slug: o, name: o, kind: 'district', region: 'North', created_at: at(0) } as never).execute();
    // Every tenth request is open; each has its own organisation's part and a part asked of the other, each with its own hold.
    const requests = Array.from({ length: REQUESTS }, (_, i) => ({
      id: `r${i}`, organisation_id: i % 2 ? 'o2' : 'o1', reference: `SAR-${i}`, subject_name: 'A', subject_details: '{}', received_on: '2025-01-01', due_on: '2025-02-01',
      extended_due_on: null, extension_reason: null, status: i % 10 === 0 ? 'open' : 'closed', outcome: null, close_note: null, opened_by: null, opened_at: at(i),
      closed_by: null, closed_at: null,
    }));
    const parts = requests.flatMap((r, i) => ['o1', 'o2'].map((o) => ({
      request_id: r.id, organisation_id: o, asked_by: null, asked_at: at(i), hold_id: `h-${r.id}-${o}`, searched_at: null, searched_by: null,
    })));
    for (let from = 0; from < REQUESTS; from += 500) await db.insertInto('subject_access_requests').values(requests.slice(from, from + 500) as never).execute();
    for (let from = 0; from < parts.length; from += 500) await db.insertInto('subject_access_parts').values(parts.slice(from, from + 500) as never).execute();
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze subject_access_requests, subject_access_parts`.execute(db);
  });
  afterAll(async () => {
    await close?.();
  });

  it.each([
    ['an open request\'s hold', 'h-r2000-o2', 'r2000'],
    ['a closed request\'s hold', 'h-r2001-o1', undefined],
    ['a hold no request names', 'h-none', undefined],
  ])('finds whether an open request keeps %s from the part naming it', async (_, holdId, requestId) => {
    const { result, statements } = await record(() => subjectAccess.openRequestHolding(holdId));
    expect(result?.id).toBe(requestId);
    expect(statements).toHaveLength(1);
    if (dialect === 'sqlite') {
      const details = await sqlitePlan(handle.db, statements[0]!);
      // The sort left is of the open requests found, one at most.
      expect(details.filter((d) => /^SCAN /.test(d)), details.join('\n')).toEqual([]);
      expect(details.join('\n')).toMatch(/SEARCH p USING INDEX subject_access_parts_hold \(hold_id=\?\)/);
    } else {
      const nodes = await postgresPlan(handle.db, statements[0]!);
      expect(nodes.filter((n) => n['Node Type'] === 'Seq Scan'), statements[0]!.source).toEqual([]);
      expect(Math.max(0, ...nodes.filter((n) => n['Relation Name']).map((n) => (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0))), statements[0]!.source).toBeLessThanOrEqual(1);
    }
  });
});
