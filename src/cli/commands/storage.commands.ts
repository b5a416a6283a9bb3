// Storage commands for the operator: `storage sweep-orphans`, the garbage collection of blobs nothing
// names, by hand (the worker runs it daily). Prints a JSON summary on standard output and a sentence per
// store on standard error; exits 1 when a store could not be swept (nothing was deleted there).
import type { Command } from 'commander';
import type { StoreSweepReport } from '../../services/orphan-blobs.service.js';
import { systemActor } from '../../services/identity.service.js';
import { output, say, withVault } from '../context.js';

export function registerStorageCommands(program: Command): void {
  const storage = program.command('storage').description('the blob stores (primary and offsite replica)');

  storage
    .command('sweep-orphans')
    .description(
      'find blobs that nothing in the database names (an upload that never committed, a copy or restore cut off) in the primary store '
      + 'and the replica, record the new ones, and delete those a sweep first saw over a day ago and nothing names now; '
      + 'the blobs are audited as "storage.orphans-condemned" before they are deleted, and the deletes as "storage.orphans-removed". A store that cannot be listed, or that is not this vault\'s '
      + '(its strongroom-vault.json marker names another vault), is left alone. Prints a JSON summary.',
    )
    .option('--dry-run', 'report what would be recorded and deleted, and which store without a marker would be claimed; record, delete or claim nothing, and write nothing to any store')
    .option('--allow-mass-removal', 'delete the blobs due even when there are more than a sweep deletes on its own '
      + '(100, or 1 % of the store\'s blobs if more): only once you have checked that no other vault uses the store and no older backup was restored over newer files')
    .action(async (opts: { dryRun?: boolean; allowMassRemoval?: boolean }, command: Command) => {
      const dryRun = opts.dryRun === true;
      const report = await withVault(command, (vault) => vault.orphanBlobs.sweep({ dryRun, allowMassRemoval: opts.allowMassRemoval === true, actor: systemActor() }), { dryRun });
      output(JSON.stringify(report));
      for (const store of report.stores) say(describe(store, report.dryRun));
      if (report.stores.some((s) => s.error !== undefined)) process.exitCode = 1;
    });
}

function describe(s: StoreSweepReport, dryRun: boolean): string {
  if (s.heldBack > 0) return `The ${s.store} store: nothing was deleted. ${s.error ?? ''}.`;
  if (s.error !== undefined) return `The ${s.store} store was not swept (${s.error}): nothing there was recorded or deleted.`;
  const deleted = dryRun
    ? `${s.due} would be deleted (dry run: nothing changed)`
    : `${s.removed} deleted (${s.bytesRemoved} bytes)${s.failed > 0 ? `, ${s.failed} could not be deleted (tried again next time)` : ''}`;
  return `Swept the ${s.store} store: ${s.listed} blob(s), ${s.unreferenced} named by nothing (${s.newCandidates} seen for the first time, `
    + `${s.waiting} waiting out the grace period), ${s.nowReferenced} named again and kept, ${dryRun ? '' : `${s.gone} gone from the store and forgotten, `}${deleted}.`;
}
