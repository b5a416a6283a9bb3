// A retention period is never shortened without a records manager having seen what it moves: the
// due-date checks that refiling (a series on a collection or document) and moves of documents and
// collections go through, and the parts retention events share with them (the shift, its audit ids,
// the refusal's reason and audit). A change is made in the caller's transaction, the due dates of what
// it reaches compared before and after, and a change that brings any earlier is refused (409, rolled
// back) unless confirmed.
import { DomainError, forbidden } from '../domain/errors.js';
import { dueDateMove } from '../domain/records/retention.js';
import type { Repos } from '../domain/repositories.js';
import type { Actor } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { computeFacts, dueOf } from './retention-facts.js';

/** How many documents' due dates a change moved earlier and later. */
export interface DueDateShift {
  earlier: number;
  later: number;
}

/** A move's audit ids for the due dates it moved (none when it moved none). */
export function dueDatesMoved(shift: DueDateShift): Record<string, string> {
  return shift.earlier + shift.later > 0 ? { movedEarlier: String(shift.earlier), movedLater: String(shift.later) } : {};
}

/** A change's audit ids for a confirmed shortening: how many due dates it brought earlier and later, and that it was confirmed. */
export const shortened = (shift: DueDateShift): Record<string, string> => (shift.earlier > 0 ? { ...dueDatesMoved(shift), confirmShorter: 'true' } : {});

/** The reason a change refused for bringing due dates earlier, unconfirmed, is audited with. */
export const SHORTENED = 'retention_shortened';

type AuditTargetOf = { organisationId: string; ids: Record<string, string> };

/** Every document filed under a series in or below a collection. */
export async function documentsBelow(repos: Repos, organisationId: string, collectionId: string): Promise<string[]> {
  return (await repos.retention.placements(await repos.retention.documentsInSeries(organisationId)))
    .filter((p) => p.collections.some((c) => c.id === collectionId)).map((p) => p.documentId);
}

/**
 * Refiling under another series can shorten a period as surely as editing the series: like a series
 * change, it is refused (409, and `change` rolled back with the transaction) when it brings any due
 * date earlier, unless confirmed. Returns how many due dates it brings earlier and later.
 */
export async function refiled(
  repos: Repos, before: readonly string[], change: () => Promise<void>, after: () => Promise<string[]>, options: { confirmShorter?: boolean }, refusal: (earlier: number) => string,
): Promise<DueDateShift> {
  const old = await computeFacts(repos, before);
  await change();
  const ids = [...new Set([...before, ...(await after())])];
  const now = await computeFacts(repos, ids);
  const shift = { earlier: 0, later: 0 };
  for (const id of ids) {
    // A first filing applies the schedule (the normal way in); it is refiling that can cut a period short.
    const was = old.get(id);
    if (!was?.series) continue;
    const move = dueDateMove(dueOf(was.facts), now.has(id) ? dueOf(now.get(id)!.facts) : null);
    if (move === null) continue;
    // From "awaiting an event" to a date counts as earlier: the record may now fall due.
    if (move === 'earlier' || move === 'dated') shift.earlier += 1;
    else shift.later += 1;
  }
  if (shift.earlier > 0 && options.confirmShorter !== true) {
    throw new DomainError('CONFLICT', refusal(shift.earlier), { details: { earlier: shift.earlier, later: shift.later, reason: SHORTENED } });
  }
  return shift;
}

/** The checks moves of documents and collections make against the file plan, and the audit of every shortening refused. */
export class DueDateChecks {
  constructor(private readonly o: { access: AccessService }) {}

  /**
   * A document's retention derives from where it is (the series of its collection or the nearest one
   * above), so moving a document, or a collection with everything below it, is refiling by another
   * name, and follows the same rule: in the caller's transaction, `change` (the move) is made and the
   * due dates of the documents below `collectionId` (or of `documentIds`) compared before and after;
   * any brought earlier refuses the move (409, rolled back) unless a records manager confirmed it
   * (`requireShorteningConfirmable` first). Returns how many moved earlier and later, for the move's event.
   */
  async moved(repos: Repos, organisationId: string, affected: { documentIds: readonly string[] } | { collectionId: string }, change: () => Promise<void>, options: { confirmShorter?: boolean } = {}): Promise<DueDateShift> {
    const documents = 'documentIds' in affected
      ? async () => [...affected.documentIds]
      : () => documentsBelow(repos, organisationId, affected.collectionId);
    return refiled(repos, await documents(), change, documents, options, (earlier) => `Moving it brings the due date of ${plural(earlier, 'document')} earlier: `
      + 'the place it goes to is filed under a record series with a shorter period, or a trigger event there is dated earlier. A records manager must check the new due dates and confirm the move for it to go ahead.');
  }

  /**
   * Confirming a move that brings due dates earlier is the file plan's authority (`records.file-plan`:
   * the organisation's records managers), asked of decide() and audited when refused. The actor sees
   * what they are moving, so a refusal is told plainly (403), not as absence.
   */
  async requireShorteningConfirmable(actor: Actor, organisationId: string, ids: Record<string, string>): Promise<void> {
    const decision = await this.o.access.check(actor, 'records.file-plan', { kind: 'organisation', organisationId }, { organisationId, ids: { ...ids, confirmShorter: 'true' } });
    if (!decision.allow) throw forbidden('Only a records manager can confirm a move that brings due dates earlier (confirmShorter): move it without confirming, or ask a records manager to.');
  }

  /**
   * Records a change refused for shortening a period (the 409 of `moved`, refiling or a retention
   * event, after its transaction rolled back), like every other refusal; then lets the error go on its way.
   */
  async auditRefusedShortening(actor: Actor, action: string, targets: AuditTargetOf | readonly AuditTargetOf[], error: unknown): Promise<never> {
    if (error instanceof DomainError && error.details?.reason === SHORTENED) {
      for (const target of Array.isArray(targets) ? targets : [targets as AuditTargetOf]) {
        await this.o.access.recordRefusal(actor, action, { ...target, ids: { ...target.ids, movedEarlier: String(error.details.earlier) } }, SHORTENED);
      }
    }
    throw error;
  }
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
