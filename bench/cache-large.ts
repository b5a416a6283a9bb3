// The main connection's page cache on a large vault (issue #16, the server's peak RSS): one vault of
// BENCH_DOCS indexed text documents is built once through a real `strongroom serve` (REST uploads,
// text extracted and indexed by its worker), half of them in one folder; then, for each main
// connection cache size in turn (STRONGROOM_SQLITE_MAIN_CACHE_MIB; the search reader keeps 64 MiB),
// a copy of that vault is served and put through
//   1. BENCH_UPLOADS more text documents by REST (4 clients), counted until their indexing is done
//      (the main connection writes the full-text index);
//   2. a search-index compaction (a compact-search job, queued from here; its FTS5 `optimize`
//      rewrites the whole index on the main connection);
//   3. a WebDAV PROPFIND Depth 1 and a REST listing of the folder (BENCH_DOCS / 2 documents),
//      BENCH_LISTINGS times each, the first from a cold cache;
// recording wall time and the server's CPU for each, and its resident-set peak by phase. The sizes
// are taken in turn and in reverse order every other round, so load on the shared machine falls on
// all alike; the load average is recorded with every run.
// Environment: BENCH_DOCS (20000), BENCH_UPLOADS (1000), BENCH_SIZES (2,8,16,64), BENCH_ROUNDS (2),
// BENCH_LISTINGS (3), BENCH_DOC_BYTES (5000), BENCH_VAULT (keep the built vault in this directory and
// reuse it when it exists), BENCH_OUT (bench/results/<date>-cache-large.json).
// The server is this checkout's dist/ build when it is newer than src/ (bench/lib/strongroom.ts);
// build first, or set BENCH_SERVER=dist, since through tsx the server holds tens of MB more.
// Usage: npm run build && BENCH_SERVER=dist node --no-warnings --import tsx bench/cache-large.ts
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { compactSearchJob } from '../src/domain/jobs/kinds.js';
import { openSqlite, type DatabaseHandle } from '../src/db/kysely.js';
import { JobsRepo } from '../src/db/repos/jobs.repo.js';
import { deriveKey, loadMasterKey } from '../src/storage/keys.js';
import { cleanupAll, cleanupSync, trackDir } from './lib/cleanup.js';
import { cpuOf, settled } from './lib/cpu.js';
import { describe, keepAliveAgent, request, runPool } from './lib/http.js';
import { RssSampler, mb, round } from './lib/rss.js';
import { REPO_ROOT, runCli, seed, startServer, type RunningServer } from './lib/strongroom.js';
import { findDavCollection, type Endpoint } from './lib/workloads.js';

const DOCS = Number(process.env.BENCH_DOCS ?? 20_000);
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 1000);
const SIZES = (process.env.BENCH_SIZES ?? '2,8,16,64').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const LISTINGS = Number(process.env.BENCH_LISTINGS ?? 3);
const DOC_BYTES = Number(process.env.BENCH_DOC_BYTES ?? 5000);
const READER_CACHE_MIB = 64;
const OUT = process.env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-cache-large.json`);
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[cache-large ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}\n`);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
process.on('exit', cleanupSync);

// Text with a long tail of words, so the index grows as a real one does: a deterministic generator
// (the vault is the same every time it is built), made-up words drawn with a Zipf-like skew.
let state = 0x2545f491;
const next = (): number => {
  state = (Math.imul(state, 1_103_515_245) + 12_345) & 0x7fffffff;
  return state / 0x7fffffff;
};
const PARTS = 'al an ar be ca co de di el en er fa ge ha in ko la le ma mi na no or pa ra re sa se ta ti to un va ve wi yo za'.split(' ');
const LEXICON = Array.from({ length: 30_000 }, () => Array.from({ length: 2 + Math.floor(next() * 4) }, () => PARTS[Math.floor(next() * PARTS.length)]).join(''));
function textDocument(n: number): Buffer {
  const words: string[] = [`document${n}`];
  let bytes = 0;
  while (bytes < DOC_BYTES) {
    const w = LEXICON[Math.floor(LEXICON.length * next() ** 3)]!;
    words.push(w);
    bytes += w.length + 1;
  }
  return Buffer.from(`${words.join(' ')}\n`, 'utf8');
}

interface Vault { dataDir: string; token: string; appPassword: string; email: string; orgSlug: string; folderId: string; archiveId: string }

async function upload(api: Endpoint, collectionId: string, first: number, count: number): Promise<{ seconds: number; errors: string[] }> {
  const numbers = Array.from({ length: count }, (_, i) => first + i);
  const result = await runPool(numbers, 4, async (n, agent) => {
    const body = textDocument(n);
    const r = await request(api.baseUrl, agent, {
      method: 'POST', path: `/api/v1/collections/${collectionId}/documents?name=doc-${String(n).padStart(6, '0')}.txt`,
      headers: { authorization: api.authorization, 'content-type': 'text/plain', 'content-length': body.length }, body,
    });
    if (r.status !== 201) throw new Error(`upload ${n}: ${describe(r)}`);
  });
  return { seconds: result.seconds, errors: result.errors };
}

async function openDatabase(dataDir: string): Promise<DatabaseHandle> {
  const master = await loadMasterKey({ dataDir, create: false });
  return openSqlite({ file: path.join(dataDir, 'strongroom.db'), key: deriveKey(master, 'sqlite-database'), cacheMib: 2 });
}

/**
 * Waits until no job is due or running (text extraction and indexing, compaction; not the periodic
 * ones queued for later), then for the server to go quiet.
 */
async function jobsDone(handle: DatabaseHandle, server: RunningServer, kinds?: string[]): Promise<void> {
  for (;;) {
    let query = handle.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) => eb.or([eb('status', '=', 'running'), eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', new Date().toISOString())])]));
    if (kinds) query = query.where('kind', 'in', kinds);
    const { n } = await query.executeTakeFirstOrThrow();
    if (Number(n) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await settled(server.pid);
}

async function buildVault(dataDir: string): Promise<Vault> {
  log(`building a vault of ${DOCS} text documents in ${dataDir}`);
  const seeded = await seed(dataDir);
  const archiveId = (await runCli(['collection', 'add', '--org', seeded.orgSlug, '--name', 'Bench archive', '--service', 'payroll'], { dataDir })).split('\n').pop() as string;
  const server = await startServer({ dataDir, logFile: path.join(dataDir, '..', 'build.log') });
  const handle = await openDatabase(dataDir);
  try {
    const api = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const half = Math.floor(DOCS / 2);
    for (const [collectionId, first, count] of [[seeded.collectionId, 0, half], [archiveId, half, DOCS - half]] as const) {
      for (let start = 0; start < count; start += 2000) {
        const batch = Math.min(2000, count - start);
        const { seconds, errors } = await upload(api, collectionId, first + start, batch);
        if (errors.length) throw new Error(`building the vault: ${errors.slice(0, 3).join('; ')}`);
        await jobsDone(handle, server);
        log(`  ${first + start + batch} documents (${(batch / seconds).toFixed(0)}/s), load ${load()}`);
      }
    }
    const { rows: [indexed] } = await sql<{ n: number }>`select count(distinct document_id) as n from search_sections`.execute(handle.db);
    log(`documents in the index: ${indexed?.n}`);
  } finally {
    await handle.close();
    await server.stop();
  }
  const vault = { dataDir, token: seeded.token, appPassword: seeded.appPassword, email: seeded.email, orgSlug: seeded.orgSlug, folderId: seeded.collectionId, archiveId };
  await writeFile(path.join(dataDir, '..', 'vault.json'), JSON.stringify(vault));
  return vault;
}

const PROPFIND_BODY = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/></D:prop></D:propfind>';

interface Timed { seconds: number; serverCpuSeconds: number }
async function phase(server: RunningServer, rss: RssSampler, name: string, work: () => Promise<void>): Promise<Timed> {
  rss.phase(name);
  const cpu = cpuOf(server.pid);
  const started = Date.now();
  await work();
  return { seconds: round((Date.now() - started) / 1000, 2), serverCpuSeconds: round(cpuOf(server.pid) - cpu, 2) };
}

async function measure(vault: Vault, mainCacheMib: number, roundNo: number): Promise<Record<string, unknown>> {
  const root = await mkdtemp(path.join(tmpdir(), 'sr-cache-large-'));
  trackDir(root);
  const dataDir = path.join(root, 'd');
  await cp(vault.dataDir, dataDir, { recursive: true });
  const loadBefore = load();
  const server = await startServer({
    dataDir, logFile: path.join(root, 'server.log'),
    env: { STRONGROOM_SQLITE_MAIN_CACHE_MIB: String(mainCacheMib), STRONGROOM_SQLITE_CACHE_MIB: String(READER_CACHE_MIB), STRONGROOM_LOG_LEVEL: 'warn' },
  });
  const handle = await openDatabase(dataDir);
  const rss = new RssSampler(server.pid).start();
  try {
    await settled(server.pid);
    const api = { baseUrl: server.baseUrl, authorization: `Bearer ${vault.token}` };
    const uploads = await phase(server, rss, 'uploads', async () => {
      const { errors } = await upload(api, vault.archiveId, DOCS + 1_000_000 * (roundNo + 1), UPLOADS);
      if (errors.length) throw new Error(`uploads: ${errors.slice(0, 3).join('; ')}`);
      await jobsDone(handle, server);
    });
    const compaction = await phase(server, rss, 'compaction', async () => {
      if (!(await new JobsRepo(handle.db, handle.caps).enqueue(compactSearchJob, {}, { now: new Date(), organisationId: null }))) throw new Error('a compaction was already queued');
      await jobsDone(handle, server, ['compact-search']);
      const job = await handle.db.selectFrom('jobs').select('status').where('kind', '=', 'compact-search').executeTakeFirstOrThrow();
      if (job.status !== 'done') throw new Error(`the compaction ended ${job.status}`);
    });
    const failed = await handle.db.selectFrom('jobs').select('kind').where('status', '=', 'failed').execute();
    if (failed.length) throw new Error(`failed jobs: ${failed.map((f) => f.kind).join(', ')}`);
    const dav = { baseUrl: server.baseUrl, authorization: `Basic ${Buffer.from(`${vault.email}:${vault.appPassword}`).toString('base64')}` };
    const folder = await findDavCollection(dav, ['Bench payroll']);
    if (!folder) throw new Error('the folder is not in WebDAV');
    const agent = keepAliveAgent(1);
    const propfinds: number[] = [];
    const listings: number[] = [];
    const listing = await phase(server, rss, 'listings', async () => {
      for (let i = 0; i < LISTINGS; i++) {
        let started = Date.now();
        const p = await request(dav.baseUrl, agent, { method: 'PROPFIND', path: folder, headers: { authorization: dav.authorization, depth: '1', 'content-type': 'application/xml' }, body: Buffer.from(PROPFIND_BODY), timeoutMs: 120_000 });
        if (p.status !== 207) throw new Error(`PROPFIND: ${describe(p)}`);
        const entries = (p.body.toString('utf8').match(/<D:response>/gi) ?? []).length;
        if (entries < DOCS / 2) throw new Error(`PROPFIND listed ${entries} entries`);
        propfinds.push(Date.now() - started);
        started = Date.now();
        const r = await request(api.baseUrl, agent, { method: 'GET', path: `/api/v1/collections/${vault.folderId}`, headers: { authorization: api.authorization }, timeoutMs: 120_000 });
        if (r.status !== 200) throw new Error(`listing: ${describe(r)}`);
        const documents = (JSON.parse(r.body.toString('utf8')) as { documents: unknown[] }).documents.length;
        if (documents !== Math.floor(DOCS / 2)) throw new Error(`the listing has ${documents} documents`);
        listings.push(Date.now() - started);
      }
    });
    agent.destroy();
    rss.stop();
    const databaseBytes = (await stat(path.join(dataDir, 'strongroom.db'))).size;
    const result = {
      round: roundNo, mainCacheMib, readerCacheMib: READER_CACHE_MIB, loadBefore, loadAfter: load(),
      uploads: { count: UPLOADS, ...uploads, serverCpuMsPerUpload: round((uploads.serverCpuSeconds * 1000) / UPLOADS, 2) },
      compaction, listings: { ...listing, propfindMs: propfinds, restListingMs: listings },
      rssPeakMB: round(mb(rss.hwmBytes), 1), rssByPhaseMB: rss.byPhaseMB(),
      atPeak: rss.atMax ? { anonymousMB: round(mb(rss.atMax.anonymousBytes), 1), fileBackedMB: round(mb(rss.atMax.fileBackedBytes), 1), phase: rss.atMax.phase } : undefined,
      databaseMB: round(mb(databaseBytes), 1),
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    rss.stop();
    await handle.close();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

try {
  const keep = process.env.BENCH_VAULT ? path.resolve(process.env.BENCH_VAULT) : undefined;
  let vault: Vault;
  if (keep && existsSync(path.join(keep, 'vault.json'))) {
    vault = JSON.parse(await readFile(path.join(keep, 'vault.json'), 'utf8')) as Vault;
    log(`reusing the vault in ${keep}`);
  } else {
    const home = keep ?? (await mkdtemp(path.join(tmpdir(), 'sr-cache-vault-')));
    if (!keep) trackDir(home);
    await mkdir(home, { recursive: true });
    vault = await buildVault(path.join(home, 'd'));
  }
  const runs: Record<string, unknown>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const size of r % 2 === 0 ? SIZES : [...SIZES].reverse()) {
      log(`round ${r + 1}: main connection cache ${size} MiB, load ${load()}`);
      runs.push(await measure(vault, size, r));
    }
  }
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, `${JSON.stringify({ date: new Date().toISOString(), docs: DOCS, uploads: UPLOADS, docBytes: DOC_BYTES, sizes: SIZES, rounds: ROUNDS, runs }, null, 2)}\n`);
  log(`wrote ${OUT}`);
} finally {
  await cleanupAll(log);
}
