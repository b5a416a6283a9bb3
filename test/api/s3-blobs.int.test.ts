// A whole vault on S3: STRONGROOM_BLOBS=s3://… against a loopback s3rver, credentials from the
// environment only. Uploads through REST land in the bucket (none in the data directory), come back
// byte-identical whole and by range across a multipart part boundary, and a storage outage is a
// 503 that says so, never a 404.
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore } from '../../src/storage/s3.blob-store.js';
import { useClamd } from '../support/fixture.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { DIALECTS, auth, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const MIB = 1024 * 1024;

// The S3 client reads credentials from the environment, as in production; none are in the URL.
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
});
afterAll(() => {
  for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe.each(DIALECTS)('a vault whose blobs are in an S3 bucket, on %s', (dialect) => {
  let s3: LoopbackS3;
  let t: TestVault;
  let stopped = false;
  beforeAll(async () => {
    s3 = await startLoopbackS3();
    const bucket = await s3.createBucket();
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_BLOBS: s3.blobsUrl(bucket, `councils/${dialect}`) } });
  });
  afterAll(async () => {
    await t?.close();
    if (!stopped) await s3?.stop();
  });

  it('stores uploads in the bucket and reads them back byte-identical, whole and by range', async () => {
    expect(t.vault.blobStore).toBeInstanceOf(S3BlobStore);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    // Larger than two 5 MiB parts, so the upload is multipart and a range straddles part boundaries.
    const body = randomBytes(12 * MIB + 321);
    const res = await upload(t.app, user, org.collections.payroll!, 'ledger.bin', body);
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json() as { id: string; size: number };
    expect(created.size).toBe(body.length);

    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${created.id}/content`, headers: auth(user) });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(body)).toBe(true);

    const [start, end] = [4 * MIB + 17, 11 * MIB - 3];
    const ranged = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${created.id}/content`, headers: { ...auth(user), range: `bytes=${start}-${end}` } });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.rawPayload.equals(body.subarray(start, end + 1))).toBe(true);

    const small = await upload(t.app, user, org.collections.payroll!, 'note.txt', 'a small file\n');
    expect(small.statusCode, small.body).toBe(201);
    const smallDownload = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${(small.json() as { id: string }).id}/content`, headers: auth(user) });
    expect(smallDownload.body).toBe('a small file\n');

    // The blobs are in the bucket under the prefix (encrypted, so larger than the plaintext), not on local disk.
    const ids: string[] = [];
    for await (const id of t.vault.blobStore.list()) ids.push(id);
    expect(ids).toHaveLength(2);
    const sizes = await Promise.all(ids.map((id) => t.vault.blobStore.size(id)));
    expect(Math.max(...sizes)).toBeGreaterThan(body.length);
    expect(await readdir(path.join(t.dataDir, 'blobs')).catch(() => [])).toEqual([]);
    const onServer = await readdir(path.join(s3.directory, (t.vault.config.blobs as { bucket: string }).bucket, 'councils', dialect));
    for (const id of ids) expect(onServer.some((name) => name.startsWith(id)), id).toBe(true);
  });

  it('answers a download and an upload with 503, not 404, while the bucket cannot be reached, and stores nothing', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const res = await upload(t.app, user, org.collections.payroll!, 'kept.txt', 'still here once storage is back\n');
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as { id: string }).id;

    await s3.stop();
    stopped = true;
    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) });
    expect(download.statusCode, download.body).toBe(503);
    expect(download.body).toMatch(/blob storage service is unavailable/);

    const refused = await upload(t.app, user, org.collections.payroll!, 'lost.txt', 'not stored\n');
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.body).toMatch(/blob storage service is unavailable/);
    const listing = await t.app.inject({ method: 'GET', url: `/api/v1/collections/${org.collections.payroll}`, headers: auth(user) });
    expect((listing.json() as { documents: { name: string }[] }).documents.map((d) => d.name)).toEqual(['kept.txt']);
  });
});
