// Replica lag under load (make bench-replica, part of make bench; issue #14): one `strongroom serve`
// (role all, so its worker copies) with the offsite replica in a bucket on s3rver (loopback, its own
// process), small files uploaded at a steady rate. Every second /metrics is read as a scraper would:
// strongroom_replica_pending_blobs and strongroom_replica_lag_seconds, while uploading and after,
// until the replica has caught up. Writes bench/results/<date>-replica-lag.json (BENCH_OUT).
//
// Environment: BENCH_REPLICA_COUNT (600 files), BENCH_REPLICA_RATE (20 files a second),
// BENCH_REPLICA_BYTES (4096), BENCH_REPLICA_CLIENTS (8: uploads in flight at most).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../src/storage/s3.blob-store.js';
import { onCleanup, runBench, trackDir, untrackDir } from './lib/cleanup.js';
import { smallFiles } from './lib/data.js';
import { describe, keepAliveAgent, request } from './lib/http.js';
import { fmt, table } from './lib/report.js';
import { round } from './lib/rss.js';
import { S3RVER_CREDENTIALS, startS3rverChild } from './lib/s3rver.js';
import { REPO_ROOT, entryForRun, seed, startServer } from './lib/strongroom.js';

const env = process.env;
const COUNT = Number(env.BENCH_REPLICA_COUNT ?? 600);
const RATE = Number(env.BENCH_REPLICA_RATE ?? 20);
const BYTES = Number(env.BENCH_REPLICA_BYTES ?? 4096);
const IN_FLIGHT = Number(env.BENCH_REPLICA_CLIENTS ?? 8);
const DRAIN_TIMEOUT_MS = 10 * 60 * 1000;
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[bench-replica ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

interface Sample {
  /** Seconds since the first upload was sent. */
  t: number;
  uploaded: number;
  pending: number;
  lagSeconds: number;
}

async function main(): Promise<void> {
  const date = new Date().toISOString().slice(0, 10);
  const root = await mkdtemp(path.join(tmpdir(), 'srr-'));
  trackDir(root);
  onCleanup('temporary directory', async () => {
    await rm(root, { recursive: true, force: true });
    untrackDir(root);
  });
  const s3dir = path.join(root, 's3rver');
  await mkdir(s3dir, { recursive: true });
  const s3 = await startS3rverChild(s3dir);
  onCleanup('s3rver', () => s3.stop());
  const endpoint = `http://127.0.0.1:${s3.port}`;
  const client = createS3Client({ bucket: 'offsite', prefix: '', endpoint, region: 'us-east-1', forcePathStyle: true }, { credentials: S3RVER_CREDENTIALS });
  await client.send(new CreateBucketCommand({ Bucket: 'offsite' }));
  client.destroy();
  const nodeEnv = {
    STRONGROOM_UPLOADS_PER_ACCOUNT: '64', STRONGROOM_UPLOADS_PER_CLIENT: '64', STRONGROOM_UPLOADS_PER_ORGANISATION: '64', STRONGROOM_LOG_LEVEL: 'warn',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    STRONGROOM_REPLICA: `s3://offsite/replica/?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`,
    // Not today's backup in the middle of the figures.
    STRONGROOM_BACKUP: 'off',
  };
  const dataDir = path.join(root, 'vault');
  await mkdir(dataDir, { recursive: true });
  log('seeding a vault (SQLite, blobs in its folder, replica in a bucket on s3rver)');
  const seeded = await seed(dataDir, nodeEnv);
  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log'), env: nodeEnv });
  onCleanup('server', () => server.stop());

  const metricsAgent = keepAliveAgent(1);
  const gauges = async (): Promise<{ pending: number; lagSeconds: number }> => {
    const r = await request(server.baseUrl, metricsAgent, { method: 'GET', path: '/metrics' });
    if (r.status !== 200) throw new Error(`/metrics: ${describe(r)}`);
    const text = r.body.toString('utf8');
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    return { pending: value('strongroom_replica_pending_blobs'), lagSeconds: value('strongroom_replica_lag_seconds') };
  };

  const files = smallFiles(COUNT, BYTES);
  const samples: Sample[] = [];
  let uploaded = 0;
  let failed = 0;
  const started = Date.now();
  const since = () => (Date.now() - started) / 1000;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const at = since();
      samples.push({ t: round(at, 1), uploaded, ...(await gauges()) });
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (since() - at) * 1000)));
    }
  })();

  log(`uploading ${COUNT} × ${BYTES} bytes at ${RATE} files/s (at most ${IN_FLIGHT} in flight)`);
  const agent = keepAliveAgent(IN_FLIGHT);
  const inFlight = new Set<Promise<void>>();
  let behind = 0;
  for (let i = 0; i < COUNT; i += 1) {
    const due = started + (i * 1000) / RATE;
    if (Date.now() < due) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    else if (Date.now() - due > 1000) behind += 1;
    while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    const file = files[i]!;
    const one = request(server.baseUrl, agent, {
      method: 'POST', path: `/api/v1/collections/${seeded.collectionId}/documents?name=lag-${String(i).padStart(5, '0')}.bin`,
      headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/octet-stream', 'content-length': file.length }, body: file,
    }).then((r) => {
      if (r.status === 201) uploaded += 1;
      else failed += 1;
    }, () => void (failed += 1)).finally(() => inFlight.delete(one));
    inFlight.add(one);
  }
  await Promise.all(inFlight);
  const uploadSeconds = since();
  const atEnd = await gauges();
  log(`uploads done in ${uploadSeconds.toFixed(1)} s (${uploaded} acknowledged, ${failed} failed); replica pending ${atEnd.pending}, lag ${atEnd.lagSeconds} s; waiting for it to catch up`);
  const drainStarted = Date.now();
  let caughtUp: number | null = null;
  while (Date.now() - drainStarted < DRAIN_TIMEOUT_MS) {
    const g = await gauges();
    if (g.pending === 0) {
      caughtUp = (Date.now() - drainStarted) / 1000;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  sampling = false;
  await sampler;
  await server.stop();
  s3.stop();

  const during = samples.filter((s) => s.t <= uploadSeconds);
  const max = (list: Sample[], pick: (s: Sample) => number) => list.reduce((m, s) => Math.max(m, pick(s)), 0);
  const results = {
    run: { date, startedAt: new Date(t0).toISOString(), cpus: cpus().length, server: entryForRun().kind, durationSeconds: round((Date.now() - t0) / 1000, 1), loadavgAtEnd: loadavg().map((n) => round(n, 2)) },
    parameters: { count: COUNT, bytes: BYTES, targetFilesPerSec: RATE, maxInFlight: IN_FLIGHT, database: 'sqlite', primary: 'folder', replica: 's3rver bucket (loopback, own process)' },
    uploads: { acknowledged: uploaded, failed, seconds: round(uploadSeconds, 1), filesPerSec: round(uploaded / uploadSeconds, 1), sentMoreThan1sLate: behind },
    whileUploading: { maxPendingBlobs: max(during, (s) => s.pending), maxLagSeconds: max(during, (s) => s.lagSeconds), meanPendingBlobs: round(during.reduce((a, s) => a + s.pending, 0) / Math.max(1, during.length), 1) },
    atEndOfUploads: atEnd,
    after: { secondsToCatchUp: caughtUp === null ? null : round(caughtUp, 1), caughtUp: caughtUp !== null, replicatedFilesPerSecWhileCatchingUp: caughtUp ? round(atEnd.pending / caughtUp, 1) : null },
    samples,
    note: `metrics read once a second as a scraper would (the gauges are computed from the database at each scrape); the replicate job copies each blob from the primary folder into s3rver, which shares the machine's ${cpus().length} cores with the server, its clamd and this benchmark`,
  };
  const out = env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${date}-replica-lag.json`);
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  const rows = [
    ['Figure', 'Result'],
    [`${COUNT} × ${BYTES} B uploads at ${RATE}/s target`, `${fmt(uploaded / uploadSeconds, 'files/s')} achieved, ${failed} failed`],
    ['Replica pending while uploading (max / mean)', `${results.whileUploading.maxPendingBlobs} / ${results.whileUploading.meanPendingBlobs} blobs`],
    ['Replica lag while uploading (max)', `${results.whileUploading.maxLagSeconds} s`],
    ['At the end of the uploads', `${atEnd.pending} pending, oldest ${atEnd.lagSeconds} s`],
    ['Caught up after the uploads in', caughtUp === null ? `not within ${DRAIN_TIMEOUT_MS / 1000} s` : `${caughtUp.toFixed(1)} s`],
  ];
  process.stdout.write(`\nStrongroom replica lag under load ${date} (${cpus().length} cores)\n\n${table(rows)}\n\nResults written to ${path.relative(process.cwd(), out) || out}\n`);
}

runBench(main, log);
