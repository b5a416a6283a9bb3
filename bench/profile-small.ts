// Where a server spends its CPU on small files: runs `strongroom serve` with --cpu-prof, does N
// small uploads and N downloads with 4 keep-alive clients, stops it and prints the functions and
// files with the most self time, and Strongroom's own functions by inclusive time. A line of the bundle
// is counted against the module it was built from (Fastify, Kysely, or our file), not against its chunk.
// PROFILE_PHASE=upload or download counts only the samples taken while that phase ran (the uploads'
// queued jobs are let finish before the downloads start, and are in neither).
// PROFILE_PROTOCOL=webdav does the same through WebDAV PUTs and GETs (Basic auth with an app
// password) instead of the REST API.
// Usage: node --import tsx bench/profile-small.ts [N]  (PROFILE_KEEP=file.cpuprofile keeps the profile)
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanupAll, cleanupSync } from './lib/cleanup.js';
import { settled } from './lib/cpu.js';
import { smallFiles } from './lib/data.js';
import { seed, startServer } from './lib/strongroom.js';
import { davSmallGets, davSmallPuts, findDavCollection, restSmallDownloads, restSmallUploads, type Endpoint } from './lib/workloads.js';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  /** Microseconds on the monotonic clock, as process.hrtime's. */
  startTime: number;
}

const count = Number(process.argv[2] ?? 500);
const phase = process.env.PROFILE_PHASE ?? 'both';
if (!['both', 'upload', 'download'].includes(phase)) throw new Error(`PROFILE_PHASE is upload, download or unset, not ${phase}`);
const protocol = process.env.PROFILE_PROTOCOL ?? 'rest';
if (!['rest', 'webdav'].includes(protocol)) throw new Error(`PROFILE_PROTOCOL is rest, webdav or unset, not ${protocol}`);
const now = (): number => Number(process.hrtime.bigint() / 1000n);
const root = await mkdtemp(path.join(tmpdir(), 'srp-'));
process.on('exit', cleanupSync);
try {
  const dataDir = path.join(root, 'd');
  const profDir = path.join(root, 'prof');
  const seeded = await seed(dataDir);
  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log'), nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const files = smallFiles(count, 4096);
  let uploadAll: () => Promise<{ done: number; seconds: number }>;
  let downloadAll: () => Promise<{ done: number; seconds: number }>;
  if (protocol === 'webdav') {
    const dav: Endpoint = { baseUrl: server.baseUrl, authorization: `Basic ${Buffer.from(`${seeded.email}:${seeded.appPassword}`).toString('base64')}` };
    const folder = await findDavCollection(dav, [seeded.collectionName, seeded.collectionId]);
    if (!folder) throw new Error('the seeded collection is not listed over WebDAV');
    uploadAll = () => davSmallPuts(dav, folder, files, 4, 'p');
    downloadAll = () => davSmallGets(dav, folder, files, 4, 'p');
  } else {
    const api = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    let ids: string[] = [];
    uploadAll = async () => {
      const up = await restSmallUploads(api, seeded.collectionId, files, 4, 'p');
      ids = up.ids;
      return up;
    };
    downloadAll = () => restSmallDownloads(api, ids, files, 4);
  }
  const upStarted = now();
  const up = await uploadAll();
  const upEnded = now();
  if (phase !== 'both') await settled(server.pid, 0.15);
  const downStarted = now();
  const down = await downloadAll();
  const downEnded = now();
  const window = phase === 'upload' ? [upStarted, upEnded] : phase === 'download' ? [downStarted, downEnded] : [0, Infinity];
  process.stdout.write(`uploads ${(up.done / up.seconds).toFixed(0)}/s, downloads ${(down.done / down.seconds).toFixed(0)}/s (profiling slows both)\n`);
  await server.stop();
  const name = (await readdir(profDir)).find((n) => n.endsWith('.cpuprofile'));
  if (!name) throw new Error('no profile written');
  const profile = JSON.parse(await readFile(path.join(profDir, name), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= (window[0] as number) && at <= (window[1] as number)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const modules = await bundleModules(profile.nodes.map((n) => n.callFrame.url));
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const url = (modules(n.callFrame.url, n.callFrame.lineNumber) ?? n.callFrame.url).replace(/^file:\/\//, '').replace(/.*\/node_modules\//, 'node_modules/').replace(/.*\/main\//, '');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const pkg = url.startsWith('node_modules/') ? url.split('/').slice(0, url.startsWith('node_modules/@') ? 3 : 2).join('/') : url || `(${n.callFrame.functionName})`;
    file.set(pkg, (file.get(pkg) ?? 0) + us);
  }
  // Inclusive time of Strongroom's own functions (src/, or dist/ as built): a sample counts once for
  // every distinct one of them on its stack, so a route handler's figure includes the SQL and crypto it calls.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      // The server runs from dist/ (its compiled src/); a dependency's own src/ folder is not ours.
      // In the bundle, the module the line came from says whose it is (Kysely's code is in dist/bundle too).
      const source = modules(n.callFrame.url, n.callFrame.lineNumber) ?? n.callFrame.url;
      const own = source.includes('node_modules/') ? null : source.match(/(?:^|\/)(src|dist)\/(.*)$/);
      if (!own) continue;
      const key = `${n.callFrame.functionName || '(anonymous)'}  ${own[1]}/${own[2]}:${n.callFrame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  if (process.env.PROFILE_KEEP) await writeFile(process.env.PROFILE_KEEP, JSON.stringify(profile));
  const top = (m: Map<string, number>, k: number): string =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([key, us]) => `${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`).join('\n');
  process.stdout.write(`\nself time ${(total / 1e6).toFixed(2)} s over ${phase === 'both' ? `${count} uploads + ${count} downloads` : `${count} ${phase}s`}\n\nby file or package:\n${top(file, 25)}\n\nby function:\n${top(fn, 35)}\n\nStrongroom's functions, inclusive:\n${top(inclusive, 40)}\n`);
} finally {
  await cleanupAll();
  await rm(root, { recursive: true, force: true });
}

/**
 * The module a line of the bundle came from: esbuild marks where each module's code begins with a
 * comment naming its source (`// src/…` or `// node_modules/…`), so a sample in `dist/bundle/chunk-….js`
 * is counted against Fastify, Kysely or the file of ours it was written in, not against the chunk.
 */
async function bundleModules(urls: string[]): Promise<(url: string, line: number) => string | undefined> {
  const starts = new Map<string, { line: number; module: string }[]>();
  for (const url of new Set(urls)) {
    if (!/\/dist\/bundle\/[^/]+\.js$/.test(url)) continue;
    const text = await readFile(url.replace(/^file:\/\//, ''), 'utf8').catch(() => '');
    const marks: { line: number; module: string }[] = [];
    text.split('\n').forEach((line, index) => {
      const mark = /^\/\/ ((?:dist|src|node_modules)\/\S+)$/.exec(line);
      if (mark) marks.push({ line: index, module: mark[1] as string });
    });
    starts.set(url, marks);
  }
  return (url, line) => {
    const marks = starts.get(url);
    if (!marks?.length) return undefined;
    let low = 0;
    let high = marks.length - 1;
    if ((marks[0] as { line: number }).line > line) return undefined;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((marks[middle] as { line: number }).line <= line) low = middle;
      else high = middle - 1;
    }
    const module = (marks[low] as { module: string }).module;
    // A package's files are counted as the package; our own by file.
    return module;
  };
}
