// Lock commands for administrators on the server: list the live write locks on an organisation's
// resources, and break one (audited as lock.break by the system actor, channel cli).
import type { Command } from 'commander';
import { systemActor } from '../../services/identity.service.js';
import { output, say, withVault } from '../context.js';

export function registerLockCommands(program: Command): void {
  const lock = program.command('lock').description('write locks taken over WebDAV (they bind every interface)');

  lock
    .command('list')
    .description("list the live locks on an organisation's documents and collections: token, what, depth, holder, until")
    .requiredOption('--org <slug>', 'the organisation that owns the locked resources')
    .action(async (opts: { org: string }, command: Command) => {
      await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        for (const { lock: l, holder, resourceName } of await vault.locks.listForOrganisation(systemActor(), org.id)) {
          output([l.token, l.documentId ? `document:${l.documentId}` : `collection:${l.collectionId}`, resourceName, l.depth, holder.email, l.expiresAt].join('\t'));
        }
      });
    });

  lock
    .command('break')
    .description('break a lock now, whoever holds it (audited)')
    .argument('<token>', 'the lock token, e.g. urn:uuid:…')
    .action(async (token: string, _opts, command: Command) => {
      await withVault(command, (vault) => vault.locks.release(systemActor(), token));
      say(`Lock ${token} was broken.`);
    });
}
