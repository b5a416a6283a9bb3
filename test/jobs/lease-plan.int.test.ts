// The job lease's query plan on both dialects, read with EXPLAIN on the statement the adapter really
// runs, with thousands of jobs queued: it must read the few it takes in order from an index, never
// every due job. Both dialects once did (docs/performance.md "The job lease with a long queue"): on
// SQLite the outer update walked jobs_due for all due jobs (an OR over two index ranges) and tested
// each against the picked few; on PostgreSQL jobs_due (status, run_at) could not give the lease's
// (run_at, id) order, so it read and sorted every queued job. A lease then cost time in proportion
// to the queue (0.8 and 4.4 ms with 20,000 waiting), which a bulk import of 10,000 files reaches.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { CompiledQuery, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres, openSqlite, type DatabaseHandle } from '../../src/db/kysely.js';
import { migrate } from '../../src/db/migrate.js';
import { DELAYED_TURNS_FROM, JobsRepo } from '../../src/db/repos/jobs.repo.js';
import { extractTextJob } from '../../src/domain/jobs/kinds.js';
import { insertJobRows } from '../support/job-rows.js';
import { createMigratedDatabase, type TestDatabase } from '../support/postgres.js';
import { DIALECTS } from '../support/vault.js';

const QUEUED = 5000;

interface PlanNode { 'Node Type': string; 'Relation Name'?: string; 'Actual Rows'?: number; 'Rows Removed by Filter'?: number; Plans?: PlanNode[] }

/** The statements run while recording, with their values, as the drivers received them. */
let recording: { source: string; values: unknown[] }[] | null = null;
const sqlite = Database.prototype as unknown as { prepare(this: Database.Database, source: string): Record<string, unknown> };
const prepare = sqlite.prepare;
sqlite.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source);
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statement[method] as (...args: unknown[]) => unknown;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      recording?.push({ source, values: args });
      return original.apply(this, args);
    };
  }
  return statement;
};
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text: string; values?: unknown[] };
  if (typeof first === 'string') recording?.push({ source: first, values: (args[1] as unknown[] | undefined) ?? [] });
  else recording?.push({ source: first.text, values: first.values ?? [] });
  return clientQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

describe.each(DIALECTS)('the job lease\'s plan on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let jobs: JobsRepo;
  let lease: { source: string; values: unknown[] };
  /** The lease of a lane with nothing in it, beside the long queue in another. */
  let emptyLane: { source: string; values: unknown[] };
  /** A job queued by the organisation with the long queue, and by the vault itself. */
  let busyEnqueue: { source: string; values: unknown[] };
  let otherEnqueue: { source: string; values: unknown[] };
  /** A lease's look for jobs queued for later now due, and its move of one into the line. */
  let dueDelayed: { source: string; values: unknown[] };
  let moveIntoLine: { source: string; values: unknown[] };

  beforeAll(async () => {
    if (dialect === 'postgres') {
      const database: TestDatabase = await createMigratedDatabase('srleaseplan');
      handle = openPostgres(database.url, 2);
      close = async () => { await handle.close(); await database.drop(); };
    } else {
      const dir = await mkdtemp(path.join(tmpdir(), 'sr-lease-plan-'));
      handle = openSqlite({ file: path.join(dir, 'jobs.db'), key: randomBytes(32) });
      await migrate(handle.db, handle.caps);
      close = async () => { await handle.close(); await rm(dir, { recursive: true, force: true }); };
    }
    jobs = new JobsRepo(handle.db, handle.caps);
    const at = new Date(Date.now() - 60_000).toISOString();
    // Finished jobs as a running server keeps them, then a long queue.
    for (const status of ['done', 'queued'] as const) await insertJobRows(handle.db, { count: QUEUED, status, at, organisationId: 'o-busy' });
    // And a storm of retries not yet due (the store down an hour), which a lease must not read to find those due.
    const inAnHour = new Date(Date.now() + 3_600_000);
    await insertJobRows(handle.db, { count: QUEUED, status: 'queued', at: inAnHour.toISOString(), prefix: 'storm', organisationId: 'o-busy', turnsAfter: DELAYED_TURNS_FROM + inAnHour.getTime() });
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze jobs`.execute(handle.db);
    recording = [];
    const now = new Date();
    const leaseStatement = () => recording!.findLast((r) => /^\s*with\b/i.test(r.source) && /update "jobs"/i.test(r.source))!;
    const leased = await jobs.lease('background', now.toISOString(), new Date(now.getTime() + 60_000).toISOString(), 4);
    expect(leased.map((j) => j.payload)).toEqual([1, 2, 3, 4].map((i) => ({ versionId: `v${i}` })));
    lease = leaseStatement();
    expect(await jobs.lease('mail', now.toISOString(), new Date(now.getTime() + 60_000).toISOString(), 4)).toEqual([]);
    emptyLane = leaseStatement();
    // A job of the organisation with the long queue, and one of another: each reads the lane's first turn waiting (with
    // none, its last running) and its own last.
    const enqueueStatement = () => recording!.findLast((r) => /^\s*insert into "jobs"/i.test(r.source))!;
    // Its own last job is read from the index with its weight: a version of 10 MiB, weight 11.
    expect(await jobs.enqueue(extractTextJob, { versionId: 'busy' }, { now, bytes: 10 * 1024 * 1024, organisationId: 'o-busy' })).toBe(true);
    busyEnqueue = enqueueStatement();
    expect(await jobs.enqueue(extractTextJob, { versionId: 'other' }, { now, bytes: 0, organisationId: null })).toBe(true);
    otherEnqueue = enqueueStatement();
    // A job queued for later, leased once due: first moved into the line.
    expect(await jobs.enqueue(extractTextJob, { versionId: 'late' }, { now, runAt: new Date(now.getTime() + 1000), bytes: 0, organisationId: 'o-other' })).toBe(true);
    const later = new Date(now.getTime() + 2000);
    const [head] = await jobs.lease('background', later.toISOString(), new Date(later.getTime() + 60_000).toISOString(), 1);
    expect(head).toMatchObject({ payload: { versionId: 'v5' } });
    // Done, so the lane runs as many jobs as the lease above left it (each running job is read for an expired lease).
    expect(await jobs.complete(head!.id, head!.attempts, later.toISOString())).toBe(true);
    dueDelayed = recording.findLast((r) => /^\s*select "id", "organisation_id" from "jobs"/i.test(r.source))!;
    moveIntoLine = recording.findLast((r) => /^\s*update "jobs" set "turn"/i.test(r.source))!;
    expect(dueDelayed).toBeDefined();
    expect(moveIntoLine).toBeDefined();
    recording = null;
    // The busy organisation's job goes after its own backlog; the other's after the first job waiting (turn 5, its
    // first four leased above), not after the 5,000. The busy one's next goes its weight (11) after it.
    expect(await jobs.enqueue(extractTextJob, { versionId: 'busy-next' }, { now, bytes: 0, organisationId: 'o-busy' })).toBe(true);
    const turns = await handle.db.selectFrom('jobs').select(['payload', 'turn']).where('payload', 'in', ['{"versionId":"busy"}', '{"versionId":"other"}', '{"versionId":"busy-next"}']).orderBy('id').execute();
    expect(turns.map((t) => [t.payload, Number(t.turn)])).toEqual([['{"versionId":"busy"}', QUEUED + 1], ['{"versionId":"other"}', 5], ['{"versionId":"busy-next"}', QUEUED + 12]]);
    // The job queued for later took its turn in the line as a job of its organisation queued then would: after
    // the first job waiting (v5, leased next), not before the whole line.
    const late = await handle.db.selectFrom('jobs').select('turn').where('payload', '=', '{"versionId":"late"}').executeTakeFirstOrThrow();
    expect(Number(late.turn)).toBe(5);
    expect(lease).toBeDefined();
    expect(emptyLane).not.toBe(lease);
  });
  afterAll(async () => {
    await close?.();
  });

  /** Checks the statement's plan: the candidates read from the lane's part of the index in order, never every due job. */
  async function expectIndexedPlan(statement: { source: string; values: unknown[] }): Promise<void> {
    if (dialect === 'sqlite') {
      const { rows } = await handle.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${statement.source}`, statement.values.flat()));
      const details = rows.map((r) => r.detail);
      // The update finds its rows by key; each candidate set walks its lane's part of an index in order, cut at the batch:
      // expired leases by when they were due (jobs_lane_due), the waiting line by turn (jobs_lane_turn).
      expect(details, details.join('\n')).toContain('SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)');
      expect(details.filter((d) => /jobs_lane_due \(lane=\? AND status=\?/.test(d)), details.join('\n')).toHaveLength(1);
      expect(details.filter((d) => /jobs_lane_turn \(lane=\? AND status=\? AND turn[<>]/.test(d)), details.join('\n')).toHaveLength(1);
      expect(details.some((d) => /MULTI-INDEX OR|SCAN jobs\b/.test(d)), details.join('\n')).toBe(false);
    } else {
      const nodes = await analysed(statement);
      const overJobs = nodes.filter((n) => n['Relation Name'] === 'jobs');
      expect(overJobs.length).toBeGreaterThan(0);
      expect(overJobs.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      // No node over the jobs table returns more rows than a batch takes.
      expect(Math.max(...overJobs.map((n) => n['Actual Rows'] ?? 0))).toBeLessThanOrEqual(4);
      // Nor reads more and throws them away (another lane's jobs, found and filtered out).
      expect(Math.max(...overJobs.map((n) => n['Rows Removed by Filter'] ?? 0))).toBeLessThanOrEqual(4);
      expect(nodes.filter((n) => n['Node Type'] === 'Sort' && (n.Plans ?? []).some((p) => p['Relation Name'] === 'jobs'))).toEqual([]);
    }
  }

  /**
   * PostgreSQL's plan of the statement with what each node read: run for real (a lease leases the next four, an
   * enqueue adds its job) inside a transaction rolled back. Every node, the root first.
   */
  async function analysed(statement: { source: string; values: unknown[] }): Promise<PlanNode[]> {
    const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];
    const plan = await handle.db.connection().execute(async (db) => {
      await sql`begin`.execute(db);
      try {
        const { rows } = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(CompiledQuery.raw(`explain (analyze, format json) ${statement.source}`, statement.values));
        return rows[0]!['QUERY PLAN'][0].Plan;
      } finally {
        await sql`rollback`.execute(db);
      }
    });
    return nodesOf(plan);
  }

  it('reads the few jobs it takes from an index, in order, and updates them by their key', async () => {
    await expectIndexedPlan(lease);
  });

  it('reads nothing of another lane\'s long queue when its own lane is empty', async () => {
    await expectIndexedPlan(emptyLane);
  });

  it('finds the jobs queued for later now due from an index, reading none of a storm not yet due', async () => {
    if (dialect === 'sqlite') {
      const { rows } = await handle.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${dueDelayed.source}`, dueDelayed.values.flat()));
      const details = rows.map((r) => r.detail);
      expect(details, details.join('\n')).toEqual([expect.stringMatching(/^SEARCH jobs USING INDEX jobs_lane_turn \(lane=\? AND status=\? AND turn>\? AND turn<\?\)$/)]);
    } else {
      const nodes = await analysed(dueDelayed);
      const overJobs = nodes.filter((n) => n['Relation Name'] === 'jobs');
      expect(overJobs.length).toBeGreaterThan(0);
      expect(overJobs.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      expect(Math.max(...overJobs.map((n) => n['Actual Rows'] ?? 0))).toBe(0);
      expect(Math.max(...overJobs.map((n) => n['Rows Removed by Filter'] ?? 0))).toBe(0);
      expect(nodes.filter((n) => n['Node Type'] === 'Sort')).toEqual([]);
    }
  });

  it('moves a due job into the line by its key, with its turn from three reads of indexes, one row each', async () => {
    if (dialect === 'sqlite') {
      const { rows } = await handle.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${moveIntoLine.source}`, moveIntoLine.values.flat()));
      const details = rows.map((r) => r.detail);
      expect(details, details.join('\n')).toContain('SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)');
      expect(details.filter((d) => /jobs_lane_turn \(lane=\? AND status=\? AND turn<\?\)/.test(d)), details.join('\n')).toHaveLength(2);
      expect(details.filter((d) => /jobs_lane_organisation_turn \(lane=\? AND organisation_id=\? AND turn<\?\)|jobs_lane_organisation_turn \(lane=\? AND organisation_id=\?\)/.test(d)), details.join('\n')).toHaveLength(1);
      expect(details.some((d) => /SCAN jobs\b|TEMP B-TREE/.test(d)), details.join('\n')).toBe(false);
    } else {
      const nodes = await analysed(moveIntoLine);
      const overJobs = nodes.filter((n) => n['Relation Name'] === 'jobs' && n['Node Type'] !== 'ModifyTable');
      expect(overJobs.length).toBeGreaterThan(0);
      expect(overJobs.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
      expect(Math.max(...overJobs.map((n) => n['Actual Rows'] ?? 0))).toBeLessThanOrEqual(1);
      // At most the job itself, found by its key and left alone: it was moved into the line already.
      expect(Math.max(...overJobs.map((n) => n['Rows Removed by Filter'] ?? 0))).toBeLessThanOrEqual(1);
    }
  });

  it('gives a job its turn from three reads of indexes, one row each, whatever the queue', async () => {
    for (const statement of [busyEnqueue, otherEnqueue]) {
      if (dialect === 'sqlite') {
        const { rows } = await handle.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${statement.source}`, statement.values.flat()));
        const details = rows.map((r) => r.detail);
        expect(details.filter((d) => /jobs_lane_turn \(lane=\? AND status=\? AND turn<\?\)/.test(d)), details.join('\n')).toHaveLength(2);
        expect(details.filter((d) => /jobs_lane_organisation_turn \(lane=\? AND organisation_id(=\?| IS NULL)? AND turn<\?\)|jobs_lane_organisation_turn \(lane=\? AND organisation_id=\?\)/.test(d)), details.join('\n')).toHaveLength(1);
        // The organisation's last job (its turn and weight) is the last row of its part of the index: read backwards, not sorted.
        expect(details.some((d) => /SCAN jobs\b|TEMP B-TREE/.test(d)), details.join('\n')).toBe(false);
      } else {
        const nodes = await analysed(statement);
        const overJobs = nodes.filter((n) => n['Relation Name'] === 'jobs' && n['Node Type'] !== 'ModifyTable');
        expect(overJobs.length).toBeGreaterThan(0);
        expect(overJobs.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
        expect(Math.max(...overJobs.map((n) => n['Actual Rows'] ?? 0))).toBeLessThanOrEqual(1);
        expect(Math.max(...overJobs.map((n) => n['Rows Removed by Filter'] ?? 0))).toBe(0);
        expect(nodes.filter((n) => n['Node Type'] === 'Sort')).toEqual([]);
      }
    }
  });
});
