// Many job rows at once, written straight into the jobs table with one statement on either dialect:
// for the plan test and the pruning test, and bench/job-lease.ts, which need a long queue or a long
// history without queueing each job through the service.
import { sql, type Kysely } from 'kysely';
import type { Schema } from '../../src/db/schema.js';

/**
 * Inserts `count` extract-text jobs with this status, due (and created, and for a finished status
 * finished) at `at`, of `organisationId` (default null, the vault's own), their turns 1 to `count`
 * as one organisation's backlog queued at once has them (or `turnsAfter` plus 1 to `count`: jobs queued
 * for later, DELAYED_TURNS_FROM and on). Payloads are `{"versionId":"<prefix><n>"}`, n counting from 1.
 */
export async function insertJobRows(db: Kysely<Schema>, o: { count: number; status: 'queued' | 'done' | 'failed'; at: string; prefix?: string; organisationId?: string; turnsAfter?: number }): Promise<void> {
  const finishedAt = o.status === 'queued' ? null : o.at;
  await sql`
    with recursive k(i) as (select 1 union all select i + 1 from k where i < ${o.count})
    insert into jobs (kind, payload, run_at, attempts, max_attempts, status, created_at, finished_at, organisation_id, turn)
    select 'extract-text', '{"versionId":"' || ${o.prefix ?? 'v'} || i || '"}', ${o.at}, ${o.status === 'queued' ? 0 : 1}, 3, ${o.status}, ${o.at}, ${finishedAt},
      ${o.organisationId ?? null}, cast(${o.turnsAfter ?? 0} as bigint) + i from k`.execute(db);
}
