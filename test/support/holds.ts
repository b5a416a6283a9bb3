// Places a legal hold straight through the repositories, for tests whose subject is what a hold
// refuses (the hold register's own behaviour is tested through HoldsService and the API).
import { randomUUID } from 'node:crypto';
import type { Vault } from '../../src/main.js';
import type { LegalHold } from '../../src/domain/records/holds.js';

export async function placeHold(
  vault: Vault, organisationId: string, covers: { documentIds?: string[]; collectionIds?: string[] }, name = `Smith v Council ${randomUUID().slice(0, 4)}`,
): Promise<LegalHold> {
  const at = new Date().toISOString();
  const hold: LegalHold = {
    id: randomUUID(), organisationId, name, reason: 'Litigation: preserve everything', reference: null, createdBy: null, createdAt: at,
    releasedAt: null, releasedBy: null, releaseReason: null,
  };
  await vault.store.repos.holds.insert(hold);
  for (const documentId of covers.documentIds ?? []) {
    await vault.store.repos.holds.addItem({ id: randomUUID(), holdId: hold.id, organisationId, documentId, collectionId: null, addedBy: null, addedAt: at });
  }
  for (const collectionId of covers.collectionIds ?? []) {
    await vault.store.repos.holds.addItem({ id: randomUUID(), holdId: hold.id, organisationId, documentId: null, collectionId, addedBy: null, addedAt: at });
  }
  return hold;
}

/** The words every interface uses for a hold's refusal. */
export const heldFragment = (hold: Pick<LegalHold, 'id' | 'name'>): string => `under legal hold “${hold.name}” (hold ${hold.id})`;
