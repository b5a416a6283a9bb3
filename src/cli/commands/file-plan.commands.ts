// Moving and copying in the file plan from the command line, as a named person (their permissions
// apply): the same service operations as REST, the web interface and WebDAV, so every derived fact
// (arrangement binding, service area, classification floor, file-type verdict) follows.
import type { Command } from 'commander';
import { actingAs } from '../acting-as.js';
import { output, say, withVault } from '../context.js';

export function registerFilePlanCommands(program: Command): void {
  // `collection add` is an administration command (admin.commands.ts); move joins it under the same word.
  const collection = program.commands.find((c) => c.name() === 'collection') ?? program.command('collection').description('the file plan');
  collection
    .command('move')
    .description('rename a collection and/or move it under another parent in its organisation; everything in it takes the new place\'s '
      + 'arrangement binding, service area and classification floor (leaving a joint workspace stops sharing it at once)')
    .argument('<id>', 'the collection to move')
    .option('--parent <id>', 'the new parent collection')
    .option('--top', 'move it to the top level of its organisation')
    .option('--name <name>', 'a new name')
    .option('--confirm-shorter', 'confirm a move that brings due dates earlier (records managers; otherwise refused)')
    .requiredOption('--as <email>', 'the person doing it (their permissions apply)')
    .addHelpText('after', '\nExample: strongroom collection move 3f1c… --parent 9a2b… --as records.manager@council.gov.uk')
    .action(async (id: string, opts: { parent?: string; top?: boolean; name?: string; confirmShorter?: boolean; as: string }, command: Command) => {
      if (opts.parent && opts.top) throw new Error('Give either --parent or --top, not both.');
      if (!opts.parent && !opts.top && opts.name === undefined) throw new Error('Nothing to do: give --parent, --top or --name.');
      const moved = await withVault(command, async (vault) => vault.collectionMoves.move(await actingAs(vault, opts.as, 'collection.move'), id, {
        ...(opts.name !== undefined ? { name: opts.name } : {}), ...(opts.top ? { parentId: null } : opts.parent ? { parentId: opts.parent } : {}),
        ...(opts.confirmShorter ? { confirmShorter: true } : {}),
      }));
      say(`Collection "${moved.name}" is now ${moved.parentId ? `under ${moved.parentId}` : 'at the top level'}${moved.arrangementId ? `, shared under arrangement ${moved.arrangementId}` : ', not shared'} (${moved.classification}).`);
      output(moved.id);
    });

  const document = program.command('document').description('documents');
  document
    .command('move')
    .description('rename a document and/or move it to another collection; prints its id (a new one when it moves to another organisation, '
      + 'which is a copy there and a deletion here, all or nothing)')
    .argument('<id>', 'the document to move')
    .option('--collection <id>', 'the destination collection')
    .option('--name <name>', 'a new name (checked against the file-type policy)')
    .option('--confirm-shorter', 'confirm a move that brings its due date earlier (records managers; otherwise refused)')
    .requiredOption('--as <email>', 'the person doing it (their permissions apply)')
    .action(async (id: string, opts: { collection?: string; name?: string; confirmShorter?: boolean; as: string }, command: Command) => {
      if (opts.collection === undefined && opts.name === undefined) throw new Error('Nothing to do: give --collection or --name.');
      const moved = await withVault(command, async (vault) => vault.filing.move(await actingAs(vault, opts.as, 'document.move'), id, {
        ...(opts.collection !== undefined ? { collectionId: opts.collection } : {}), ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.confirmShorter ? { confirmShorter: true } : {}),
      }), { startClamd: 'unless-running' });
      output(moved.id);
    });

  document
    .command('copy')
    .description('copy a document\'s current version into a collection (of any organisation you may add to); scanned and checked again; '
      + 'the copy records where it came from; prints the new id')
    .argument('<id>', 'the document to copy')
    .requiredOption('--collection <id>', 'the destination collection')
    .option('--name <name>', 'a name for the copy (default: the same name)')
    .requiredOption('--as <email>', 'the person doing it (their permissions apply)')
    .action(async (id: string, opts: { collection: string; name?: string; as: string }, command: Command) => {
      const copy = await withVault(command, async (vault) => vault.filing.copy(await actingAs(vault, opts.as, 'document.copy'), id, {
        collectionId: opts.collection, ...(opts.name !== undefined ? { name: opts.name } : {}),
      }), { startClamd: 'unless-running' });
      output(copy.id);
    });
}
