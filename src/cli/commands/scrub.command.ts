// `strongroom scrub`: checks both stored copies of document versions now (the worker also runs a
// sample daily), heals a bad copy from the good one, and reports what it found. Exit status 2 when
// some version has no good copy left (restore it from a backup); the details are in the audit log.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { output, say, withVault } from '../context.js';

const wholeNumber = (value: string): number => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return Number(value);
};

const megabytesPerSecond = (value: string): number => {
  const rate = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(rate > 0)) throw new InvalidArgumentError('expected a rate in MB/s greater than 0, e.g. 50.');
  return rate;
};

export function registerScrubCommand(program: Command): void {
  program
    .command('scrub')
    .description(
      'read both copies (primary and offsite replica) of document versions at a bounded rate, check every chunk\'s tag and the '
      + 'SHA-256 of the content, and replace a damaged or missing copy from the good one; each finding and repair is an audit event. '
      + 'Destroyed versions (keys erased) are not checked. Prints a JSON summary; exits 2 when a version has no good copy left.',
    )
    .addOption(new Option('--sample <n>', 'check a random sample of this many versions (default 100)').argParser(wholeNumber).conflicts('all'))
    .addOption(new Option('--all', 'check every live version'))
    .option('--rate <MB/s>', 'read at most this many megabytes a second (1 MB = 1,000,000 bytes), across both copies', megabytesPerSecond, 20)
    .action(async (opts: { sample?: number; all?: boolean; rate: number }, command: Command) => {
      const report = await withVault(command, (vault) => vault.scrub.run({
        bytesPerSecond: Math.max(1, Math.round(opts.rate * 1_000_000)),
        ...(opts.all ? { all: true } : { sample: opts.sample ?? 100 }),
      }));
      output(JSON.stringify(report));
      say(`Checked ${report.checked} version(s): ${report.findings} bad or missing copies found, ${report.repairs} repaired, ${report.unrecoverable} with no good copy left, ${report.skipped} skipped (storage not reachable).`);
      if (report.awaitingReplica > 0) say(`${report.awaitingReplica} of them not in the offsite replica yet, their copy still queued: only their primary copy was checked.`);
      if (report.unrecoverable > 0) {
        say('Some versions have no good copy left: see "storage.scrub.finding" in the audit log and restore them from a backup.');
        process.exitCode = 2;
      }
    });
}
