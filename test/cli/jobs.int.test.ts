// `strongroom jobs failed` and `jobs retry`: an operator sees a dead-lettered job and puts it back in
// the queue, audited; an id that is not a failed job is refused with exit 1 and a clear message.
// `strongroom jobs waiting`: whose work waits in each lane.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTextJob, pruneFinishedJobsJob, scanVersionJob } from '../../src/domain/jobs/kinds.js';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';
import { actorFor } from '../../src/services/identity.service.js';

const clamd = useClamd();

describe.each(DIALECTS)('jobs commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-jobs-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('lists a dead-lettered job, retries it with its attempts reset (audited), and refuses one that is not failed; a council admin may do neither', { timeout: 180_000 }, async () => {
    let v = await place.open();
    const jobs = v.vault.store.repos.jobs;
    const now = new Date();
    const later = new Date(now.getTime() + 60_000).toISOString();
    await jobs.enqueue(scanVersionJob, { versionId: 'v-dead' }, { now, bytes: 0, organisationId: null });
    await jobs.enqueue(scanVersionJob, { versionId: 'v-live' }, { now, bytes: 0, organisationId: null });
    const leased = await jobs.lease(scanVersionJob.lane, now.toISOString(), later, 10);
    const dead = leased.find((j) => (j.payload as { versionId: string }).versionId === 'v-dead')!;
    const live = leased.find((j) => (j.payload as { versionId: string }).versionId === 'v-live')!;
    const finishedAt = now.toISOString();
    expect(await jobs.fail(dead.id, dead.attempts, finishedAt, 'clamd: connection refused\n\tat scan')).toBe(true);
    // The queue is the operator's alone: no council role, not even an admin's, lists or retries it; refusals are audited.
    const org = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const admin = await org.user({ roles: ['org_admin', 'security_admin'] });
    const adminActor = actorFor((await v.vault.identity.userById(admin.id))!, { channel: 'api', clientAddress: null, requestId: null });
    await expect(v.vault.jobs.failed(adminActor)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(v.vault.jobs.retry(adminActor, dead.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Listing is asked as a read (jobs.read), retrying as the change (jobs.manage): the same rule, the system's alone.
    const refusals = await v.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'reason']).where('actor_user_id', '=', admin.id).where('action', 'in', ['jobs.read', 'jobs.manage']).orderBy('id').execute();
    expect(refusals).toEqual([{ action: 'jobs.read', decision: 'deny', reason: 'system_only' }, { action: 'jobs.manage', decision: 'deny', reason: 'system_only' }]);
    await closeKeepingData(v);
    const cli = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

    const listed = await cli(['jobs', 'failed']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe(`${dead.id}\tscan-version\t1\tclamd: connection refused at scan\t${finishedAt}\n`);
    const json = await cli(['jobs', 'failed', '--json', '--limit', '5']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ id: dead.id, kind: 'scan-version', attempts: 1, lastError: 'clamd: connection refused\n\tat scan', finishedAt }]);
    const badLimit = await cli(['jobs', 'failed', '--limit', '0']);
    expect(badLimit.code).toBe(1);
    expect(badLimit.stderr).toMatch(/--limit.*whole number/);

    const running = await cli(['jobs', 'retry', String(live.id)]);
    expect(running.code).toBe(1);
    expect(running.stderr).toContain(`strongroom: Job ${live.id} is not a failed job`);
    const unknown = await cli(['jobs', 'retry', '999999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('strongroom: Job 999999 is not a failed job');

    const retried = await cli(['jobs', 'retry', String(dead.id)]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stderr).toContain(`Job ${dead.id} is queued again.`);
    const empty = await cli(['jobs', 'failed']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain('No failed jobs.');
    const twice = await cli(['jobs', 'retry', String(dead.id)]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`Job ${dead.id} is not a failed job`);

    v = await place.open();
    try {
      const row = await v.vault.store.db.selectFrom('jobs').select(['status', 'attempts', 'finished_at']).where('id', '=', dead.id).executeTakeFirstOrThrow();
      expect(row).toEqual({ status: 'queued', attempts: 0, finished_at: null });
      const events = await v.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'channel', 'actor_user_id', 'target_ids']).where('action', '=', 'jobs.retry').execute();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ decision: 'allow', channel: 'cli', actor_user_id: null });
      expect(JSON.parse(String(events[0]!.target_ids))).toEqual({ jobId: String(dead.id) });
    } finally {
      await closeKeepingData(v);
    }
  });

  it('shows whose work waits in each lane, the longest wait first; a council admin may not see it', { timeout: 180_000 }, async () => {
    const v = await place.open();
    const jobs = v.vault.store.repos.jobs;
    // What the first test left: its retried job, queued again as the vault's own work.
    await v.vault.store.db.deleteFrom('jobs').execute();
    const busy = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const quiet = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const now = Date.now();
    const at = (seconds: number) => new Date(now + seconds * 1000);
    // Of 0, 1 and 2 MiB: weights 1, 2 and 3.
    for (let i = 0; i < 3; i += 1) await jobs.enqueue(extractTextJob, { versionId: `busy-${i}` }, { now: at(-60 + i), bytes: i * 1024 * 1024, organisationId: busy.id });
    await jobs.enqueue(extractTextJob, { versionId: 'busy-later' }, { now: at(-60), runAt: at(3600), bytes: 0, organisationId: busy.id });
    await jobs.enqueue(extractTextJob, { versionId: 'quiet' }, { now: at(-30), bytes: 0, organisationId: quiet.id });
    await jobs.enqueue(scanVersionJob, { versionId: 'quiet-scan' }, { now: at(-20), bytes: 0, organisationId: quiet.id });
    await jobs.enqueue(pruneFinishedJobsJob, { day: '2026-12-07' }, { now: at(-10), organisationId: null });
    // The quiet council's scan is running.
    expect(await jobs.lease(scanVersionJob.lane, at(0).toISOString(), at(60).toISOString(), 1)).toHaveLength(1);
    const admin = await busy.user({ roles: ['org_admin'] });
    const adminActor = actorFor((await v.vault.identity.userById(admin.id))!, { channel: 'api', clientAddress: null, requestId: null });
    await expect(v.vault.jobs.waiting(adminActor)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await closeKeepingData(v);
    const cli = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

    const listed = await cli(['jobs', 'waiting']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe([
      `availability\t${quiet.slug}\t0\t0\t1\t\t0`,
      `background\t${busy.slug}\t3\t1\t0\t${at(-60).toISOString()}\t6`,
      `background\t${quiet.slug}\t1\t0\t0\t${at(-30).toISOString()}\t1`,
      `background\t-\t1\t0\t0\t${at(-10).toISOString()}\t1`,
      '',
    ].join('\n'));
    const json = await cli(['jobs', 'waiting', '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)[1]).toEqual({ lane: 'background', organisation: busy.slug, waiting: 3, later: 1, running: 0, oldestDueAt: at(-60).toISOString(), waitingWeight: 6 });
  });
});
