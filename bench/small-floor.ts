// The floor under a small file's cost on this machine: each thing the #16 aims ask of a 4 KiB upload
// and download (HTTP, a clamd scan, a durable blob, encryption, the database row and audit event),
// done alone the cheapest way, with no Strongroom code, and the CPU each costs; beside Apache mod_dav
// and `rclone serve webdav` over a crypt remote, measured the same way, with the same client, in the
// same run. It answers whether an aim is reachable at all here: an aim of R files a second on 2 cores
// leaves 2 / R CPU-seconds per file for the client, the server and clamd together.
// Each part runs N operations with BENCH_CLIENTS (4) in flight:
//   http      a bare node:http server in a child process: PUT reads a 4 KiB body and answers 201,
//             GET answers with 4 KiB held in memory (Node's own cost of a request, and the client's)
//   clamd     clamd INSTREAM of 4 KiB of fresh random data over kept sessions, as the server sends a small file
//   blob      write a file, fdatasync, rename it into place, fsync the folder (a durable upload)
//   read      open, read and close a 4 KiB file (a download's content)
//   crypto    AES-256-GCM and SHA-256 of 4 KiB (upload) / AES-256-GCM decrypt (download)
//   database  an encrypted SQLite (AEGIS-256 as the vault's, WAL) transaction of a document row, a version row and an
//             audit row, each with its key and one index (upload), or an audit row alone (download);
//             the write-ahead log is synced once per BENCH_CLIENTS commits, as group commit would
// Every part runs ROUNDS times (2), and the figures taken are the ones most favourable to the aims:
// each part's lowest CPU, and each reference's lowest rate (the most CPU it leaves per file). So a
// floor above a budget is a limit of the machine, not of one unlucky round.
// BENCH_SKIP_APACHE=1, BENCH_SKIP_RCLONE=1 leave out the references. Writes
// bench/results/<date>-small-floor.json and .md beside it (BENCH_OUT=<file.json> to choose).
// Usage: node --no-warnings --import tsx bench/small-floor.ts [N] [ROUNDS]
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { fdatasyncSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3-multiple-ciphers';
import { openEncryptedSqlite } from '../src/db/sqlite-cipher.js';
import { startTestClamd } from '../test/support/clamd.js';
import { startApache } from './lib/apache.js';
import { cleanupAll, cleanupSync, trackDir } from './lib/cleanup.js';
import { cpuOf, cpuOfTree, clientCpu } from './lib/cpu.js';
import { smallFiles } from './lib/data.js';
import { describe, request, runPool } from './lib/http.js';
import { startRcloneCrypt } from './lib/rclone.js';
import { markdownTable, table } from './lib/report.js';
import { startChildServer, type ChildServer } from './lib/child-server.js';
import { REPO_ROOT } from './lib/strongroom.js';
import { davSmallGets, davSmallPuts, type Endpoint } from './lib/workloads.js';

const N = Number(process.argv[2] ?? process.env.BENCH_COUNT ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 2);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 4);
const SIZE = 4096;
process.on('exit', cleanupSync);

interface Part {
  /** Operations a second over the part's wall time. */
  perSecond: number;
  /** CPU milliseconds per operation, by process. */
  cpuMs: Record<string, number>;
}

const ms = (seconds: number): number => Math.round((seconds * 1e6) / N) / 1000;

/** Runs `work` N times with CLIENTS in flight and charges the CPU of each source to it. */
async function part(sources: Record<string, () => number>, work: (i: number) => Promise<void>): Promise<Part> {
  const before = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    for (let i = next++; i < N; i = next++) await work(i);
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { perSecond: Math.round(N / seconds), cpuMs: Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, ms(f() - (before[k] ?? 0))])) };
}

async function pooled(sources: Record<string, () => number>, run: () => Promise<{ seconds: number; done: number; errors: string[] }>): Promise<Part> {
  const before = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
  const r = await run();
  if (r.errors.length > 0 || r.done !== N) throw new Error(`${r.done} of ${N} done: ${r.errors.slice(0, 3).join('; ')}`);
  return { perSecond: Math.round(N / r.seconds), cpuMs: Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, ms(f() - (before[k] ?? 0))])) };
}

/** A node:http server doing nothing but HTTP, in its own process so its CPU is its own. */
async function bareNodeServer(): Promise<ChildServer> {
  const script = `
    const http = require('node:http');
    const body = Buffer.alloc(${SIZE}, 7);
    const server = http.createServer((req, res) => {
      if (req.method === 'PUT') {
        let bytes = 0;
        req.on('data', (c) => { bytes += c.length; });
        req.on('end', () => { res.writeHead(201, { 'content-type': 'application/json' }); res.end(JSON.stringify({ bytes })); });
      } else {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      }
    });
    server.keepAliveTimeout = 30000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));`;
  return startChildServer(script);
}

function database(file: string): Database.Database {
  // The vault's own cipher and key handling (AEGIS-256, a raw key), as in src/db/kysely.ts.
  const db = openEncryptedSqlite(file, randomBytes(32));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    create table documents (id text primary key, collection_id text not null, name text not null, created_at text not null);
    create index documents_by_name on documents (collection_id, name);
    create table versions (id text primary key, document_id text not null, blob_id text not null, size integer not null, sha256 text not null);
    create index versions_by_document on versions (document_id);
    create table audit_events (id integer primary key, at text not null, actor text not null, action text not null, resource text not null);
    create index audit_by_resource on audit_events (resource);`);
  return db;
}

const rounds: Record<string, Part>[] = [];
let results: Record<string, Part> = {};
const root = await mkdtemp(path.join(tmpdir(), 'srb-floor-'));
trackDir(root);
const log = (line: string): void => void process.stderr.write(`[floor] ${line}\n`);
const client = { client: clientCpu };
const files = smallFiles(N, SIZE);

try {
  for (let round = 1; round <= ROUNDS; round++) {
    results = {};
    log(`round ${round} of ${ROUNDS}`);
    // References: the same client, the same files, the same concurrency as bench/run.ts's WebDAV phase.
    const references: { name: string; start: () => Promise<{ baseUrl: URL; davPath: string; authorization: string; pid: number; stop: () => Promise<void> }> }[] = [];
    if (process.env.BENCH_SKIP_APACHE !== '1') references.push({ name: 'apache', start: startApache });
    if (process.env.BENCH_SKIP_RCLONE !== '1') references.push({ name: 'rclone', start: startRcloneCrypt });
    for (const ref of references) {
      log(`${ref.name}: ${N} × 4 KiB PUT then GET`);
      const running = await ref.start();
      try {
        const dav: Endpoint = { baseUrl: running.baseUrl, authorization: running.authorization };
        const sources = { server: () => cpuOfTree(running.pid), ...client };
        results[`${ref.name} PUT`] = await pooled(sources, () => davSmallPuts(dav, running.davPath, files, CLIENTS, 'f'));
        results[`${ref.name} GET`] = await pooled(sources, () => davSmallGets(dav, running.davPath, files, CLIENTS, 'f'));
      } finally {
        await running.stop();
      }
    }

    log(`bare node:http: ${N} × 4 KiB PUT then GET`);
    const bare = await bareNodeServer();
    try {
      const sources = { server: () => cpuOf(bare.pid), ...client };
      const put = async (file: Buffer, agent: import('node:http').Agent, i: number): Promise<void> => {
        const r = await request(bare.baseUrl, agent, { method: 'PUT', path: `/f-${i}`, body: file, headers: { 'content-type': 'application/octet-stream', 'content-length': file.length } });
        if (r.status !== 201) throw new Error(describe(r));
      };
      const get = async (_file: Buffer, agent: import('node:http').Agent, i: number): Promise<void> => {
        const r = await request(bare.baseUrl, agent, { method: 'GET', path: `/f-${i}` });
        if (r.status !== 200 || r.bytes !== SIZE) throw new Error(describe(r));
      };
      results['http PUT'] = await pooled(sources, () => runPool(files, CLIENTS, put));
      results['http GET'] = await pooled(sources, () => runPool(files, CLIENTS, get));
    } finally {
      bare.stop();
    }

    log(`clamd: ${N} × 4 KiB INSTREAM over kept sessions`);
    const clamd = await startTestClamd();
    try {
      const scanner = clamd.scanner({ keptSessions: {} });
      const sources = { clamd: () => cpuOf(clamd.supervisor.pid), server: clientCpu };
      results['clamd scan'] = await part(sources, async (i) => {
        const verdict = await scanner.scan((async function* () { yield files[i] as Buffer; })());
        if (verdict.outcome !== 'clean') throw new Error(`clamd: ${JSON.stringify(verdict)}`);
      });
      scanner.close();
    } finally {
      await clamd.stop();
    }

    log(`blob: ${N} durable 4 KiB files`);
    const blobs = path.join(root, `blobs-${round}`);
    await mkdir(blobs);
    const own = { server: clientCpu };
    results['blob write'] = await part(own, async (i) => {
      const id = randomUUID();
      const temporary = path.join(blobs, `.${id}.tmp`);
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.write(files[i] as Buffer);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path.join(blobs, `f-${i}`));
      const folder = await open(blobs, 'r');
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    });
    results['blob read'] = await part(own, async (i) => {
      const content = await readFile(path.join(blobs, `f-${i}`));
      if (content.length !== SIZE) throw new Error('short read');
    });

    log(`crypto: ${N} × 4 KiB`);
    const key = randomBytes(32);
    const sealed: { iv: Buffer; tag: Buffer; data: Buffer }[] = [];
    results['encrypt + hash'] = await part(own, async (i) => {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const file = files[i] as Buffer;
      const data = Buffer.concat([cipher.update(file), cipher.final()]);
      createHash('sha256').update(file).digest();
      sealed[i] = { iv, tag: cipher.getAuthTag(), data };
    });
    results['decrypt'] = await part(own, async (i) => {
      const s = sealed[i] as { iv: Buffer; tag: Buffer; data: Buffer };
      const decipher = createDecipheriv('aes-256-gcm', key, s.iv);
      decipher.setAuthTag(s.tag);
      Buffer.concat([decipher.update(s.data), decipher.final()]);
    });

    log(`database: ${N} upload transactions, then ${N} audit rows`);
    const dbFile = path.join(root, `floor-${round}.db`);
    const db = database(dbFile);
    try {
      const insertDocument = db.prepare('insert into documents (id, collection_id, name, created_at) values (?, ?, ?, ?)');
      const insertVersion = db.prepare('insert into versions (id, document_id, blob_id, size, sha256) values (?, ?, ?, ?, ?)');
      const insertAudit = db.prepare('insert into audit_events (at, actor, action, resource) values (?, ?, ?, ?)');
      const collection = randomUUID();
      const actor = randomUUID();
      const wal = openSync(`${dbFile}-wal`, 'r');
      let commits = 0;
      // Group commit: the write-ahead log is synced once for every CLIENTS commits, off the loop.
      const groupSync = async (): Promise<void> => {
        if (++commits % CLIENTS === 0) await new Promise<void>((resolve) => setImmediate(() => { fdatasyncSync(wal); resolve(); }));
      };
      const upload = db.transaction((i: number) => {
        const document = randomUUID();
        const at = new Date().toISOString();
        insertDocument.run(document, collection, `f-${i}.bin`, at);
        insertVersion.run(randomUUID(), document, randomUUID(), SIZE, createHash('sha256').update(String(i)).digest('hex'));
        insertAudit.run(at, actor, 'document.uploaded', document);
      });
      results['database upload'] = await part(own, async (i) => {
        upload(i);
        await groupSync();
      });
      results['database audit'] = await part(own, async (i) => {
        insertAudit.run(new Date().toISOString(), actor, 'document.downloaded', String(i));
        await groupSync();
      });
      closeSync(wal);
    } finally {
      db.close();
    }
    rounds.push(results);
  }
} finally {
  await cleanupAll(log);
}

// The figures most favourable to the aims: each part's lowest CPU, each reference's lowest rate.
results = {};
for (const name of Object.keys(rounds[0] ?? {})) {
  const all = rounds.map((r) => r[name] as Part);
  const reference = /^(apache|rclone) /.test(name);
  const pick = (values: number[]): number => (reference ? Math.min(...values) : Math.max(...values));
  const cpuMs: Record<string, number> = {};
  for (const who of Object.keys(all[0]?.cpuMs ?? {})) cpuMs[who] = Math.min(...all.map((p) => p.cpuMs[who] ?? Infinity));
  results[name] = { perSecond: pick(all.map((p) => p.perSecond)), cpuMs };
}
const cpu = (name: string, who = 'server'): number => results[name]?.cpuMs[who] ?? 0;
const sum = (values: number[]): number => Math.round(values.reduce((a, b) => a + b, 0) * 1000) / 1000;
const serverUpload = sum([cpu('http PUT'), cpu('clamd scan'), cpu('blob write'), cpu('encrypt + hash'), cpu('database upload')]);
const serverDownload = sum([cpu('http GET'), cpu('blob read'), cpu('decrypt'), cpu('database audit')]);
const machineUpload = sum([serverUpload, cpu('clamd scan', 'clamd'), cpu('http PUT', 'client')]);
const machineDownload = sum([serverDownload, cpu('http GET', 'client')]);
const cores = (await import('node:os')).cpus().length;
const budget = (perSecond: number | undefined): number | null => (perSecond ? Math.round((cores * 1e6) / perSecond) / 1000 : null);

const rows: string[][] = [['part', 'per second', 'server CPU ms', 'clamd CPU ms', 'client CPU ms']];
for (const [name, r] of Object.entries(results)) rows.push([name, String(r.perSecond), String(r.cpuMs.server ?? ''), String(r.cpuMs.clamd ?? ''), String(r.cpuMs.client ?? '')]);
const floors: string[][] = [
  ['floor', 'upload', 'download'],
  ['server CPU: http + clamd client + blob + crypto + database', `${serverUpload} ms`, `${serverDownload} ms`],
  ['machine CPU: that + clamd + the client', `${machineUpload} ms`, `${machineDownload} ms`],
  ['machine CPU at most, to keep pace with Apache (per file)', `${budget(results['apache PUT']?.perSecond)} ms`, `${budget(results['apache GET']?.perSecond)} ms`],
  ['… with 0.5 × Apache (the aim)', `${budget((results['apache PUT']?.perSecond ?? 0) / 2)} ms`, `${budget((results['apache GET']?.perSecond ?? 0) / 2)} ms`],
  ['… with 1.5 × rclone crypt (the aim)', `${budget((results['rclone PUT']?.perSecond ?? 0) * 1.5)} ms`, `${budget((results['rclone GET']?.perSecond ?? 0) * 1.5)} ms`],
];
process.stdout.write(`${table(rows)}\n\n${table(floors)}\n`);
const out = path.resolve(process.env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-small-floor.json`));
{
  const figures = { date: new Date().toISOString(), count: N, clients: CLIENTS, cores, rounds, parts: results, floor: { serverUpload, serverDownload, machineUpload, machineDownload } };
  await writeFile(out, `${JSON.stringify(figures, null, 2)}\n`);
  await writeFile(out.replace(/\.json$/, '.md'), `# Small-file floor, ${figures.date}\n\n${N} operations each, ${CLIENTS} in flight, ${cores} cores, best of ${ROUNDS} rounds (each part's lowest CPU; each reference's lowest rate).\n\n${markdownTable(rows)}\n\n${markdownTable(floors)}\n`);
}
process.stderr.write(`[floor] written to ${path.relative(process.cwd(), out)}\n`);
