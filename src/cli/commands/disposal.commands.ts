// Disposal review from the command line, as the operator (the system actor, channel cli): run an
// organisation's sweep now, and list its batches. Deciding and approving stay with the organisation's
// records manager, in the web interface or the API.
import { InvalidArgumentError, type Command } from 'commander';
import { isCalendarDate } from '../../domain/records/retention.js';
import { systemActor } from '../../services/identity.service.js';
import { output, say, withVault } from '../context.js';

const calendarDate = (value: string): string => {
  if (!isCalendarDate(value)) throw new InvalidArgumentError('expected a date as YYYY-MM-DD, e.g. 2026-03-31.');
  return value;
};

export function registerDisposalCommands(program: Command): void {
  const disposal = program.command('disposal').description('disposal review: propose batches of records whose retention has ended, and list them');

  disposal
    .command('sweep')
    .description('propose a batch of the organisation\'s records due on or before --due-by (today, UK) that are in no open batch; '
      + 'held records are listed as excluded, naming their holds; its records managers are notified once. Prints the batch id, '
      + 'or nothing when nothing new is due (no batch is created)')
    .requiredOption('--org <slug>', 'the organisation')
    .option('--due-by <date>', 'records due on or before this date (YYYY-MM-DD; today or earlier)', calendarDate)
    .addHelpText('after', '\nExample: strongroom disposal sweep --org north-council --due-by 2026-03-31')
    .action(async (opts: { org: string; dueBy?: string }, command: Command) => {
      const view = await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        return vault.disposal.sweep(systemActor(), org.id, opts.dueBy);
      });
      if (!view) {
        say('Nothing new is due for disposal: no batch was created.');
        return;
      }
      say(`Proposed ${view.counts.items} record(s) for disposal review (${view.counts.excluded} held and excluded), due by ${view.batch.dueBy}.`);
      output(view.batch.id);
    });

  disposal
    .command('list')
    .description('list the organisation\'s disposal batches, newest first: id, status, due by, records, awaiting decision, held, destroyed')
    .requiredOption('--org <slug>', 'the organisation')
    .option('--json', 'print a JSON array instead of tab-separated lines')
    .action(async (opts: { org: string; json?: boolean }, command: Command) => {
      const batches = await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        return vault.disposal.list(systemActor(), org.id);
      });
      if (opts.json) {
        output(JSON.stringify(batches.map((b) => ({ ...b.batch, counts: b.counts })), null, 2));
        return;
      }
      for (const { batch, counts } of batches) {
        output([batch.id, batch.status, batch.dueBy, counts.items, counts.pending, counts.excluded + counts.held, counts.destroyed].join('\t'));
      }
      if (batches.length === 0) say('No disposal batches.');
    });
}
