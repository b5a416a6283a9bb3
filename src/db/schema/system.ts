// Table types of the vault's own bookkeeping: the job queue and the key-value settings.
import type { Generated } from 'kysely';

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  run_at: string;
  attempts: number;
  max_attempts: number;
  lease_until: string | null;
  last_error: string | null;
  status: string;
  created_at: string;
  finished_at: string | null;
  /** At most one queued or running job per key (partial unique index). */
  unique_key: string | null;
  /** 'mail', 'availability' or 'background' (domain/jobs/define-job.ts JobLane): each is leased on its own. */
  lane: Generated<string>;
  /** The organisation whose work the job is; null for the vault's own (backups, sweeps, rescans). */
  organisation_id: string | null;
  /**
   * Its place in its lane's order, a position: after the lane's first waiting job, or its organisation's last
   * live job's turn plus that job's weight, whichever is later; a job queued for later, DELAYED_TURNS_FROM plus
   * when it is due in milliseconds (db/repos/jobs.repo.ts). PostgreSQL returns it (a bigint) as text.
   */
  turn: Generated<number | string>;
  /** 1 plus a unit per MiB of content the job processes, at most 1,000,000 (domain/jobs/define-job.ts jobWeight); kept by retries. */
  weight: Generated<number>;
}

export interface KeyValueTable {
  key: string;
  value: string;
}
