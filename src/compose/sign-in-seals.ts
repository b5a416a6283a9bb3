// Opening a database: its migrations, and the sealing of existing sign-in secrets by the open that applies
// the seals' migration, in that migration's transaction (services/sign-in-seal-upgrade.ts). Part of the
// composition root: main.ts opens the vault with it, the restore drill its scratch copy.
import type { Logger } from 'pino';
import type { Clock } from '../domain/ports.js';
import type { DatabaseHandle } from '../db/kysely.js';
import { migrate } from '../db/migrate.js';
import { SIGN_IN_SEALS_MIGRATION } from '../db/migrations/202612150000_sign_in_seals.js';
import type { Store } from '../db/store.js';
import { sealSignInSecretsFound } from '../services/sign-in-seal-upgrade.js';

/**
 * Migrates the store's database. Of several processes opening one PostgreSQL database at once, the one that
 * takes the migration lock applies the seals' migration and seals, in one transaction, so no other ever
 * sees the columns without the seals; a restored older database is migrated, and so sealed, at its next open.
 */
export async function migrateSealing(handle: DatabaseHandle, store: Store, clock: Clock, logger: Pick<Logger, 'info' | 'error'>): Promise<string[]> {
  return migrate(handle.db, handle.caps, {
    applying: {
      [SIGN_IN_SEALS_MIGRATION]: async (trx) => {
        const counts = await sealSignInSecretsFound(store.reposWithin(trx), clock.now());
        logger.info(counts, 'sealed the password hashes, two-factor states, credentials, identity providers and their links that existed before sign-in seals, and encrypted the authenticator secrets');
        if (counts.passwordsLeft + counts.mfaLeft + counts.credentialsLeft + counts.scimTokensLeft + counts.providersLeft + counts.linksLeft > 0) {
          logger.error(counts, 'left unsealed the password hashes, two-factor states, credentials, identity providers or links not as their recorded change left them (written into the database directly): those people cannot sign in, nor those credentials or providers work, until an admin resets them; `strongroom audit verify` names them');
        }
      },
    },
  });
}
