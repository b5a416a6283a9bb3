// Disposal review from the command line, as the operator (the system actor, channel cli): run an
// organisation's sweep now, and list its batches; and, as a records manager (--as), propose documents in the
// bin for early destruction. Deciding and approving stay with the organisation's records managers, in the web
// interface or the API (an early batch approved by one other than its proposer; a due batch by one who brought none
// of its records' due dates forward).
import { InvalidArgumentError, type Command } from 'commander';
import { isCalendarDate } from '../../domain/records/retention.js';
import { systemActor } from '../../services/identity.service.js';
import { actingAs } from '../acting-as.js';
import { output, say, withVault } from '../context.js';

const calendarDate = (value: string): string => {
  if (!isCalendarDate(value)) throw new InvalidArgumentError('expected a date as YYYY-MM-DD, e.g. 2026-03-31.');
  return value;
};

export function registerDisposalCommands(program: Command): void {
  const disposal = program.command('disposal').description('disposal review: propose batches of records whose retention has ended, or of binned records to destroy early, and list them');

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
    .command('early')
    .description('propose documents in the bin for destruction before their retention ends, with a reason (a record uploaded in error: '
      + 'a payslip in the wrong council\'s folder). Creates a disposal batch of kind "early", which the organisation\'s records manager then '
      + 'decides (destroy) and approves in the web interface or the API; the job destroys them and issues a certificate of destruction naming '
      + 'the reason\'s SHA-256. Each document must be in the bin. Prints the batch id')
    .argument('<document-ids...>', 'the documents (in the bin) to destroy early')
    .requiredOption('--reason <text>', 'why they must be destroyed before their retention ends (its events hold only its SHA-256)')
    .requiredOption('--as <email>', 'the records manager of the organisation that owns them (their permissions apply)')
    .addHelpText('after', '\nExample: strongroom disposal early 3f1c… --reason "Payslip uploaded to the wrong council: data breach DB-2026-41" --as records.manager@council.gov.uk')
    .action(async (documentIds: string[], opts: { reason: string; as: string }, command: Command) => {
      const view = await withVault(command, async (vault) => vault.disposal.proposeEarly(await actingAs(vault, opts.as, 'disposal.propose'), documentIds, opts.reason));
      say(`Proposed ${view.counts.items} record(s) for early destruction: decide batch ${view.batch.id}, then another records manager approves it to destroy ${view.counts.items === 1 ? 'it' : 'them'} (you proposed it, so you cannot).`);
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
