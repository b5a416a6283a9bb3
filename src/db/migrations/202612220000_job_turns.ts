// Fair turns between organisations within a lane. Each lane was leased oldest first, so one council's
// bulk work (an import's 150,000 text extractions, a batch of large files to scan) made every other
// council's work wait behind all of it. Each row now names the organisation whose work it is (null for
// the vault's own: backups, sweeps, rescans) and a turn: the moment it was due, or one step after the
// last live job of its organisation in its lane, whichever is later (db/repos/jobs.repo.ts). A lane is
// leased in turn order, so an organisation with a backlog takes turns with the others instead of
// going first with all of it.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export const JOB_TURNS_MIGRATION = '202612220000_job_turns';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('organisation_id', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('turn', caps.bigint, (c) => c.notNull().defaultTo(0)).execute();
  // Live jobs queued before this release wait apart, as jobs queued for later do (their turn 10^15 plus
  // when they are due, in milliseconds: DELAYED_TURNS_FROM in db/repos/jobs.repo.ts, written here as it
  // was): those due are moved into the waiting line in the order they fell due (JobsRepo.lease, since a
  // storm of due jobs going before the whole line starved the other councils), the rest when due.
  const dueMs = caps.dialect === 'postgres'
    ? sql`cast(floor(extract(epoch from cast(run_at as timestamptz)) * 1000) as bigint)`
    : sql`cast(round((julianday(run_at) - 2440587.5) * 86400000) as integer)`;
  await sql`update jobs set turn = 1000000000000000 + ${dueMs} where status in ('queued', 'running')`.execute(db);
  // The lease reads a lane's queued jobs in turn order; an enqueue reads its organisation's last turn.
  // Both over live rows only, named with the literals the queries repeat (db/repos/jobs.repo.ts).
  await db.schema.createIndex('jobs_lane_turn').on('jobs').columns(['lane', 'status', 'turn', 'id'])
    .where(sql<boolean>`status in ('queued', 'running')`).execute();
  await db.schema.createIndex('jobs_lane_organisation_turn').on('jobs').columns(['lane', 'organisation_id', 'turn'])
    .where(sql<boolean>`status in ('queued', 'running')`).execute();
}
