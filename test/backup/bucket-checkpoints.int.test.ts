// Audit checkpoints in the replica's bucket (STRONGROOM_REPLICA=s3://…): every checkpoint the signer
// publishes lands in <prefix>checkpoints/, once; `audit verify` reads them back, also when the
// offsite folder is lost, and fails when a bucket copy disagrees with the database; an object there is
// never overwritten. On SQLite and PostgreSQL, against the loopback S3 server.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreDrill } from '../../src/backup-restore-drill.js';
import { openCheckpoint, signCheckpoint } from '../../src/domain/audit/signed-note.js';
import { auditKeyPath, openCheckpointCopies } from '../../src/compose/audit-keys.js';
import { systemActor } from '../../src/services/identity.service.js';
import { createS3Client } from '../../src/storage/s3.blob-store.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { createOrganisation, DIALECTS, openTestVault, upload, type TestVault } from '../support/vault.js';

let clamd: TestClamd;
let s3: LoopbackS3;
let client: S3Client;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  [clamd, s3] = await Promise.all([startTestClamd(), startLoopbackS3()]);
  client = createS3Client(s3.location('unused'), { credentials: S3RVER_CREDENTIALS });
});
afterAll(async () => {
  client?.destroy();
  await clamd?.stop();
  await s3?.stop();
  for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function bucketNotes(bucket: string): Promise<Map<string, string>> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'replica/checkpoints/' }));
  const notes = new Map<string, string>();
  for (const o of listed.Contents ?? []) {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
    notes.set(o.Key!.slice('replica/checkpoints/'.length), await got.Body!.transformToString());
  }
  return notes;
}

describe.each(DIALECTS)('audit checkpoints in a bucket replica on %s', (dialect) => {
  let t: TestVault;
  let bucket: string;
  beforeAll(async () => {
    bucket = await s3.createBucket();
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_REPLICA: s3.blobsUrl(bucket, 'replica') } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('writes every checkpoint to the bucket once, and audit verify reads them back', { timeout: 40_000 }, async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    expect((await upload(t.app, user, org.collections.payroll!, 'a.txt', 'first\n')).statusCode).toBe(201);
    await t.vault.audit.sequencer.flush();
    expect((await upload(t.app, user, org.collections.payroll!, 'b.txt', 'second\n')).statusCode).toBe(201);
    await t.vault.audit.sequencer.flush();

    const inDatabase = await t.vault.store.db.selectFrom('audit_checkpoints').select(['tree_size', 'note']).orderBy('tree_size').execute();
    expect(inDatabase.length).toBeGreaterThanOrEqual(2);
    const notes = await bucketNotes(bucket);
    // Exactly the database's checkpoints, each under its zero-padded size, byte for byte.
    expect([...notes.keys()]).toEqual(inDatabase.map((c) => `${String(c.tree_size).padStart(12, '0')}.note`));
    for (const c of inDatabase) expect(notes.get(`${String(c.tree_size).padStart(12, '0')}.note`)).toBe(c.note);
    // The blobs' listing of the same prefix is not confused by them.
    const blobIds: string[] = [];
    for await (const id of t.vault.replicaStore!.list()) blobIds.push(id);
    expect(blobIds.every((id) => /^[0-9a-f]{32}$/.test(id))).toBe(true);

    const verified = await t.vault.audit.verification.verify(systemActor());
    const folderNotes = inDatabase.length; // the offsite folder holds the same checkpoints
    expect(verified).toMatchObject({ ok: true, offsite: 'matched', offsiteCheckpoints: folderNotes + notes.size });

    // The offsite folder lost: the bucket's copies are still checked.
    await rm(path.join(t.vault.config.offsiteDir, 'audit-checkpoints'), { recursive: true, force: true });
    await rm(path.join(t.vault.config.offsiteDir, 'audit-newest-checkpoint.note'), { force: true });
    expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true, offsite: 'matched', offsiteCheckpoints: notes.size });
  });

  it('lets the restore drill check the restored log against the bucket\'s checkpoints, and read the blobs from the bucket', { timeout: 40_000 }, async () => {
    await t.vault.worker.runDue(); // the replicate jobs: the blobs reach the bucket
    const backup = path.join(t.dataDir, '..', `${path.basename(t.dataDir)}-backup`);
    try {
      const manifest = await takeBackup(t.vault, backup);
      // Only the bucket holds checkpoints outside the database.
      await rm(path.join(t.vault.config.offsiteDir, 'audit-checkpoints'), { recursive: true, force: true });
      await rm(path.join(t.vault.config.offsiteDir, 'audit-newest-checkpoint.note'), { force: true });
      const inBucket = [...(await bucketNotes(bucket)).keys()].map((name) => Number(name.slice(0, 12)));
      const upToBackup = inBucket.filter((size) => size <= manifest.audit.treeSize).length;
      const drill = await restoreDrill(t.vault, { from: backup, sample: 5, logger: pino({ level: 'silent' }) });
      expect(drill.report).toMatchObject({ passed: true, totals: { ok: 2, missing: 0, corrupt: 0 }, audit: { ok: true } });
      // Each checkpoint up to the backup twice (the restored database's, the bucket's); the newer ones counted.
      expect(drill.report.audit).toMatchObject({ checkpointsChecked: 2 * upToBackup, newerOffsiteCheckpoints: inBucket.length - upToBackup });
    } finally {
      await rm(backup, { recursive: true, force: true });
    }
  });

  it('never overwrites a checkpoint in the bucket, and the signer refuses a different one of the same size', { timeout: 20_000 }, async () => {
    const newest = await t.vault.store.db.selectFrom('audit_checkpoints').select(['tree_size', 'note']).orderBy('tree_size', 'desc').executeTakeFirstOrThrow();
    const copies = await openCheckpointCopies(t.vault.config, t.dataDir);
    try {
      // The same note again (a retry): accepted, nothing changes.
      await copies.copies.remember(newest.tree_size, newest.note);
      const signer = (await readFile(auditKeyPath(t.dataDir), 'utf8')).trim();
      const forged = signCheckpoint({ origin: t.vault.config.auditOrigin, treeSize: newest.tree_size, rootHash: Buffer.alloc(32, 9) }, signer);
      await expect(copies.copies.remember(newest.tree_size, forged)).rejects.toMatchObject({
        code: 'INTEGRITY',
        message: `A different audit checkpoint is already stored as replica/checkpoints/${String(newest.tree_size).padStart(12, '0')}.note in bucket ${bucket}; it is never overwritten.`,
      });
    } finally {
      copies.close();
    }
    expect((await bucketNotes(bucket)).get(`${String(newest.tree_size).padStart(12, '0')}.note`)).toBe(newest.note);
  });

  it('fails audit verify when a bucket checkpoint disagrees with the database', { timeout: 20_000 }, async () => {
    // A validly signed checkpoint (the log's own key) of a tree the database never had: a rollback or
    // rewrite of the database looks exactly like this from the bucket's side.
    const size = await t.vault.store.repos.audit.treeSize();
    const held = await bucketNotes(bucket);
    const at = Array.from({ length: size - 1 }, (_, i) => size - 1 - i).find((n) => !held.has(`${String(n).padStart(12, '0')}.note`))!;
    const signer = (await readFile(auditKeyPath(t.dataDir), 'utf8')).trim();
    const other = signCheckpoint({ origin: t.vault.config.auditOrigin, treeSize: at, rootHash: Buffer.alloc(32, 7) }, signer);
    expect(openCheckpoint(other, t.vault.audit.proofs.verifierKey).treeSize).toBe(at);
    const name = `${String(at).padStart(12, '0')}.note`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `replica/checkpoints/${name}`, Body: other }));
    const verified = await t.vault.audit.verification.verify(systemActor());
    expect(verified).toMatchObject({ ok: false, offsite: 'mismatch' });
    expect((verified as { problem?: string }).problem).toContain(`bucket checkpoint ${name}`);
  });
});
