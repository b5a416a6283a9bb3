// What a large folder's listing costs the server in memory (issue #16: peak RSS < 300 MB). One vault
// with a folder of BENCH_DOCS documents (one uploaded through REST, the rest cloned straight into the
// database by test/support/cloned-documents.ts), then, for each checkout in turn (this one, and
// BENCH_BEFORE's if set: alternated, and reversed every other round, so load on the shared machine
// falls on both alike), a fresh `strongroom serve` for each kind of listing:
//   - a WebDAV PROPFIND Depth 1 of the folder (the five live properties rclone and Finder ask for),
//   - the same with allprop (dead properties and lockdiscovery asked for too),
//   - a REST listing of the folder (GET /api/v1/collections/:id),
// BENCH_LISTINGS times each; recording the server's resident set (VmRSS sampled every 20 ms and the
// kernel's VmHWM) and V8 heap (from /metrics) when settled before the first, and after each; the
// listing's wall time and the server's CPU. A fresh server per kind, so each peak is its own.
// Every listing's body is compared byte for byte with the first of its kind (any checkout's), and the
// run stops if one differs: a change that saves memory must not change the answer.
// Environment: BENCH_DOCS (10000), BENCH_LISTINGS (3), BENCH_ROUNDS (2), BENCH_BEFORE (a built
// checkout to compare with, e.g. one at the base commit), BENCH_OUT (bench/results/<date>-listing-memory.json).
// Usage: npm run build && BENCH_BEFORE=/path/to/old/checkout node --no-warnings --import tsx bench/listing-memory.ts
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { openSqlite, type DatabaseHandle } from '../src/db/kysely.js';
import { deriveKey, loadMasterKey } from '../src/storage/keys.js';
import { cleanupAll, cleanupSync, trackDir } from './lib/cleanup.js';
import { cpuOf, settled } from './lib/cpu.js';
import { describe, keepAliveAgent, request } from './lib/http.js';
import { RssSampler, mb, round, v8HeapOf } from './lib/rss.js';
import { REPO_ROOT, entryAt, seed, startServer, type Entry } from './lib/strongroom.js';
import { findDavCollection } from './lib/workloads.js';
import { cloneDocuments } from '../test/support/cloned-documents.js';

const DOCS = Number(process.env.BENCH_DOCS ?? 10_000);
const LISTINGS = Number(process.env.BENCH_LISTINGS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const OUT = process.env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-listing-memory.json`);
const CHECKOUTS: { name: string; entry: Entry }[] = [
  { name: 'this', entry: entryAt(REPO_ROOT) },
  ...(process.env.BENCH_BEFORE ? [{ name: 'before', entry: entryAt(path.resolve(process.env.BENCH_BEFORE)) }] : []),
];
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[listing-memory ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
process.on('exit', cleanupSync);

const LIVE_PROPS = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>';
const ALLPROP = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

async function openDatabase(dataDir: string): Promise<DatabaseHandle> {
  const master = await loadMasterKey({ dataDir, create: false });
  return openSqlite({ file: path.join(dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database'), cacheMib: 2 });
}

/** One document through REST (so every row it needs is real), then DOCS - 1 copies of its rows. */
async function buildVault(dataDir: string) {
  const seeded = await seed(dataDir, {}, CHECKOUTS[0]!.entry);
  const server = await startServer({ dataDir, logFile: path.join(dataDir, '..', 'build.log'), entry: CHECKOUTS[0]!.entry });
  try {
    const agent = keepAliveAgent(1);
    const body = Buffer.from('template');
    const r = await request(server.baseUrl, agent, {
      method: 'POST', path: `/api/v1/collections/${seeded.collectionId}/documents?name=template.txt`,
      headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'text/plain', 'content-length': body.length }, body,
    });
    agent.destroy();
    if (r.status !== 201) throw new Error(`template upload: ${describe(r)}`);
    await settled(server.pid, 1);
  } finally {
    await server.stop();
  }
  const handle = await openDatabase(dataDir);
  try {
    const template = await handle.db.selectFrom('documents').select('id').where('name', '=', 'template.txt').executeTakeFirstOrThrow();
    await cloneDocuments(handle.db, template.id, DOCS - 1, (i) => `file-${String(i).padStart(5, '0')}.txt`);
  } finally {
    await handle.close();
  }
  return seeded;
}

type Kind = 'propfind-live' | 'propfind-allprop' | 'rest';
const KINDS: Kind[] = ['propfind-live', 'propfind-allprop', 'rest'];

async function measure(dataDir: string, seeded: Awaited<ReturnType<typeof buildVault>>, checkout: (typeof CHECKOUTS)[number], kind: Kind, bodies: Map<string, string>) {
  const loadBefore = load();
  const server = await startServer({ dataDir, logFile: path.join(dataDir, '..', `${checkout.name}.log`), entry: checkout.entry, env: { STRONGROOM_LOG_LEVEL: 'warn' } });
  const rss = new RssSampler(server.pid, 20).start();
  const agent = keepAliveAgent(1);
  try {
    const dav = { baseUrl: server.baseUrl, authorization: `Basic ${Buffer.from(`${seeded.email}:${seeded.appPassword}`).toString('base64')}` };
    const folder = await findDavCollection(dav, [seeded.collectionName]);
    if (!folder) throw new Error('the folder is not in WebDAV');
    await settled(server.pid, 0.5);
    const heapBefore = await v8HeapOf(server.baseUrl);
    rss.sample();
    const settledRss = rss.maxRssBytes;
    const times: number[] = [];
    const heaps: unknown[] = [];
    const cpu = cpuOf(server.pid);
    for (let i = 0; i < LISTINGS; i++) {
      const started = Date.now();
      const r = kind === 'rest'
        ? await request(server.baseUrl, agent, { method: 'GET', path: `/api/v1/collections/${seeded.collectionId}`, headers: { authorization: `Bearer ${seeded.token}` }, timeoutMs: 120_000 })
        : await request(server.baseUrl, agent, {
          method: 'PROPFIND', path: folder, timeoutMs: 120_000,
          headers: { authorization: dav.authorization, depth: '1', 'content-type': 'application/xml' }, body: Buffer.from(kind === 'propfind-live' ? LIVE_PROPS : ALLPROP),
        });
      times.push(Date.now() - started);
      if (r.status !== (kind === 'rest' ? 200 : 207)) throw new Error(`${kind}: ${describe(r)}`);
      // lockdiscovery's timeouts and nothing else vary with time; there are no locks here.
      const text = r.body.toString('utf8');
      const seen = bodies.get(kind);
      if (seen === undefined) bodies.set(kind, text);
      else if (seen !== text) throw new Error(`${checkout.name}: the ${kind} body differs (${text.length} against ${seen.length} characters)`);
      heaps.push(await v8HeapOf(server.baseUrl));
    }
    const serverCpuSeconds = round(cpuOf(server.pid) - cpu, 2);
    rss.stop();
    const result = {
      checkout: checkout.name, kind, loadBefore, loadAfter: load(), ms: times, serverCpuSeconds, bodyBytes: Buffer.byteLength(bodies.get(kind)!),
      settledRssMB: round(mb(settledRss), 1), peakRssMB: round(mb(rss.hwmBytes), 1), aboveSettledMB: round(mb(rss.hwmBytes - settledRss), 1),
      heapBefore, heapsAfter: heaps,
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    agent.destroy();
    rss.stop();
    await server.stop();
  }
}

try {
  const home = await mkdtemp(path.join(tmpdir(), 'sr-listing-memory-'));
  trackDir(home);
  const dataDir = path.join(home, 'd');
  await mkdir(dataDir);
  log(`building a folder of ${DOCS} documents, load ${load()}`);
  const seeded = await buildVault(dataDir);
  const bodies = new Map<string, string>();
  const runs: unknown[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const checkout of r % 2 === 0 ? CHECKOUTS : [...CHECKOUTS].reverse()) {
      for (const kind of KINDS) runs.push(await measure(dataDir, seeded, checkout, kind, bodies));
    }
  }
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, `${JSON.stringify({ date: new Date().toISOString(), docs: DOCS, listings: LISTINGS, rounds: ROUNDS, checkouts: CHECKOUTS.map((c) => c.name), runs }, null, 2)}\n`);
  log(`wrote ${OUT}`);
  await rm(home, { recursive: true, force: true });
} finally {
  await cleanupAll(log);
}
