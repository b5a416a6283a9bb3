// The durable job queue: a table both dialects share, leased so a crashed worker's job runs again.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';
import type { JobsRepository } from '../../domain/repositories.js';
import type { Schema } from '../schema.js';

export interface JobRow {
  id: number;
  kind: string;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
}

export class JobsRepo implements JobsRepository {
  constructor(private readonly db: Kysely<Schema>, private readonly caps: DialectCaps) {}

  async enqueue(kind: string, payload: unknown, options: { runAt: string; maxAttempts: number; now: string }): Promise<void> {
    await this.db
      .insertInto('jobs')
      .values({ kind, payload: JSON.stringify(payload), run_at: options.runAt, attempts: 0, max_attempts: options.maxAttempts, status: 'queued', created_at: options.now })
      .execute();
  }

  /** Takes up to `limit` due jobs and leases them until `leaseUntil`. */
  async lease(now: string, leaseUntil: string, limit: number): Promise<JobRow[]> {
    return this.db.transaction().execute(async (trx) => {
      let q = trx
        .selectFrom('jobs')
        .selectAll()
        .where((eb) => eb.or([eb('status', '=', 'queued'), eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)])]))
        .where('run_at', '<=', now)
        .orderBy('run_at')
        .limit(limit);
      if (this.caps.rowLocks) q = q.modifyEnd(sql`for update skip locked`);
      const rows = await q.execute();
      if (rows.length === 0) return [];
      await trx
        .updateTable('jobs')
        .set((eb) => ({ status: 'running', lease_until: leaseUntil, attempts: eb('attempts', '+', 1) }))
        .where('id', 'in', rows.map((r) => r.id))
        .execute();
      return rows.map((r) => ({ id: Number(r.id), kind: r.kind, payload: JSON.parse(r.payload), attempts: r.attempts + 1, maxAttempts: r.max_attempts }));
    });
  }

  async complete(id: number, at: string): Promise<void> {
    await this.db.updateTable('jobs').set({ status: 'done', finished_at: at, lease_until: null }).where('id', '=', id).execute();
  }

  async retry(id: number, runAt: string, error: string): Promise<void> {
    await this.db.updateTable('jobs').set({ status: 'queued', run_at: runAt, last_error: error, lease_until: null }).where('id', '=', id).execute();
  }

  async fail(id: number, at: string, error: string): Promise<void> {
    await this.db.updateTable('jobs').set({ status: 'failed', finished_at: at, last_error: error, lease_until: null }).where('id', '=', id).execute();
  }

  async pendingCount(kind?: string): Promise<number> {
    let q = this.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', ['queued', 'running']);
    if (kind) q = q.where('kind', '=', kind);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
}
