// A vault's identity: a random id made once, at its first open, and kept in its database's settings, so
// that a restore from its backup (which brings the settings back) is the same vault, and every node
// over one database is one vault. Its blob stores' markers name it (services/store-ownership.ts).
import { randomUUID } from 'node:crypto';
import type { SettingsRepository } from '../domain/repositories.js';

export const VAULT_ID_SETTING = 'vault.id';

/**
 * This vault's id, made now if the database has none, and then made durable (`durable`: the store's)
 * before it is answered: the stores' markers written next name it, and a marker that outlives its id
 * (SQLite's log lost to a power cut) would refuse this vault its own stores. `adopt`: an id to take
 * instead of a new one (a restore of a backup from before vault ids: compose/store-claims.ts vaultToAdopt).
 */
export async function vaultIdentity(settings: SettingsRepository, durable: () => Promise<void>, adopt?: () => Promise<string | undefined>): Promise<string> {
  const known = await settings.get(VAULT_ID_SETTING);
  if (known !== undefined) return known;
  // Several nodes opening at once: one statement keeps the first id, and every node reads that one.
  const id = await settings.claim(VAULT_ID_SETTING, (await adopt?.()) ?? randomUUID());
  await durable();
  return id;
}
