// A backup kept in an S3 bucket (the loopback S3 server), and a restore from it into a vault whose
// blobs are in another bucket: the copies get the new store's ids and read back byte-identical.
// SQLite only: the bucket code is the same for both dialects (disaster.int.test.ts covers both).
import { copyFile, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { restoreDrill } from '../../src/backup-restore-drill.js';
import { loadConfig } from '../../src/config/config.js';
import { systemActor } from '../../src/services/identity.service.js';
import { S3BlobStore } from '../../src/storage/s3.blob-store.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, upload } from '../support/vault.js';

let clamd: TestClamd;
let s3: LoopbackS3;
let work: string;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  clamd = await startTestClamd();
  s3 = await startLoopbackS3();
  work = await mkdtemp(path.join(tmpdir(), 'sr-backup-s3-'));
});
afterAll(async () => {
  await clamd?.stop();
  await s3?.stop();
  await rm(work, { recursive: true, force: true });
  for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('a backup in an S3 bucket', () => {
  it('is written to a prefix, drilled and restored from it into a vault whose blobs are in a bucket', { timeout: 120_000 }, async () => {
    const offsite = path.join(work, 'offsite');
    const dataDir = path.join(work, 'data');
    const v = await openVaultAt(dataDir, clamd.socketPath, { STRONGROOM_OFFSITE: offsite });
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const body = Buffer.alloc(150_000, 3);
    const res = await upload(v.app, user, org.collections.payroll!, 'in-a-bucket.bin', body);
    expect(res.statusCode).toBe(201);
    const id = (res.json() as { id: string }).id;

    const backups = await s3.createBucket();
    const where = s3.blobsUrl(backups, 'strongroom/backups/first');
    const manifest = await takeBackup(v.vault, where);
    await expect(takeBackup(v.vault, where)).rejects.toThrow(/already holds files/);
    const replica = path.join(work, 'replica');
    await cp(path.join(dataDir, 'blobs'), replica, { recursive: true });
    const drill = await restoreDrill(v.vault, { from: where, replica, sample: 5, logger: pino({ level: 'silent' }) });
    expect(drill.report).toMatchObject({ passed: true, totals: { ok: 1 }, backup: { id: manifest.id } });
    await closeKeepingData(v);

    const target = path.join(work, 'restored');
    await mkdir(path.join(target, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(path.join(dataDir, 'keys', 'master.key'), path.join(target, 'keys', 'master.key'));
    const primary = await s3.createBucket();
    const env = { STRONGROOM_OFFSITE: offsite, STRONGROOM_BLOBS: s3.blobsUrl(primary, 'blobs') };
    const config = loadConfig({ env: { STRONGROOM_DATA: target, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', ...env } });
    const result = await restoreBackup(config, { from: where, blobsFrom: replica, logger: pino({ level: 'silent' }) });
    expect(result).toMatchObject({ copied: 1, missing: [] });

    const r = await openVaultAt(target, clamd.socketPath, env);
    try {
      expect(r.vault.blobStore).toBeInstanceOf(S3BlobStore);
      const got = await api(r.app, user).get(`documents/${id}/content`);
      expect(got.statusCode).toBe(200);
      expect(Buffer.compare(got.rawPayload, body)).toBe(0);
      // The drill's own event came after this backup and was signed offsite: that loss is seen.
      expect(await r.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: false, offsite: 'mismatch' });
    } finally {
      await closeKeepingData(r);
    }
  });
});
