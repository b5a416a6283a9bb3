// The S3 blob store's streamed put and get of one large blob (default 1 GiB), against s3rver in a
// child process so this process's memory is the store's alone. Prints one JSON line: seconds, MiB/s
// and this process's peak RSS growth over its RSS before the put (issue #14: < 64 MiB).
//
//   node --expose-gc --import tsx bench/s3-blob-store.ts   # BENCH_S3_MIB=1024, BENCH_S3_PART_MIB, BENCH_S3_QUEUE
//
// s3rver writes every part to disk, then copies the parts into the object on completion and hashes
// it: the figures are s3rver's, not a real S3's, and bound the store's speed from below only.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client, S3BlobStore } from '../src/storage/s3.blob-store.js';
import { startS3rverChild } from './lib/s3rver.js';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_S3_MIB ?? 1024);
/** Unset: the store's defaults (5 MiB parts, 2 at a time). */
const PART_MIB = process.env.BENCH_S3_PART_MIB ? Number(process.env.BENCH_S3_PART_MIB) : undefined;
const QUEUE = process.env.BENCH_S3_QUEUE ? Number(process.env.BENCH_S3_QUEUE) : undefined;
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

async function main(): Promise<void> {
  const directory = await mkdtemp(path.join(tmpdir(), 'srb-s3-'));
  const server = await startS3rverChild(directory);
  try {
    const location = { bucket: 'bench', prefix: 'blobs/', endpoint: `http://127.0.0.1:${server.port}`, region: 'us-east-1', forcePathStyle: true };
    const client = createS3Client(location, { credentials });
    await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const store = new S3BlobStore({ client, bucket: 'bench', prefix: 'blobs/', ...(PART_MIB ? { partSize: PART_MIB * MiB } : {}), ...(QUEUE ? { queueSize: QUEUE } : {}) });

    // 64 MiB of random data, each 1 MiB chunk stamped with its number so no two are the same.
    const pool = randomBytes(64 * MiB);
    const written = createHash('sha256');
    async function* body(): AsyncGenerator<Buffer> {
      for (let i = 0; i < SIZE_MIB; i++) {
        const chunk = Buffer.from(pool.subarray((i % 64) * MiB, (i % 64 + 1) * MiB));
        chunk.writeUInt32BE(i, 0);
        written.update(chunk);
        yield chunk;
      }
    }
    // RSS includes garbage not yet collected; with --expose-gc the live memory (heap and buffers
    // after a collection) is sampled too, which is what the store itself holds.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const before = process.memoryUsage().rss;
    const live = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const liveBefore = live();
    let peak = before;
    let livePeak = liveBefore;
    let ticks = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
      if (gc && ++ticks % 10 === 0) { gc(); livePeak = Math.max(livePeak, live()); }
    }, 20);
    const putStart = performance.now();
    const { id, size } = await store.put(body());
    const putSeconds = (performance.now() - putStart) / 1000;
    const putPeak = peak;

    const read = createHash('sha256');
    const getStart = performance.now();
    let readBytes = 0;
    for await (const chunk of await store.get(id)) {
      read.update(chunk as Buffer);
      readBytes += (chunk as Buffer).length;
    }
    const getSeconds = (performance.now() - getStart) / 1000;
    clearInterval(sampler);
    client.destroy();
    console.log(JSON.stringify({
      mib: SIZE_MIB,
      size,
      identical: readBytes === size && read.digest('hex') === written.digest('hex'),
      putSeconds: Number(putSeconds.toFixed(1)),
      putMiBps: Number((SIZE_MIB / putSeconds).toFixed(1)),
      getSeconds: Number(getSeconds.toFixed(1)),
      getMiBps: Number((SIZE_MIB / getSeconds).toFixed(1)),
      rssBeforeMiB: Number((before / MiB).toFixed(1)),
      putRssGrowthMiB: Number(((putPeak - before) / MiB).toFixed(1)),
      putAndGetRssGrowthMiB: Number(((peak - before) / MiB).toFixed(1)),
      partMiB: PART_MIB ?? 5,
      queueSize: QUEUE ?? 2,
      ...(gc ? { liveGrowthMiB: Number(((livePeak - liveBefore) / MiB).toFixed(1)) } : {}),
    }));
  } finally {
    server.stop();
    await rm(directory, { recursive: true, force: true });
  }
}

await main();
