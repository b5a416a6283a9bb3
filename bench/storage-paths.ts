// The storage half of the large paths, in one process and without HTTP: the upload pipeline
// (ingest: hash, head, deadlines → EncryptedBlobs → FsBlobStore, fsync included) and reading the
// blob back whole and as one range (what the scan job and Range requests use), in CPU seconds per
// GiB for the whole process and for its main thread. Quick to run and far less noisy on a loaded
// machine than bench/large-paths.ts, which measures the same paths through a server.
//
// Usage: node --import tsx bench/storage-paths.ts
//   BENCH_STORAGE_MIB  bytes per transfer (default 512)
//   BENCH_ROUNDS       rounds (default 5); with BENCH_BASELINE the two alternate (A B, then B A)
//   BENCH_BASELINE     another checkout's root (its src/ is imported), e.g. the commit before a change
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { mainThreadCpuOf } from './lib/cpu.js';
import { GiB, MiB } from './lib/data.js';
import { table } from './lib/report.js';
import { REPO_ROOT } from './lib/strongroom.js';

const SIZE = Number(process.env.BENCH_STORAGE_MIB ?? 512) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;

interface Code {
  name: string;
  FsBlobStore: new (o: { dataDir: string }) => unknown;
  EncryptedBlobs: new (o: { keys: unknown; store: unknown }) => {
    openRange(ref: unknown, range?: { start: number; end: number }): Promise<NodeJS.ReadableStream>;
    delete(id: string): Promise<void>;
  };
  ingest: (blobs: unknown, scanner: unknown, binding: unknown, source: AsyncIterable<Uint8Array>, o: unknown) => Promise<{ blob: { blobId: string } }>;
}

async function load(name: string, root: string): Promise<Code> {
  const from = (file: string) => import(pathToFileURL(path.join(root, 'src', file)).href);
  const [fs, eb, ing] = await Promise.all([from('storage/fs.blob-store.ts'), from('storage/encrypted-blobs.ts'), from('services/ingest.ts')]);
  return { name, FsBlobStore: fs.FsBlobStore, EncryptedBlobs: eb.EncryptedBlobs, ingest: ing.ingest };
}

const base = randomBytes(64 * MiB);
/** Like an HTTP body: 64 KiB socket reads, the first one short by the request's head. */
async function* body(): AsyncGenerator<Buffer> {
  for (let sent = 0, first = true; sent < SIZE; first = false) {
    const n = Math.min(first ? 65536 - 300 : 65536, SIZE - sent);
    const at = sent % (base.length - n);
    const chunk = Buffer.allocUnsafe(n);
    base.copy(chunk, 0, at, at + n);
    yield chunk;
    sent += n;
  }
}

const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const scanner = { maxStreamBytes: Number.MAX_SAFE_INTEGER, scan: async () => ({ outcome: 'clean', engine: 'none' }) };
const deadlines = { idleMs: 60_000, minBytesPerSecond: 1000, graceMs: 60_000 };
const sink = (): Writable => new Writable({ highWaterMark: 64 * 1024, write: (_c, _e, cb) => cb() });

type Row = Record<string, number[]>;
async function once(code: Code, dir: string, results: Row): Promise<void> {
  const key = randomBytes(32);
  const keys = { newDataKey: async () => ({ dataKey: key, wrappedKey: Buffer.alloc(8), keyId: 'k' }), openDataKey: async () => key };
  const blobs = new code.EncryptedBlobs({ keys, store: new code.FsBlobStore({ dataDir: path.join(dir, code.name) }) });
  const gib = SIZE / GiB;
  const measure = async (what: string, work: () => Promise<void>): Promise<void> => {
    const [c, m, t] = [cpu(), mainThreadCpuOf(process.pid), performance.now()];
    await work();
    const add = (k: string, v: number): void => void (results[`${code.name}|${what}|${k}`] ??= []).push(v);
    add('cpu', (cpu() - c) / gib);
    add('main', (mainThreadCpuOf(process.pid) - m) / gib);
    add('MBps', SIZE / 1e6 / ((performance.now() - t) / 1000));
  };
  let blobId = '';
  await measure('upload', async () => {
    const got = await code.ingest(blobs, scanner, { organisationId: 'o', documentId: 'd', versionId: 'v' }, body(), { maxBytes: Number.MAX_SAFE_INTEGER, inlineScanMaxBytes: 1, declaredSize: SIZE, deadlines });
    blobId = got.blob.blobId;
  });
  const ref = { blobId, organisationId: 'o', documentId: 'd', versionId: 'v', keyId: 'k', wrappedKey: Buffer.alloc(8), size: SIZE };
  await measure('read whole', async () => pipeline(await blobs.openRange(ref), sink()));
  await measure('read range', async () => pipeline(await blobs.openRange(ref, { start: 1, end: SIZE - 1 }), sink()));
  await blobs.delete(blobId);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const codes = [...(BASELINE ? [await load('before', BASELINE)] : []), await load(BASELINE ? 'after' : 'this', REPO_ROOT)];
const dir = await mkdtemp(path.join(tmpdir(), 'srs-'));
const results: Row = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const code of round % 2 === 0 ? codes : [...codes].reverse()) await once(code, dir, results);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
const rows = [['path', ...codes.flatMap((c) => [`${c.name} CPU-s/GiB`, `${c.name} main`, `${c.name} MB/s`]), ...(BASELINE ? ['CPU after/before', 'main after/before'] : [])]];
for (const what of ['upload', 'read whole', 'read range']) {
  const m = (c: Code, k: string): number => median(results[`${c.name}|${what}|${k}`]!);
  const row = [what, ...codes.flatMap((c) => [m(c, 'cpu').toFixed(2), m(c, 'main').toFixed(2), m(c, 'MBps').toFixed(0)])];
  if (BASELINE) row.push((m(codes[1]!, 'cpu') / m(codes[0]!, 'cpu')).toFixed(2), (m(codes[1]!, 'main') / m(codes[0]!, 'main')).toFixed(2));
  rows.push(row);
}
process.stdout.write(`${SIZE / MiB} MiB per transfer, ${ROUNDS} rounds, medians\n${table(rows)}\n`);
