// Events in the tree are trusted only under their seal (db/repos/audit.repo.ts #vouching), as pending ones
// always were. Events sequenced before seals existed (migration 202611300112) carry none; a migration holds
// no key, so the open that applies this one seals them, in its transaction, as far as signed checkpoints
// vouch for what they say (compose/sign-in-seals.ts, services/audit-event-seal-upgrade.ts). Nothing in the
// schema changes.
import type { Kysely } from 'kysely';

export const SEQUENCED_EVENT_SEALS_MIGRATION = '202612271940_sequenced_event_seals';

export async function up(_db: Kysely<any>): Promise<void> {
  // The work is the open's (above).
}
