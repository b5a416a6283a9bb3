// Backup, restore and the restore drill (docs/operations.md "Backup and restore").
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { pino } from 'pino';
import type { SignedDrillReport } from '../../backup-restore-drill.js';
import type { Vault } from '../../main.js';
import { configFrom, output, say, withVault } from '../context.js';

const logger = () => pino({ level: process.env.STRONGROOM_LOG_LEVEL ?? 'warn' }, pino.destination(2));

// Each action loads its backup module when it runs: they bring the AWS SDK and the PostgreSQL driver,
// and every other command (`serve` above all) would otherwise carry them in memory for nothing.
const newestBackup = async (...args: Parameters<typeof import('../../backup-schedule.js').newestBackup>) =>
  (await import('../../backup-schedule.js')).newestBackup(...args);

export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('write a consistent, encrypted, signed backup of the database and the audit key (not the master key, not the blobs: those are on the replica)')
    .requiredOption('--out <where>', 'a new, empty folder, or s3://bucket/prefix?endpoint=…')
    .action(async (opts: { out: string }, command: Command) => {
      const { takeBackup } = await import('../../backup.js');
      const manifest = await withVault(command, (vault) => takeBackup(vault as Vault, opts.out));
      say(`Backup ${manifest.id} written to ${opts.out}: ${Object.values(manifest.tables).reduce((a, b) => a + b, 0)} rows, ${manifest.blobs.referenced} blobs referenced (${manifest.blobs.shredded} shredded), audit log of ${manifest.audit.treeSize} events.`);
      output(manifest.id);
    });

  program
    .command('restore')
    .description('restore a backup into an EMPTY data directory (and, with --database-url, an EMPTY PostgreSQL database), copying blobs from the replica; needs the master key (STRONGROOM_MASTER_KEY or keys/master.key in the new data directory)')
    .option('--from <where>', 'the backup folder or s3:// prefix (default: the newest complete scheduled backup in STRONGROOM_REPLICA\'s backups/)')
    .option('--blobs-from <replica>', 'where to copy the blobs from: the replica folder or s3:// URL (default: STRONGROOM_REPLICA); a backup from before vault ids takes the vault id on its marker only if it holds blobs the backup names')
    .option('--key <pubkey>', 'the audit public key the backup must be signed with (else the key inside the backup)')
    .action(async (opts: { from?: string; blobsFrom?: string; key?: string }, command: Command) => {
      const key = opts.key === undefined ? undefined : opts.key.includes('+') ? opts.key.trim() : (await readFile(opts.key, 'utf8')).trim();
      const config = configFrom(command);
      const from = opts.from ?? (await newestBackup(config, key));
      if (opts.from === undefined) say(`Restoring the newest backup in the replica: ${from}`);
      const { restoreBackup } = await import('../../backup-restore.js');
      const result = await restoreBackup(config, { from, logger: logger(), ...(opts.blobsFrom ? { blobsFrom: opts.blobsFrom } : {}), ...(key ? { key } : {}) });
      say(`Restored backup ${result.manifest.id} (made ${result.manifest.createdAt}): ${result.copied} blobs copied, ${result.shredded} shredded (disposed), ${result.missing.length} missing, ${result.damaged.length} damaged in the replica (not copied).`);
      for (const m of result.missing) say(`  missing: document ${m.documentId} version ${m.versionId} (blob ${m.blobId})`);
      for (const d of result.damaged) say(`  damaged: document ${d.documentId} version ${d.versionId} (blob ${d.blobId}): ${d.problem}`);
      if (result.missing.length + result.damaged.length > 0) say('Those versions cannot be read until their blob is put back from another copy (docs/operations.md "Backup and restore"). A scrub of each is queued: when the vault next starts they are marked unrecoverable and their organisations\' security admins are told.');
      say('Now run "strongroom audit verify": it compares the restored log with the offsite checkpoints.');
      if (result.missing.length + result.damaged.length > 0) process.exitCode = 2;
      output(result.manifest.id);
    });

  const drill = program
    .command('restore-drill')
    .description('restore a backup into a scratch area, read a random sample of documents from the replica and check every byte, verify the restored audit log against the offsite checkpoints, and write a signed report (also an audit event)')
    .option('--sample <n>', 'how many documents to read back', '20')
    // Not requiredOption: commander would then demand them of `restore-drill check` too.
    .option('--from <backup>', 'the backup folder or s3:// prefix (default: the newest complete scheduled backup in STRONGROOM_REPLICA\'s backups/)')
    .option('--replica <where>', 'the replica to read from (folder or s3:// URL); default: STRONGROOM_REPLICA (the primary blob store when it is none)')
    .option('--report <file>', 'where to write the signed report (JSON) (required)')
    .action(async (opts: { sample: string; from?: string; replica?: string; report?: string }, command: Command) => {
      if (!opts.report) throw new Error('restore-drill needs --report FILE.');
      const sample = Number(opts.sample);
      if (!Number.isInteger(sample) || sample < 1) throw new Error('--sample must be a whole number of documents, 1 or more.');
      const from = opts.from ?? (await newestBackup(configFrom(command)));
      if (opts.from === undefined) say(`Drilling the newest backup in the replica: ${from}`);
      const { restoreDrill } = await import('../../backup-restore-drill.js');
      const signed = await withVault(command, (vault) => restoreDrill(vault as Vault, { from, sample, logger: logger(), ...(opts.replica ? { replica: opts.replica } : {}) }));
      await writeFile(opts.report, `${JSON.stringify(signed, null, 1)}\n`, { mode: 0o644 });
      const { totals, audit } = signed.report;
      say(`Restore drill of backup ${signed.report.backup.id}: ${totals.ok} documents byte-identical, ${totals.shredded} shredded, ${totals.missing} missing, ${totals.corrupt} corrupt; audit log ${audit.ok ? `verified (${audit.treeSize} events)` : `FAILED: ${audit.problem}`}. Report: ${opts.report}`);
      if (!signed.report.passed) process.exitCode = 1;
      output(opts.report);
    });

  drill
    .command('check')
    .description('verify a restore-drill report offline with the audit public key; fails if any byte was edited')
    .argument('<report>', 'the report file')
    .requiredOption('--key <pubkey>', 'the audit public key, or a file holding it')
    .action(async (file: string, opts: { key: string }) => {
      const key = opts.key.includes('+') ? opts.key.trim() : (await readFile(opts.key, 'utf8')).trim();
      let parsed: SignedDrillReport;
      try {
        parsed = JSON.parse(await readFile(file, 'utf8')) as SignedDrillReport;
      } catch {
        say(`${file} is not a readable restore-drill report (invalid JSON).`);
        process.exitCode = 1;
        return;
      }
      const { checkDrillReport } = await import('../../backup-restore-drill.js');
      try {
        const report = checkDrillReport(parsed, key);
        say(`Report verified: drill of ${report.when} on backup ${report.backup.id}, ${report.sampleSize} documents, ${report.passed ? 'PASSED' : 'FAILED'}.`);
        output(report.passed ? 'passed' : 'failed');
      } catch (error) {
        say(`Report FAILED verification: ${error instanceof Error ? error.message : String(error)}`);
        process.exitCode = 1;
      }
    });
}
