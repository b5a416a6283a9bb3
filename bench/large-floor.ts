// The floor under a large download on this machine (issue #16: "1 GiB warm download ≥ 0.8 × Apache
// GET", REST and WebDAV): what serving 1 GiB costs a Node server that does nothing else, beside
// Apache mod_dav's GET of the same size, with the same client (curl), in the same run. Apache sends
// a file with sendfile(2) and decrypts nothing; a server that keeps its files encrypted must read
// the sealed chunks, open each one and write the plaintext to the socket. Three servers:
//   apache    Apache mod_dav's GET of a 1 GiB file it was sent (warm in the page cache)
//   send      a bare node:http server in a child process writing 1 GiB held in memory, 64 KiB a write:
//             Node's own cost of sending the bytes
//   decrypt   the same server reading a 1 GiB file of AES-256-GCM sealed 64 KiB chunks (the blob
//             format's sizes, warm in the page cache) synchronously into one buffer, and opening each
//             chunk with a fresh decipher, as Strongroom must (src/storage/blob-format.ts openChunk),
//             then writing it: the cheapest way found (a read stream piped through a Transform cost
//             1.2 CPU-s a GiB here, more than Strongroom's own server)
// Each runs ROUNDS (3) times; the figures taken are the most favourable to the aim, as in
// bench/small-floor.ts (each Node server's lowest CPU, Apache's lowest rate), so a floor above a
// budget is the machine's limit, not an unlucky round. It prints the most a server that decrypts
// can reach here: on one thread (decrypting and sending in turn), and on every core shared with the
// client (decrypting on other threads, if that cost nothing more). Writes
// bench/results/<date>-large-floor.json and .md (BENCH_OUT=<file.json> to choose).
// Usage: node --no-warnings --import tsx bench/large-floor.ts [MiB] [ROUNDS]
import { createCipheriv, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { startApache } from './lib/apache.js';
import { cleanupAll, cleanupSync, trackDir } from './lib/cleanup.js';
import { clientCpu, cpuOf, cpuOfTree } from './lib/cpu.js';
import { GiB, MiB, randomBuffer } from './lib/data.js';
import { transfer } from './lib/large-transfer.js';
import { markdownTable, table } from './lib/report.js';
import { startChildServer, type ChildServer } from './lib/child-server.js';
import { REPO_ROOT } from './lib/strongroom.js';

const BYTES = Number(process.argv[2] ?? process.env.BENCH_LARGE_MIB ?? 1024) * MiB;
const ROUNDS = Number(process.argv[3] ?? 3);
const CHUNK = 64 * 1024;
const TAG = 16;
const cores = cpus().length;
const log = (line: string): void => void process.stderr.write(`[large floor] ${line}\n`);
const perGiB = (cpuSeconds: number): number => Math.round(((cpuSeconds * GiB) / BYTES) * 1000) / 1000;
const mbps = (seconds: number): number => Math.round(BYTES / seconds / 1e6);

/** The file of sealed chunks the decrypting server reads, and its key: one nonce for all (only the cost is measured). */
async function sealedFile(file: string): Promise<{ key: Buffer; nonce: Buffer }> {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const base = randomBuffer(64 * MiB);
  const out = createWriteStream(file);
  for (let at = 0; at < BYTES; at += CHUNK) {
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const offset = at % base.length;
    const sealed = Buffer.concat([cipher.update(base.subarray(offset, offset + CHUNK)), cipher.final(), cipher.getAuthTag()]);
    if (!out.write(sealed)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  return { key, nonce };
}

/** A bare node:http server in a child process: GET /send writes BYTES from memory, GET /decrypt opens the sealed file's chunks. */
async function bareNodeServer(file: string, key: Buffer, nonce: Buffer): Promise<ChildServer> {
  const script = `
    const http = require('node:http');
    const fs = require('node:fs');
    const { createDecipheriv } = require('node:crypto');
    const key = Buffer.from('${key.toString('hex')}', 'hex');
    const nonce = Buffer.from('${nonce.toString('hex')}', 'hex');
    const held = Buffer.alloc(${64 * MiB}, 7);
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': ${BYTES} });
      if (req.url === '/send') {
        let sent = 0;
        const more = () => {
          while (sent < ${BYTES}) {
            const offset = sent % held.length;
            sent += ${CHUNK};
            if (!res.write(held.subarray(offset, offset + ${CHUNK}))) return res.once('drain', more);
          }
          res.end();
        };
        return more();
      }
      // Read synchronously (the page cache answers at once) into one buffer used again for every
      // chunk: the decipher's output is a buffer of its own, so nothing else is allocated.
      const fd = fs.openSync(${JSON.stringify(file)}, 'r');
      const sealed = Buffer.allocUnsafe(${CHUNK + TAG});
      let at = 0;
      const more = () => {
        while (at < ${BYTES}) {
          fs.readSync(fd, sealed, 0, sealed.length, (at / ${CHUNK}) * ${CHUNK + TAG});
          at += ${CHUNK};
          const decipher = createDecipheriv('aes-256-gcm', key, nonce);
          decipher.setAuthTag(sealed.subarray(${CHUNK}));
          const plain = decipher.update(sealed.subarray(0, ${CHUNK}));
          decipher.final();
          if (!res.write(plain)) return res.once('drain', more);
        }
        fs.closeSync(fd);
        res.end();
      };
      more();
    });
    server.keepAliveTimeout = 30000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));`;
  return startChildServer(script);
}

interface Measured {
  MBps: number;
  serverCpuPerGiB: number;
  clientCpuPerGiB: number;
}

/** One GET of BYTES through curl, with the server's and the client's CPU. */
async function get(baseUrl: URL, urlPath: string, headers: Record<string, string>, serverCpu: () => number): Promise<Measured> {
  const before = { server: serverCpu(), client: clientCpu() };
  const { seconds, value } = await transfer({ baseUrl, method: 'GET', path: urlPath, headers, timeoutMs: 300_000 });
  if (value.status !== 200 || value.bytes !== BYTES) throw new Error(`GET ${urlPath} answered ${value.status} with ${value.bytes} bytes`);
  return { MBps: mbps(seconds), serverCpuPerGiB: perGiB(serverCpu() - before.server), clientCpuPerGiB: perGiB(clientCpu() - before.client) };
}

process.on('exit', cleanupSync);
const root = await mkdtemp(path.join(tmpdir(), 'srb-large-floor-'));
trackDir(root);
const runs: Record<string, Measured[]> = { apache: [], send: [], decrypt: [] };
try {
  log(`sealing ${BYTES / MiB} MiB in ${CHUNK / 1024} KiB chunks`);
  const file = path.join(root, 'sealed');
  const { key, nonce } = await sealedFile(file);
  const apache = await startApache();
  const bare = await bareNodeServer(file, key, nonce);
  try {
    const apacheHeaders = { authorization: apache.authorization };
    const apacheFile = `${apache.davPath}floor.bin`;
    log(`Apache: PUT ${BYTES / MiB} MiB`);
    const put = await transfer({ baseUrl: apache.baseUrl, method: 'PUT', path: apacheFile, headers: apacheHeaders, bodyBytes: BYTES, timeoutMs: 300_000 }, randomBuffer(64 * MiB));
    if (put.value.status !== 201 && put.value.status !== 204) throw new Error(`Apache PUT answered ${put.value.status}`);
    // One unmeasured GET each, so every measured one reads from the page cache.
    await get(apache.baseUrl, apacheFile, apacheHeaders, () => 0);
    await get(bare.baseUrl, '/decrypt', {}, () => 0);
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round} of ${ROUNDS}`);
      runs.apache!.push(await get(apache.baseUrl, apacheFile, apacheHeaders, () => cpuOfTree(apache.pid)));
      runs.send!.push(await get(bare.baseUrl, '/send', {}, () => cpuOf(bare.pid)));
      runs.decrypt!.push(await get(bare.baseUrl, '/decrypt', {}, () => cpuOf(bare.pid)));
    }
  } finally {
    bare.stop();
    await apache.stop();
  }
} finally {
  await cleanupAll();
}

const lowest = (name: string, field: keyof Measured): number => Math.min(...runs[name]!.map((r) => r[field]));
const apacheMBps = lowest('apache', 'MBps');
const decryptServer = lowest('decrypt', 'serverCpuPerGiB');
const decryptClient = lowest('decrypt', 'clientCpuPerGiB');
const GBperGiB = GiB / 1e9;
/** MB/s a server reaches when each GiB costs `cpuSeconds` on `threads` cores. */
const reach = (cpuSeconds: number, threads: number): number => Math.round(((threads / cpuSeconds) * GBperGiB) * 1000);
const oneThread = reach(decryptServer, 1);
const allCores = reach(decryptServer + decryptClient, cores);
const aim = Math.round(0.8 * apacheMBps);
const rows: string[][] = [['server', 'MB/s (each round)', 'server CPU-s a GiB (lowest)', 'client CPU-s a GiB (lowest)']];
for (const name of Object.keys(runs)) rows.push([name, runs[name]!.map((r) => r.MBps).join(', '), String(lowest(name, 'serverCpuPerGiB')), String(lowest(name, 'clientCpuPerGiB'))]);
const floors: string[][] = [
  ['a server that decrypts, at most', 'MB/s', 'against 0.8 × Apache\'s lowest rate'],
  ['on one thread (decrypting and sending in turn)', String(oneThread), `${aim} MB/s: ${oneThread >= aim ? 'in reach' : 'out of reach'}`],
  [`on ${cores} cores shared with the client, decrypting on other threads for nothing`, String(allCores), `${aim} MB/s: ${allCores >= aim ? 'in reach' : 'out of reach'}`],
];
process.stdout.write(`${table(rows)}\n\n${table(floors)}\n`);
const out = path.resolve(process.env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', `${new Date().toISOString().slice(0, 10)}-large-floor.json`));
const figures = { date: new Date().toISOString(), bytes: BYTES, chunkBytes: CHUNK, cores, rounds: ROUNDS, runs, floor: { apacheLowestMBps: apacheMBps, aimMBps: aim, oneThreadMBps: oneThread, allCoresMBps: allCores } };
await writeFile(out, `${JSON.stringify(figures, null, 2)}\n`);
await writeFile(out.replace(/\.json$/, '.md'), `# Large-download floor, ${figures.date}\n\n${BYTES / MiB} MiB GET through curl, ${cores} cores, ${ROUNDS} rounds; each Node server's lowest CPU, Apache's lowest rate.\n\n${markdownTable(rows)}\n\n${markdownTable(floors)}\n`);
log(`written to ${path.relative(process.cwd(), out)}`);
