// Bulk import of a folder tree into a collection: every file goes through the same scanning,
// file-type policy, encryption and audit as any other upload.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { DomainError } from '../../domain/errors.js';
import { actorFor } from '../../services/identity.service.js';
import { uploadOutcome } from '../../services/upload-outcome.js';
import { output, say, withVault } from '../context.js';

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('import files (a folder tree becomes sub-collections) as a user; infected or blocked files are reported and skipped, files held for a security review are reported as held')
    .argument('<paths...>', 'files or folders to import')
    .requiredOption('--collection <id>', 'destination collection id')
    .requiredOption('--as <email>', 'the user the import is done as (their permissions apply)')
    .action(async (paths: string[], opts: { collection: string; as: string }, command: Command) => {
      const counts = await withVault(command, async (vault) => {
        const user = await vault.identity.userByEmail(opts.as);
        const actor = actorFor(user, { channel: 'cli', clientAddress: null, requestId: null });
        const result = { imported: 0, refused: 0 };
        const importFile = async (file: string, collectionId: string) => {
          const name = path.basename(file);
          try {
            const size = (await stat(file)).size;
            const uploaded = await vault.documents.upload(actor, collectionId, { name, body: createReadStream(file), declaredSize: size });
            const outcome = uploadOutcome(uploaded);
            switch (outcome.kind) {
              case 'infected':
                result.refused += 1;
                say(`✗ ${file}: malware (${outcome.signature}); quarantined`);
                break;
              case 'held_for_review':
                // Stored, but quarantined until a security admin reviews it: the person must know it is not usable yet.
                result.imported += 1;
                output(`${uploaded.document.id}\t${file}`);
                say(`! ${file}: held in quarantine for a security admin's review (${outcome.reason})`);
                break;
              case 'pending_scan':
              case 'available':
                result.imported += 1;
                output(`${uploaded.document.id}\t${file}`);
            }
          } catch (error) {
            result.refused += 1;
            say(`✗ ${file}: ${error instanceof DomainError ? error.message : String(error)}`);
          }
        };
        const walk = async (entry: string, collectionId: string): Promise<void> => {
          const info = await stat(entry);
          if (!info.isDirectory()) return importFile(entry, collectionId);
          // Read as the importing person (decide(), audited if refused), never past their reach.
          const listing = await vault.collections.get(actor, collectionId);
          const parent = listing.collection;
          const name = path.basename(path.resolve(entry));
          const existing = listing.children.find((c) => c.name === name);
          const child = existing ?? (await vault.collections.create(actor, { organisationId: parent.organisationId, parentId: parent.id, name, serviceArea: parent.serviceArea, classification: parent.classification }));
          for (const item of (await readdir(entry)).sort()) await walk(path.join(entry, item), child.id);
        };
        for (const p of paths) {
          const info = await stat(p);
          if (info.isDirectory()) for (const item of (await readdir(p)).sort()) await walk(path.join(p, item), opts.collection);
          else await importFile(p, opts.collection);
        }
        return result;
      }, { startClamd: 'unless-running' });
      say(`Imported ${counts.imported} file(s); ${counts.refused} refused.`);
      if (counts.refused > 0) process.exitCode = 1;
    });
}
