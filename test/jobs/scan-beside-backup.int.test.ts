// A large upload becomes readable while the daily backup runs. An upload too large to scan before it is
// answered stays unreadable until its scan job runs; the backup is a job too, and with one line of jobs
// the scan waited for the whole backup (about 15 s a GB of database here, hours behind an import's text
// extraction). The scan is in the availability lane and the backup in the background lane, which the
// worker runs side by side (domain/jobs/define-job.ts). Proved by order, not by time: the backup's
// copying thread is held at its gate while the file is uploaded, scanned and downloaded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupJob } from '../../src/domain/jobs/kinds.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { threadGate } from '../support/thread-gate.js';
import { auth, createOrganisation, openTestVault, upload, type RestartableTestVault, type TestUser } from '../support/vault.js';

describe('an upload scanned after it was answered, while the daily backup runs (SQLite: the copy\'s thread has the gate)', () => {
  let clamd: TestClamd;
  let t: RestartableTestVault;
  let user: TestUser;
  let collectionId: string;
  const copying = threadGate();
  beforeAll(async () => {
    clamd = await startTestClamd();
    // Anything over 100 bytes is answered first and scanned by the scan-version job.
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, snapshotGate: copying.gate, env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '100' } });
    const org = await createOrganisation(t.vault);
    collectionId = org.collections.payroll!;
    user = await org.user({ teams: ['payroll'] });
  });
  afterAll(async () => {
    copying.release();
    await t?.close();
    await clamd?.stop();
  });

  const statusOf = async (kind: string) =>
    (await t.vault.store.db.selectFrom('jobs').select('status').where('kind', '=', kind).orderBy('id', 'desc').executeTakeFirst())?.status;

  it('scans the upload and lets it be read while the backup is still copying', async () => {
    copying.hold();
    expect(await t.vault.store.repos.jobs.enqueue(backupJob, { date: new Date().toISOString().slice(0, 10) }, { now: new Date(), organisationId: null })).toBe(true);
    await t.vault.startBackground();
    await copying.arrived(1, 'The backup job did not start its copy.');

    const payslips = 'employee,net pay\n'.repeat(64);
    const stored = await upload(t.app, user, collectionId, 'payslips-december.csv', payslips);
    expect(stored.statusCode, stored.body).toBe(201);
    expect(stored.json().status).toBe('pending_scan');
    const id = stored.json().id as string;

    const deadline = Date.now() + 20_000;
    let status = 'pending_scan';
    while (status === 'pending_scan') {
      if (Date.now() > deadline) throw new Error('The upload\'s scan waited behind the backup: the job lanes do not run side by side.');
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}`, headers: auth(user) })).json().status;
    }
    expect(status).toBe('available');
    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) });
    expect(download.statusCode).toBe(200);
    expect(download.body).toBe(payslips);
    // The backup is still at its gate, its job running.
    expect(await statusOf('backup')).toBe('running');
    expect(await statusOf('scan-version')).toBe('done');

    copying.release();
    const finished = Date.now() + 30_000;
    while ((await statusOf('backup')) !== 'done') {
      if (Date.now() > finished) throw new Error(`The backup did not finish once let go (job ${await statusOf('backup')}).`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(copying.arrivals).toBe(1);
  });
});
