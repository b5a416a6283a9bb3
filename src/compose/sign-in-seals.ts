// Opening a database: its migrations, and the sealing of what existed before seals by the open that applies
// their migrations, in each migration's transaction: the sign-in secrets (services/sign-in-seal-upgrade.ts)
// and the events sequenced before audit events were sealed (services/audit-event-seal-upgrade.ts). Part of
// the composition root: main.ts opens the vault with it, the restore drill its scratch copy.
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../domain/ports.js';
import type { DatabaseHandle } from '../db/kysely.js';
import { migrate } from '../db/migrate.js';
import { SIGN_IN_SEALS_MIGRATION } from '../db/migrations/202612150000_sign_in_seals.js';
import { SEQUENCED_EVENT_SEALS_MIGRATION } from '../db/migrations/202612271940_sequenced_event_seals.js';
import type { Store } from '../db/store.js';
import { sealSequencedEventsFound, type CheckpointSigner } from '../services/audit-event-seal-upgrade.js';
import { sealSignInSecretsFound } from '../services/sign-in-seal-upgrade.js';

/**
 * Migrates the store's database. Of several processes opening one PostgreSQL database at once, the one that
 * takes the migration lock applies the seals' migrations and seals, in one transaction each, so no other ever
 * sees the columns without the seals; a restored older database is migrated, and so sealed, at its next open.
 * `signer`: the audit log's verifier key and origin, whose checkpoints vouch for the events sealed.
 */
export async function migrateSealing(handle: DatabaseHandle, store: Store, clock: Clock, logger: Pick<Logger, 'info' | 'error'>, signer: CheckpointSigner): Promise<string[]> {
  const sealEvents = async (trx: Kysely<any>) => {
    const counts = await sealSequencedEventsFound(store.reposWithin(trx), signer, clock.now());
    if (counts.found === 0) return;
    logger.info(counts, 'sealed the audit events sequenced before events were sealed, as far as signed checkpoints vouch for them');
    if (counts.left > 0) {
      logger.error(counts, 'left unsealed the audit events sequenced before events were sealed that no signed checkpoint vouches for (changed in the database directly, or never signed): they vouch for nothing; `strongroom audit verify` names the first');
    }
  };
  return migrate(handle.db, handle.caps, {
    applying: {
      [SIGN_IN_SEALS_MIGRATION]: async (trx) => {
        // The sealing below trusts what events vouch for, which from this release is what their seals cover.
        await sealEvents(trx);
        const counts = await sealSignInSecretsFound(store.reposWithin(trx), clock.now());
        logger.info(counts, 'sealed the password hashes, two-factor states, credentials, identity providers and their links that existed before sign-in seals, and encrypted the authenticator secrets');
        if (counts.passwordsLeft + counts.mfaLeft + counts.credentialsLeft + counts.scimTokensLeft + counts.providersLeft + counts.linksLeft > 0) {
          logger.error(counts, 'left unsealed the password hashes, two-factor states, credentials, identity providers or links not as their recorded change left them (written into the database directly): those people cannot sign in, nor those credentials or providers work, until an admin resets them; `strongroom audit verify` names them');
        }
      },
      [SEQUENCED_EVENT_SEALS_MIGRATION]: sealEvents,
    },
  });
}
