// Audit commands: verify the whole log, export an organisation's proofs, and check an export or a
// certificate of destruction offline.
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { checkBundle } from '../../domain/audit/bundle.js';
import { openCheckpoint } from '../../domain/audit/signed-note.js';
import { CERTIFICATE_FORMAT, checkCertificate, describeCheck } from '../../domain/records/certificate.js';
import { systemActor } from '../../services/identity.service.js';
import { output, say, withVault } from '../context.js';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  audit
    .command('verify')
    .description('recompute the Merkle tree from every stored event and check every signed checkpoint, stored and offsite, against it')
    .action(async (_opts, command: Command) => {
      const result = await withVault(command, async (vault) => {
        await vault.audit.sequencer.integrate();
        return vault.audit.verification.verify(systemActor());
      });
      if (!result.ok) {
        say(`Audit log FAILED verification at sequence number ${result.firstBadSeq}: ${result.problem}`);
        process.exitCode = 1;
        return;
      }
      say(`Audit log verified: ${result.treeSize} events, ${result.checkpoints} signed checkpoints; ${result.offsite === 'absent' ? 'no offsite copies found' : `all ${result.offsiteCheckpoints} offsite copies consistent`}.`);
      if (result.unsignedEvents > 0) say(`${result.unsignedEvents} newest events are not yet covered by a checkpoint.`);
    });

  audit
    .command('baseline-people')
    .description("record the state of everyone last changed before people's roles, teams, clearance and disabled flag were bound, so verify checks them too (once, after upgrading and a passing verify)")
    .action(async (_opts, command: Command) => {
      const recorded = await withVault(command, (vault) => vault.audit.verification.baselinePeople(systemActor()));
      say(recorded === 0 ? 'Everyone\'s state is already recorded: nothing to do.' : `Recorded the state of ${recorded} ${recorded === 1 ? 'person' : 'people'} as it stands: from now on \`audit verify\` names any of them changed in the database directly.`);
      output(String(recorded));
    });

  audit
    .command('export')
    .description("write an organisation's events with inclusion proofs and the signed checkpoints to a file")
    .requiredOption('--org <slug>', 'organisation slug')
    .requiredOption('--out <file>', 'where to write the bundle (JSON)')
    .option('--since-size <n>', 'also prove consistency from this earlier tree size (an auditor\'s saved checkpoint)')
    .action(async (opts: { org: string; out: string; sinceSize?: string }, command: Command) => {
      const bundle = await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        return vault.audit.proofs.exportOrganisation(systemActor(), org.id, opts.sinceSize ? { sinceSize: Number(opts.sinceSize) } : {});
      });
      await writeFile(opts.out, `${JSON.stringify(bundle, null, 1)}\n`, { mode: 0o600 });
      say(`Wrote ${bundle.events.length} events to ${opts.out}.`);
      output(opts.out);
    });

  audit
    .command('check')
    .description('verify an exported bundle, or a certificate of destruction, offline: needs only the file and the public key (no data directory)')
    .argument('<file>', 'the exported bundle, or a certificate of destruction (JSON, from GET /api/v1/disposal/batches/{id}/certificate)')
    .requiredOption('--key <pubkey>', 'the audit public key, or a file holding it (from /.well-known/strongroom-audit-key)')
    .option('--since <checkpoint>', 'a checkpoint file you saved earlier: prove the log only grew since')
    .action(async (file: string, opts: { key: string; since?: string }) => {
      const key = opts.key.includes('+') ? opts.key.trim() : (await readFile(opts.key, 'utf8')).trim();
      let bundle: unknown;
      try {
        bundle = JSON.parse(await readFile(file, 'utf8'));
      } catch {
        say(`${file} is not a readable audit bundle or certificate (invalid JSON).`);
        process.exitCode = 1;
        return;
      }
      // A certificate of destruction says so by its format; everything else is checked as a bundle.
      if ((bundle as { format?: unknown } | null)?.format === CERTIFICATE_FORMAT) {
        const result = checkCertificate(bundle, key);
        say(describeCheck(result));
        if (!result.ok) {
          process.exitCode = 1;
          return;
        }
        output(`${result.id} ${result.bodySha256}`);
        return;
      }
      const since = opts.since ? await readFile(opts.since, 'utf8') : undefined;
      const result = checkBundle(bundle, key, since ? { since } : {});
      if (!result.ok) {
        say(`Bundle FAILED: ${result.problem}${result.seq !== undefined ? ` (sequence number ${result.seq})` : ''}`);
        process.exitCode = 1;
        return;
      }
      const head = openCheckpoint((bundle as { checkpoint: string }).checkpoint, key);
      say(`Bundle verified: ${result.events} events proven in a log of ${result.treeSize} (root ${result.rootHash}); ${result.checkpointsChecked} earlier checkpoints consistent.${since ? ' The log grew from your saved checkpoint without rewriting it.' : ''}`);
      output(`${head.origin} ${head.treeSize}`);
    });
}
