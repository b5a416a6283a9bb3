// Job commands for the operator: whose work waits in each lane, list the dead-lettered jobs (those that
// ran out of attempts) and put one back in the queue (audited as jobs.retry by the system actor, channel cli). They read the
// database, so they show the whole cluster's queue whichever machine runs them.
import { InvalidArgumentError, type Command } from 'commander';
import { systemActor } from '../../services/identity.service.js';
import { output, say, withVault } from '../context.js';

const wholeNumber = (value: string): number => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return Number(value);
};

export function registerJobsCommands(program: Command): void {
  const jobs = program.command('jobs').description('background jobs: see whose work waits, see the dead-lettered ones and retry them');

  jobs
    .command('waiting')
    .description('live jobs by lane and by whose work they are (organisations take turns within a lane): lane, organisation (- for the vault\'s own), waiting, queued for later, running, the longest wait\'s due time, the waiting jobs\' weight (the turns they take)')
    .option('--json', 'print a JSON array instead of tab-separated lines')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const waiting = await withVault(command, (vault) => vault.jobs.waiting(systemActor()));
      if (opts.json) {
        output(JSON.stringify(waiting, null, 2));
        return;
      }
      for (const w of waiting) output([w.lane, w.organisation ?? '-', w.waiting, w.later, w.running, w.oldestDueAt ?? '', w.waitingWeight].join('\t'));
      if (waiting.length === 0) say('No jobs waiting or running.');
    });

  jobs
    .command('failed')
    .description('list jobs that ran out of attempts, most recent first: id, kind, attempts, last error, finished at')
    .option('--limit <n>', 'at most this many', wholeNumber, 100)
    .option('--json', 'print a JSON array instead of tab-separated lines')
    .action(async (opts: { limit: number; json?: boolean }, command: Command) => {
      const failed = await withVault(command, (vault) => vault.jobs.failed(systemActor(), opts.limit));
      if (opts.json) {
        output(JSON.stringify(failed.map(({ id, kind, attempts, lastError, finishedAt }) => ({ id, kind, attempts, lastError, finishedAt })), null, 2));
        return;
      }
      for (const job of failed) {
        // One line per job: the error's own line breaks and tabs would split it.
        const error = (job.lastError ?? '').replace(/\s+/g, ' ').trim();
        output([job.id, job.kind, job.attempts, error, job.finishedAt ?? ''].join('\t'));
      }
      if (failed.length === 0) say('No failed jobs.');
    });

  jobs
    .command('retry')
    .description('put a failed job back in the queue with its attempts reset (audited); a running worker takes it')
    .argument('<id>', 'the job id, as "strongroom jobs failed" lists it', wholeNumber)
    .action(async (id: number, _opts, command: Command) => {
      await withVault(command, (vault) => vault.jobs.retry(systemActor(), id));
      say(`Job ${id} is queued again.`);
    });
}
