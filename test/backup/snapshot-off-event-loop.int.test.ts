// A backup of an SQLite vault copies the database (VACUUM INTO) on a thread and connection of its own: on the
// server's connection the copy held the event loop, about 5 s a GB, and every request waited. Proved by
// order, not by time: the copying thread is held at a gate before it copies, and meanwhile the server
// answers a download and stores an upload; released, the copy holds both documents.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { threadGate } from '../support/thread-gate.js';
import { auth, createOrganisation, openTestVault, upload, type RestartableTestVault, type TestUser } from '../support/vault.js';

describe('a backup of an SQLite vault while the server works', () => {
  let clamd: TestClamd;
  let t: RestartableTestVault;
  let user: TestUser;
  let collectionId: string;
  let work: string;
  const copying = threadGate();
  beforeAll(async () => {
    clamd = await startTestClamd();
    work = await mkdtemp(path.join(tmpdir(), 'sr-snapshot-'));
    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, snapshotGate: copying.gate });
    const org = await createOrganisation(t.vault);
    collectionId = org.collections.payroll!;
    user = await org.user({ teams: ['payroll'] });
  });
  afterAll(async () => {
    copying.release();
    await t?.close();
    await clamd?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('answers a download and stores an upload while the copy is under way, and the copy then holds both', async () => {
    const first = await upload(t.app, user, collectionId, 'payslip-november.txt', 'November payslip');
    expect(first.statusCode).toBe(201);
    const documentsBefore = Number((await t.vault.store.db.selectFrom('documents').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

    copying.hold();
    const backup = takeBackup(t.vault, path.join(work, 'backup'));
    // A copy made on the event loop never reaches the gate.
    await copying.arrived(1, 'The backup\'s copy never reached its thread\'s gate: it is not made on a thread of its own.');

    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${first.json().id}/content`, headers: auth(user) });
    expect(download.statusCode).toBe(200);
    expect(download.body).toBe('November payslip');
    const second = await upload(t.app, user, collectionId, 'payslip-december.txt', 'December payslip');
    expect(second.statusCode).toBe(201);

    copying.release();
    const manifest = await backup;
    // The copy began after the gate, so it holds the upload made while the thread waited there.
    expect(manifest.tables.documents).toBe(documentsBefore + 1);
    expect(manifest.blobs.referenced).toBeGreaterThanOrEqual(2);
    expect(copying.arrivals).toBe(1);
  });
});
