// A vault's identity: a random id made once, at its first open, and kept in its database's settings, so
// that a restore from its backup (which brings the settings back) is the same vault, and every node
// over one database is one vault. Its blob stores' markers name it (services/store-ownership.ts).
import { randomUUID } from 'node:crypto';
import type { SettingsRepository } from '../domain/repositories.js';

export const VAULT_ID_SETTING = 'vault.id';

/**
 * This vault's id, made now if the database has none. `adopt`: an id to take instead of a new one (a
 * restore of a backup from before vault ids takes the one its replica's marker names).
 */
export async function vaultIdentity(settings: SettingsRepository, adopt?: () => Promise<string | undefined>): Promise<string> {
  const known = await settings.get(VAULT_ID_SETTING);
  if (known !== undefined) return known;
  // Several nodes opening at once: one statement keeps the first id, and every node reads that one.
  return settings.claim(VAULT_ID_SETTING, (await adopt?.()) ?? randomUUID());
}
