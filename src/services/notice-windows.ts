// Security notices counted per person in windows (domain/mail/notice-limits.ts), so that a burst of changes (an
// admin's script, a directory resync) sends its first notices one by one and the rest in one summary, instead of
// hundreds of mails that bury the one that matters. The state is in the database (account_notices), decided with
// the person's row locked, so every worker of every node counts the same windows.
import type { JobCompletion } from '../domain/jobs/repositories.js';
import { FINISHED_JOBS_KEPT_DAYS, sendAccountNoticeSummaryJob, type AccountNoticeSummaryPayload } from '../domain/jobs/kinds.js';
import type { AccountChangeMessage } from '../domain/mail/message.js';
import { NOTICES_PER_SUMMARY, noticeFate, type NoticeLimits } from '../domain/mail/notice-limits.js';
import type { Repos, Store } from '../domain/repositories.js';

/** The send-email job carrying a notice, as its handler is given it. */
export interface NoticeJob {
  jobId: number;
  complete: JobCompletion;
}

export class NoticeWindows {
  constructor(private readonly o: { store: Store; limits: NoticeLimits }) {}

  /**
   * Whether the notice `job` carries is held for its window's summary rather than sent now. Decided once per job
   * (a retry after a failed send finds its fate recorded and sends again). A held notice is recorded with the
   * address it was queued with, its summary job queued (one per window and address) and the send-email job
   * completed, all in one transaction: it is in the summary or still in its own job, never in neither.
   */
  async holds(userId: string, message: AccountChangeMessage, job: NoticeJob, now: Date): Promise<boolean> {
    return this.o.store.transaction(async (repos) => {
      // One decision at a time per person, on every node (SQLite has one writer anyway): two workers sending two of
      // their notices at once must not both see room for one more, and two running one job (its lease ran out)
      // must not both decide it: the second waits here, then finds the first's decision.
      await repos.users.lock(userId);
      const decided = await repos.mail.noticeFate(job.jobId);
      if (decided) return decided.held;
      const fate = noticeFate(this.o.limits, now, await repos.mail.latestNoticeWindow(userId), message.change);
      if (!fate.held) {
        await repos.mail.forgetNoticeWindows(fate.windowOpenedAt, userId);
        await repos.mail.recordNotice({ jobId: job.jobId, userId, windowOpenedAt: fate.windowOpenedAt, held: false });
        return false;
      }
      await repos.mail.recordNotice({ jobId: job.jobId, userId, windowOpenedAt: fate.windowOpenedAt, held: true, address: message.address, message });
      await repos.jobs.enqueue(sendAccountNoticeSummaryJob, { userId, windowOpenedAt: fate.windowOpenedAt, address: message.address }, { now, runAt: new Date(fate.summaryAt), organisationId: await organisationOf(repos, userId) });
      await job.complete(repos);
      return true;
    });
  }

  /**
   * Forgets the notices of windows opened more than FINISHED_JOBS_KEPT_DAYS before `now`, sent or summarised, with
   * the finished jobs (the daily prune-finished-jobs): a held notice keeps the network it came from and any new
   * address, personal data kept no longer than the send-email job that carried it, whether or not the person's next
   * window ever opens (which forgets their earlier ones too). A held notice not yet summarised stays for its summary.
   */
  async forgetFinished(now: Date): Promise<void> {
    await this.o.store.repos.mail.forgetNoticeWindows(new Date(now.getTime() - FINISHED_JOBS_KEPT_DAYS * 86_400_000).toISOString());
  }

  /** The held notices a summary is made of (none once it was sent): the oldest NOTICES_PER_SUMMARY, the rest in the next. */
  async held(summary: AccountNoticeSummaryPayload): Promise<{ jobId: number; message: AccountChangeMessage }[]> {
    return this.o.store.repos.mail.heldNotices(summary.userId, summary.windowOpenedAt, summary.address, NOTICES_PER_SUMMARY);
  }

  /**
   * Records the summary of `jobIds` sent, and completes its job. A notice held after its notices were read (its
   * transaction found this job running, so queued none) gets a summary of its own, due now: with the person's row
   * locked here as where notices are held, one of the two always sees the other. So do those past the
   * NOTICES_PER_SUMMARY this one listed.
   */
  async summarised(summary: AccountNoticeSummaryPayload, jobIds: readonly number[], complete: JobCompletion, now: Date): Promise<void> {
    await this.o.store.transaction(async (repos) => {
      await repos.users.lock(summary.userId);
      await repos.mail.noticesSummarised(jobIds, now.toISOString());
      await complete(repos);
      const late = await repos.mail.heldNotices(summary.userId, summary.windowOpenedAt, summary.address, 1);
      if (late.length > 0) await repos.jobs.enqueue(sendAccountNoticeSummaryJob, summary, { now, organisationId: await organisationOf(repos, summary.userId) });
    });
  }
}

/** The person's organisation, whose work their summary is (null once they are gone: the vault's own). */
async function organisationOf(repos: Repos, userId: string): Promise<string | null> {
  return (await repos.users.byId(userId))?.organisationId ?? null;
}
