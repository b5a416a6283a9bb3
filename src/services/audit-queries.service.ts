// Reading the audit log's part about the actor's own organisation: searching its events (sequenced
// first) and its checkpoints, each asked of decide() (`audit.read`, `audit.checkpoints`).
import type { AuditEvent } from '../domain/audit/event.js';
import { invalid, notFound } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import type { AuditQuery } from '../domain/repositories.js';
import { instantOf } from '../domain/uk-time.js';
import type { AuditServiceOptions } from './audit-log-options.js';
import { authorizeOrganisation } from './audit-organisation-access.js';
import type { AuditSequencerService } from './audit-sequencer.service.js';

export class AuditQueriesService {
  constructor(private readonly o: Pick<AuditServiceOptions, 'store' | 'access'> & { sequencer: Pick<AuditSequencerService, 'integrate'> }) {}

  async latestCheckpoint(actor: Actor): Promise<{ treeSize: number; note: string; createdAt: string }> {
    const latest = await this.newestCheckpoint(actor);
    if (!latest) throw notFound('checkpoint');
    return latest;
  }

  /** The newest signed checkpoint, or null before the first is signed (a refusal still throws). */
  async newestCheckpoint(actor: Actor): Promise<{ treeSize: number; note: string; createdAt: string } | null> {
    await authorizeOrganisation(this.o, actor, 'audit.checkpoints');
    return (await this.o.store.repos.audit.latestCheckpoint()) ?? null;
  }

  async checkpointsSince(actor: Actor, afterSize: number): Promise<{ treeSize: number; note: string; createdAt: string }[]> {
    await authorizeOrganisation(this.o, actor, 'audit.checkpoints');
    return (await this.o.store.repos.audit.checkpoints()).filter((c) => c.treeSize > afterSize);
  }

  /**
   * The organisation's events that match the filters, in log order. `from` (inclusive) and `to` (exclusive) are instants: a
   * YYYY-MM-DD date is the start of that UK day, a date and time must say its offset (domain/uk-time.ts instantOf);
   * anything else is INVALID, not compared as text.
   */
  async search(actor: Actor, query: Omit<AuditQuery, 'organisationId'>): Promise<AuditEvent[]> {
    const organisationId = await authorizeOrganisation(this.o, actor, 'audit.read');
    const window = { ...(query.from !== undefined ? { from: windowEdge(query.from, 'from') } : {}), ...(query.to !== undefined ? { to: windowEdge(query.to, 'to') } : {}) };
    await this.o.sequencer.integrate();
    return this.o.store.repos.audit.query({ ...query, ...window, organisationId });
  }
}

function windowEdge(value: string, which: 'from' | 'to'): string {
  const instant = instantOf(value);
  if (instant === null) throw invalid(`"${value}" is not a date for "${which}": give a date (YYYY-MM-DD, a UK day) or a date and time with its offset, such as 2026-12-07T09:00:00Z.`, { field: which });
  return instant;
}
