// `strongroom import`: pour a folder tree (a council's file share) into a collection, concurrently,
// resumably and watchably. Every file goes through the same scanning, file-type policy, encryption
// and audit as any other upload, either straight into a data directory (--as EMAIL) or through a
// running server's REST API (--server URL --token T). The run itself is src/cli/import/run.ts.
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { formatBytes } from '../../services/ingest.js';
import { actingAs } from '../acting-as.js';
import { EX_TEMPFAIL, failure, refusedForAMoment, say, withVault } from '../context.js';
import { DirectTarget } from '../import/direct-target.js';
import { Progress, emptyTally, filesDone, type Tally } from '../import/progress.js';
import { ReportWriter } from '../import/report.js';
import { runImport } from '../import/run.js';
import { ServerTarget } from '../import/server-target.js';
import { ImportFatal, type ImportTarget } from '../import/target.js';
import { countSources } from '../import/walk.js';

/** Exit codes, as --help and docs/operations.md state them. */
export const IMPORT_EXIT = { allIn: 0, someNotIn: 1, usageOrFatal: 2, databaseUnavailable: EX_TEMPFAIL } as const;
const MAX_JOBS = 64;

interface ImportFlags {
  collection: string;
  as?: string;
  server?: string;
  token?: string;
  jobs: string;
  dryRun?: boolean;
  report?: string;
}

class UsageError extends Error {}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('import files and folder trees (folders become sub-collections) into a collection, as a user (--as) or through a running server (--server, --token). '
      + 'Resumable: a re-run skips files already there (same name and SHA-256) and brings a changed file in as a new version of its document')
    .argument('<paths...>', 'files or folders to import; a folder\'s contents go into the collection itself')
    .requiredOption('--collection <id>', 'destination collection id')
    .option('--as <email>', 'import straight into the data directory (--data) as this user (their permissions apply)')
    .option('--server <url>', 'import through a running server\'s REST API instead, e.g. https://vault.example.gov.uk (plain http:// only to this machine)')
    .option('--token <token>', 'the API token for --server (or env STRONGROOM_TOKEN, which keeps it out of the process list)')
    .option('--jobs <n>', `files sent at once, 1–${MAX_JOBS} (the server admits STRONGROOM_UPLOADS_PER_ACCOUNT, default 4, per user)`, '4')
    .option('--dry-run', 'walk and hash, and say what would happen; write nothing, and claim no blob store (the vault\'s name, file-type and malware checks only run on a real import)')
    .option('--report <file>', 'write a CSV row per file: path, outcome (imported, skipped, refused, held, failed), document id, version, detail (outside the folders being imported)')
    .addHelpText('after', [
      '',
      'Symbolic links are not followed (reported as refused); unreadable files are reported as failed. Each file\'s modification',
      'time is kept as the version\'s sourceModifiedAt. Progress goes to standard error: a bar on a terminal, a line every 5 s otherwise.',
      'Exit status: 0 when every file went in or was already there; 1 when any was refused, held for review or failed',
      '(see the report); 75 (EX_TEMPFAIL) when it stopped because the database refused for a moment (busy with another',
      'process, or restarting); 2 for a usage error or when the import had to stop otherwise. Either way, re-run the same',
      'command to resume.',
    ].join('\n'))
    .exitOverride((error) => {
      // Commander's own usage errors (a missing --collection, an unknown flag) exit 2 like ours; --help exits 0.
      process.exit(error.exitCode === 0 ? 0 : IMPORT_EXIT.usageOrFatal);
    })
    .action(async (paths: string[], opts: ImportFlags, command: Command) => {
      process.exitCode = await importCommand(paths, opts, command);
    });
}

/** A plain http:// address of another machine (a malformed one is ServerTarget's to explain). */
function sendsTokenInClear(server: string): boolean {
  try {
    const url = new URL(server);
    return url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

async function importCommand(paths: string[], opts: ImportFlags, command: Command): Promise<number> {
  let report: ReportWriter | null = null;
  const tally = emptyTally();
  const started = Date.now();
  try {
    const jobs = jobsFrom(opts.jobs);
    const token = opts.token ?? process.env.STRONGROOM_TOKEN;
    if (opts.as !== undefined && opts.server !== undefined) throw new UsageError('Give either --as EMAIL (a data directory) or --server URL (a running server), not both.');
    if (opts.as === undefined && opts.server === undefined) throw new UsageError('Say where to import: --as EMAIL (into the data directory) or --server URL --token T (through a running server).');
    if (opts.server !== undefined && !token) throw new UsageError('--server needs an API token: --token T or env STRONGROOM_TOKEN ("strongroom token create --user EMAIL" makes one).');
    // The token is a person's whole access: it crosses the network only encrypted (as OIDC issuers must, provider-input.ts).
    if (opts.server !== undefined && sendsTokenInClear(opts.server)) {
      throw new UsageError(`--server ${opts.server} would send the API token across the network unencrypted: use https://, or plain http:// only to this machine (127.0.0.1, localhost or [::1]).`);
    }
    const among = opts.report ? await reportAmongSources(opts.report, paths) : null;
    if (among !== null) {
      throw new UsageError(`--report ${opts.report} is ${among.file ? 'a file being imported, which writing the report would overwrite' : `inside ${among.source}, a folder being imported, so the report would be imported with it`}: write it elsewhere. Nothing was written.`);
    }
    if (opts.report) report = await ReportWriter.open(opts.report).catch((error: unknown) => {
      throw new UsageError(`Cannot write the report ${opts.report}: ${failure(error)}`);
    });
    const run = async (target: ImportTarget) => {
      try {
        // A wrong collection or token is said at once, before minutes of counting a large share.
        await target.open(opts.collection);
        const total = await countSources(paths);
        const progress = new Progress(tally, { stream: process.stderr, tty: process.stderr.isTTY === true, total });
        progress.start();
        try {
          await runImport(target, { sources: paths, collectionId: opts.collection, jobs, dryRun: opts.dryRun === true, report, progress, tally });
        } finally {
          progress.stop();
        }
      } finally {
        await target.close();
      }
    };
    if (opts.server !== undefined) {
      await run(new ServerTarget(opts.server, token!, jobs));
    } else {
      const email = opts.as!;
      await withVault(command, async (vault) => {
        await run(new DirectTarget(vault, await actingAs(vault, email, 'document.create'), email));
      }, opts.dryRun ? { dryRun: true } : { startClamd: 'unless-running' });
    }
    say(summary(tally, opts.dryRun === true, Date.now() - started));
    return tally.refused + tally.held + tally.failed > 0 ? IMPORT_EXIT.someNotIn : IMPORT_EXIT.allIn;
  } catch (error) {
    if (error instanceof UsageError) {
      say(`strongroom import: ${error.message}`);
      return IMPORT_EXIT.usageOrFatal;
    }
    // The database refusing for a moment (met by a file's upload, or before the first): 75, like any other command.
    const momentary = (error instanceof ImportFatal && error.databaseUnavailable) || refusedForAMoment(error);
    if (filesDone(tally) > 0) say(summary(tally, opts.dryRun === true, Date.now() - started));
    const resumes = error instanceof ImportFatal || momentary || filesDone(tally) > 0;
    const said = failure(error);
    say(`strongroom import stopped: ${said}${resumes ? `${/[.!?]$/.test(said) ? '' : '.'} Run the same command again to resume.` : ''}`);
    return momentary ? IMPORT_EXIT.databaseUnavailable : IMPORT_EXIT.usageOrFatal;
  } finally {
    await report?.close();
  }
}

/**
 * The source a report file would land in or on, as both are on disk (links resolved), or null. Written inside
 * a folder being imported, the report would be imported with it, half written, and again as a new version on
 * every run; naming a file being imported, opening it would wipe the file before it was read.
 */
async function reportAmongSources(report: string, sources: string[]): Promise<{ source: string; file: boolean } | null> {
  const resolved = async (file: string) => realpath(path.dirname(path.resolve(file))).then((dir) => path.join(dir, path.basename(file)), () => null);
  const where = await resolved(report);
  // A report whose folder does not exist: opening it says so.
  if (where === null) return null;
  for (const source of sources) {
    const info = await lstat(source).catch(() => null);
    if (info === null) continue;
    if (info.isDirectory()) {
      const folder = await realpath(source).catch(() => null);
      if (folder !== null && `${where}${path.sep}`.startsWith(`${folder}${path.sep}`)) return { source, file: (await lstat(where).catch(() => null))?.isFile() === true };
    } else if ((await resolved(source)) === where) {
      return { source, file: true };
    }
  }
  return null;
}

function jobsFrom(raw: string): number {
  const jobs = Number(raw);
  if (!/^\d+$/.test(raw) || jobs < 1 || jobs > MAX_JOBS) throw new UsageError(`--jobs must be a whole number from 1 to ${MAX_JOBS}, not "${raw}".`);
  return jobs;
}

function summary(t: Tally, dryRun: boolean, ms: number): string {
  const seconds = Math.max(ms / 1000, 0.001);
  const rate = `${formatBytes(t.bytes)} read in ${seconds.toFixed(1)} s (${(filesDone(t) / seconds).toFixed(1)} files/s)`;
  if (dryRun) return `Dry run: would import ${t.imported} file(s); ${t.skipped} already there; ${t.refused} refused; ${t.held} held for review; ${t.failed} failed. Nothing was written. ${rate}.`;
  return `Imported ${t.imported} file(s); ${t.refused} refused; ${t.skipped} skipped (already there); ${t.held} held for review; ${t.failed} failed. ${rate}.`;
}
