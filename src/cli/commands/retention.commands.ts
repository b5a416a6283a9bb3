// Retention trigger events from the command line: a records manager records the date of the event
// that starts a series' period (employment ended, contract ended…) for a collection or documents,
// clears one recorded in error, or lists those that reach a collection or a document, as a named person
// (their permissions apply) through the same service as REST and the web pages. A change that brings due dates earlier is refused until re-run with
// --confirm-shorter, as the API's confirmShorter.
import type { Command } from 'commander';
import { DomainError } from '../../domain/errors.js';
import { SHORTENED } from '../../services/retention-due-dates.js';
import { actingAs } from '../acting-as.js';
import { list, output, say, table, withVault } from '../context.js';

/** The service's refusal for bringing due dates earlier, told as what to type next; any other error as it is. */
function shorteningRefusal(error: unknown, doing: string, nothing: string): unknown {
  if (!(error instanceof DomainError) || error.details?.reason !== SHORTENED) return error;
  const earlier = Number(error.details.earlier);
  return new Error(`${doing} would bring the due date of ${earlier} document${earlier === 1 ? '' : 's'} earlier, the earliest to ${String(error.details.earliest)}. `
    + `${nothing} Check the date, then re-run with --confirm-shorter to go ahead.`);
}

export function registerRetentionCommands(program: Command): void {
  const retention = program.command('retention').description('retention: when records fall due');
  const event = retention.command('event').description('trigger events: the date a series\' period counts from (employment ended, contract ended…)');

  event
    .command('record')
    .description('record a trigger event for a collection (reaching everything in and below it, documents filed later included, until '
      + 'cleared) or for documents; prints the id of each event recorded, one a line')
    .requiredOption('--kind <event>', 'the trigger of the series that applies, e.g. employment_end (see strongroom series list)')
    .requiredOption('--date <YYYY-MM-DD>', 'when it happened (not in the future)')
    .option('--collection <id>', 'the collection the event is for')
    .option('--documents <ids>', 'comma-separated ids of the documents the event is for (at most 1000)')
    .option('--confirm-shorter', 'confirm an event that brings due dates earlier (otherwise refused)')
    .requiredOption('--as <email>', 'the records manager recording it (their permissions apply)')
    .addHelpText('after', '\nExample: strongroom retention event record --kind employment_end --date 2026-09-30 --collection 3f1c… --as records.manager@council.gov.uk')
    .action(async (opts: { kind: string; date: string; collection?: string; documents?: string; confirmShorter?: boolean; as: string }, command: Command) => {
      if ((opts.collection === undefined) === (opts.documents === undefined)) throw new Error('Give either --collection or --documents: the collection or the documents the event is for.');
      const recorded = await withVault(command, async (vault) => vault.retentionEvents.recordEvent(await actingAs(vault, opts.as, 'records.event.record'), {
        kind: opts.kind, date: opts.date, ...(opts.collection !== undefined ? { collectionId: opts.collection } : { documentIds: list(opts.documents!) }),
      }, { confirmShorter: opts.confirmShorter === true }).catch((error: unknown) => {
        throw shorteningRefusal(error, 'Recording this event', 'Nothing was recorded.');
      }));
      say(`Recorded ${opts.kind} on ${opts.date} for ${opts.collection !== undefined ? `collection ${opts.collection}` : `${recorded.length} document(s)`}.`);
      for (const e of recorded) output(e.id);
    });

  event
    .command('list')
    .description('list the trigger events that reach a collection or a document: its own and those recorded for the collections above it, '
      + 'nearest first; "in force" marks the one the due date counts from')
    .option('--collection <id>', 'the collection')
    .option('--document <id>', 'the document')
    .requiredOption('--as <email>', 'the records manager, auditor or DPO asking (their permissions apply)')
    .option('--json', 'print a JSON array instead of a table')
    .addHelpText('after', '\nColumns: id, kind, date, recorded for (collection or document id), inherited or own, in force, recorded by, recorded at.'
      + '\nExample: strongroom retention event list --document 3f1c… --as records.manager@council.gov.uk')
    .action(async (opts: { collection?: string; document?: string; as: string; json?: boolean }, command: Command) => {
      if ((opts.collection === undefined) === (opts.document === undefined)) throw new Error('Give either --collection or --document: the collection or the document whose events to list.');
      const { events } = await withVault(command, async (vault) => vault.retentionEvents.listEvents(await actingAs(vault, opts.as, 'records.event.list'),
        opts.collection !== undefined ? { collectionId: opts.collection } : { documentId: opts.document! }));
      if (opts.json) {
        output(JSON.stringify(events, null, 2));
        return;
      }
      if (events.length === 0) {
        say(`No retention events reach this ${opts.collection !== undefined ? 'collection' : 'document'}.`);
        return;
      }
      const rows = events.map((e) => [e.id, e.kind, e.date, e.documentId !== null ? `document ${e.documentId}` : `collection ${e.collectionId}`,
        e.inherited ? 'inherited' : 'own', e.inForce ? 'yes' : 'no', e.recordedByEmail ?? (e.recordedBy === null ? 'system' : e.recordedBy), e.recordedAt]);
      for (const line of table([['id', 'kind', 'date', 'recorded for', 'reach', 'in force', 'recorded by', 'recorded at'], ...rows])) output(line);
    });

  event
    .command('clear')
    .description('clear a recorded event: what it reached awaits its event again, or falls back to another recorded one')
    .argument('<id>', 'the event (as `record` printed it)')
    .option('--confirm-shorter', 'confirm a clearing that brings due dates earlier (otherwise refused)')
    .requiredOption('--as <email>', 'the records manager clearing it (their permissions apply)')
    .action(async (id: string, opts: { confirmShorter?: boolean; as: string }, command: Command) => {
      const cleared = await withVault(command, async (vault) => vault.retentionEvents.clearEvent(await actingAs(vault, opts.as, 'records.event.clear'), id, {
        confirmShorter: opts.confirmShorter === true,
      }).catch((error: unknown) => {
        throw shorteningRefusal(error, 'Clearing this event', 'Nothing was cleared.');
      }));
      say(`Cleared the ${cleared.kind} event of ${cleared.date}.`);
    });
}
