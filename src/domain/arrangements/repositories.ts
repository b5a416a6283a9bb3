// Port: shared-service arrangements as services see them, with their revisions. Part of the Store's
// repositories (domain/repositories.ts `arrangements`).
import type { Arrangement, ArrangementStatus } from '../types.js';

export interface ArrangementFilter {
  organisationId?: string;
  serviceArea?: string;
  status?: ArrangementStatus;
  region?: string;
}

export interface ArrangementRevision {
  revision: number;
  change: string;
  changedBy: string | null;
  changedAt: string;
  snapshot: Arrangement;
}

export interface ArrangementsRepository {
  insert(a: Arrangement, createdBy: string | null): Promise<void>;
  byId(id: string): Promise<Arrangement | undefined>;
  /** Every arrangement any of these organisations hosts or is a partner in. */
  involving(organisationIds: string[]): Promise<Arrangement[]>;
  list(filter: ArrangementFilter): Promise<Arrangement[]>;
  /**
   * Writes the arrangement and its parties exactly as `a` says if the stored revision is still
   * `expectedRevision` (compare-and-set); false when another change got there first.
   */
  save(a: Arrangement, expectedRevision: number, changedBy: string | null): Promise<boolean>;
  addRevision(r: { arrangementId: string; revision: number; change: string; snapshot: Arrangement; changedBy: string | null; changedAt: string }): Promise<void>;
  revisions(arrangementId: string): Promise<ArrangementRevision[]>;
}
