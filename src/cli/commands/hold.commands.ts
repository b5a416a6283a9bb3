// Legal hold commands: the hold register of an organisation, placing a hold (as a named records
// manager or DPO, whose permissions apply) over documents and collections, and releasing one with a reason.
import type { Command } from 'commander';
import { systemActor } from '../../services/identity.service.js';
import { actingAs } from '../acting-as.js';
import { list, output, say, withVault } from '../context.js';

export function registerHoldCommands(program: Command): void {
  const hold = program.command('hold').description('legal holds: held records cannot be deleted, changed, moved, reclassified or disposed of by anyone until released');

  hold
    .command('list')
    .description("an organisation's hold register, active holds first: id, status, name, reference, documents, collections, placed")
    .requiredOption('--org <slug>', 'the organisation')
    .action(async (opts: { org: string }, command: Command) => {
      await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        for (const s of await vault.holds.list(systemActor(), org.id)) {
          output([s.hold.id, s.hold.releasedAt ? 'released' : 'active', s.hold.name, s.hold.reference ?? '', s.documents, s.collections, s.hold.createdAt].join('\t'));
        }
      });
    });

  hold
    .command('add')
    .description('place a new legal hold in the organisation, optionally over documents and collections at once (a collection\'s hold '
      + 'covers everything in it, documents added later included); prints the hold\'s id')
    .requiredOption('--org <slug>', 'the organisation (the person\'s own)')
    .requiredOption('--name <name>', 'the case, inquiry or request, e.g. "Smith v Council"')
    .requiredOption('--reason <text>', 'why the records must be kept (at least 10 characters)')
    .option('--reference <ref>', 'a case, inquiry or request reference')
    .option('--documents <ids>', 'comma-separated document ids to hold')
    .option('--collections <ids>', 'comma-separated collection ids to hold')
    .requiredOption('--as <email>', 'the records manager or DPO placing it (their permissions apply)')
    .addHelpText('after', '\nExample: strongroom hold add --org north-district --name "Smith v Council" --reason "Employment tribunal claim" --collections 3f1c… --as records.manager@council.gov.uk')
    .action(async (opts: { org: string; name: string; reason: string; reference?: string; documents?: string; collections?: string; as: string }, command: Command) => {
      const placed = await withVault(command, async (vault) => {
        const actor = await actingAs(vault, opts.as, 'records.hold');
        const org = await vault.organisations.organisationBySlug(opts.org);
        if (actor.organisationId !== org.id) throw new Error(`${opts.as} is not in ${opts.org}: a hold is placed by the organisation's own records managers and DPOs.`);
        const documentIds = opts.documents ? list(opts.documents) : [];
        const collectionIds = opts.collections ? list(opts.collections) : [];
        // One transaction: an item that cannot be held leaves no empty hold behind.
        const { hold: created, added } = await vault.holds.createOver(actor, { name: opts.name, reason: opts.reason, reference: opts.reference ?? null }, { documentIds, collectionIds });
        return { created, added: added.length };
      });
      say(`Hold "${placed.created.name}" placed${placed.added ? ` over ${placed.added} item(s)` : ''}.`);
      output(placed.created.id);
    });

  hold
    .command('release')
    .description('release a hold (audited); the reason is kept in the register')
    .argument('<id>', 'the hold')
    .requiredOption('--reason <text>', 'why the records can be released (at least 10 characters)')
    .requiredOption('--as <email>', 'the records manager or DPO releasing it (their permissions apply)')
    .action(async (id: string, opts: { reason: string; as: string }, command: Command) => {
      const released = await withVault(command, async (vault) => vault.holds.release(await actingAs(vault, opts.as, 'records.hold.release'), id, opts.reason));
      say(`Hold "${released.name}" was released.`);
    });
}
