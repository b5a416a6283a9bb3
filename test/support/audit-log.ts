// The whole audit log as the operator's `audit verify` reads it, for tests that follow one person's
// events wherever they were written, whichever organisation's view they would show in.
import type { AuditEvent } from '../../src/domain/audit/event.js';
import type { Vault } from '../../src/main.js';

/** Every event this person's actions wrote, sequenced, in order; `deny` keeps their refusals only. */
export async function eventsOf(vault: Vault, userId: string, options: { deny?: boolean } = {}): Promise<AuditEvent[]> {
  await vault.audit.sequencer.integrate();
  const events: AuditEvent[] = [];
  for await (const { event } of vault.store.repos.audit.sequenced()) {
    if (event.actorUserId === userId && (!options.deny || event.decision === 'deny')) events.push(event);
  }
  return events;
}
