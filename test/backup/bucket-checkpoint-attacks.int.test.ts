// Someone who can write the replica's bucket but holds no key: objects they put in checkpoints/
// must neither exhaust the memory of `audit verify` or the signer (a huge "note"), nor be read from
// beside the checkpoints' own folder. Against the loopback S3 server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSignerKey, signCheckpoint } from '../../src/domain/audit/signed-note.js';
import { BucketCheckpointCopies } from '../../src/storage/bucket-checkpoint-copies.js';
import { CheckpointCopies } from '../../src/storage/checkpoint-copies.js';
import { createS3Client } from '../../src/storage/s3.blob-store.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';

let s3: LoopbackS3;
let client: S3Client;
let work: string;
beforeAll(async () => {
  s3 = await startLoopbackS3();
  client = createS3Client(s3.location('unused'), { credentials: S3RVER_CREDENTIALS });
  work = await mkdtemp(path.join(tmpdir(), 'sr-bucket-cp-attack-'));
});
afterAll(async () => {
  client?.destroy();
  await s3?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('checkpoint objects planted in the replica bucket', () => {
  it('a huge object is not read into memory: it is reported as not a checkpoint; keys outside checkpoints/ are not read', { timeout: 20_000 }, async () => {
    const bucket = await s3.createBucket();
    const local = new CheckpointCopies({ offsiteDir: path.join(work, 'offsite'), signerFile: path.join(work, 'keys', 'audit-last-checkpoint.note') });
    const copies = new BucketCheckpointCopies({ local, client, bucket, prefix: 'replica' });
    const signer = generateSignerKey('test.example/log');
    const note = signCheckpoint({ origin: 'test.example/log', treeSize: 3, rootHash: Buffer.alloc(32, 1) }, signer);
    await copies.remember(3, note);

    // 8 MiB where a note is a few hundred bytes.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'replica/checkpoints/000000000009.note', Body: Buffer.alloc(8 * 1024 * 1024, 0x41) }));
    // Below the folder, or a name that only ends like a checkpoint's: not checkpoints.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'replica/checkpoints/old/000000000007.note', Body: note }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'replica/checkpoints/x000000000008.note', Body: note }));
    // Empty: read as an empty note (which cannot verify), not an outage.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'replica/checkpoints/000000000005.note', Body: '' }));

    const all = await copies.all();
    const fromBucket = all.offsite.filter((c) => c.source.startsWith('bucket '));
    expect(fromBucket).toEqual([
      { source: `bucket checkpoint 000000000003.note (s3://${bucket}/replica/checkpoints/)`, note, claimedSize: 3 },
      { source: `bucket checkpoint 000000000005.note (s3://${bucket}/replica/checkpoints/)`, note: '', claimedSize: 5 },
      { source: `bucket checkpoint 000000000009.note (s3://${bucket}/replica/checkpoints/), larger than 65536 bytes and not read`, note: '', claimedSize: 9 },
    ]);
    // The signer's view: the newest in the bucket, beyond what the folders know, is the huge one, not read either.
    const latest = await copies.latest();
    expect(latest[0]).toEqual({ source: `bucket checkpoint 000000000009.note (s3://${bucket}/replica/checkpoints/), larger than 65536 bytes and not read`, note: '', claimedSize: 9 });
  });
});
