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
   * Its place in its lane's order (milliseconds since 1970): when it was due, or one step after its
   * organisation's last live job in the lane (db/repos/jobs.repo.ts). Never read back (PostgreSQL returns a bigint as text).
   */
  turn: Generated<number | string>;
}

export interface KeyValueTable {
  key: string;
  value: string;
}
