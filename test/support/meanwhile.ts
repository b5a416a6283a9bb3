// Interleaves someone else's change between a service's first decision and the transaction that writes what it
// decided: the moment a change is decided again inside its transaction for (services/decided-within.ts).
import { vi } from 'vitest';
import type { Store } from '../../src/domain/repositories.js';
import type { Vault } from '../../src/main.js';
import { actorFor } from '../../src/services/identity.service.js';

/**
 * Runs `meanwhile` once, just before the next transaction `store` opens (so after the service's decisions and
 * reads, before it writes), then opens that transaction as asked. `ran()` says whether it did; `restore()` ends it.
 */
export function beforeNextTransaction(store: Store, meanwhile: () => Promise<unknown>): { ran: () => boolean; restore: () => void } {
  const transaction = store.transaction.bind(store);
  let ran = false;
  const spy = vi.spyOn(store, 'transaction').mockImplementation(async (work) => {
    spy.mockRestore();
    ran = true;
    await meanwhile();
    return transaction(work);
  });
  return { ran: () => ran, restore: () => spy.mockRestore() };
}

/** What an org admin does to a person meanwhile: takes their roles away (leaving them a member), or switches them off. */
export type ChangeMeanwhile = 'role removed' | 'switched off';

/** `change` made to `personId` by the org admin `adminId`, through the people admin service, as an admin would. */
export async function changePerson(vault: Vault, adminId: string, personId: string, change: ChangeMeanwhile): Promise<void> {
  const admin = actorFor((await vault.identity.userById(adminId))!, { channel: 'web', clientAddress: null, requestId: null });
  if (change === 'role removed') await vault.people.update(admin, personId, { roles: ['member'] });
  else await vault.people.setDisabled(admin, personId, true);
}
