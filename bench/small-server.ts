// Small files through a real `strongroom serve`: N 4 KiB REST uploads and then N downloads with 4
// keep-alive clients, for each of one or two builds, alternated round by round. Prints each phase's
// rate and the server's CPU per request (every thread: the main thread, the libuv pool, workers;
// clamd apart), and for uploads also the CPU per upload counted until the server has finished the
// work each upload queued (text extraction, replication, audit sequencing), since that work runs
// on the same process and would otherwise be charged to whatever phase comes next.
// BENCH_BASELINE=<checkout with dist/ built> runs that build beside this one (A B, then B A).
// BENCH_NODE_ARGS_ALT="<node and V8 flags>" runs this build a second time with those flags, the same way;
// BENCH_ENV_ALT="NAME=value ..." likewise with those environment variables (UV_THREADPOOL_SIZE=16).
// BENCH_DOWNLOAD_PASSES=k downloads every file k times (default 1): the download phase is short, so
// more passes make its CPU per download steadier.
// Also prints the server's peak resident memory (VmHWM).
// Usage: node --no-warnings --import tsx bench/small-server.ts [N] [rounds]
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanupAll, cleanupSync, trackDir } from './lib/cleanup.js';
import { cpuOf, mainThreadCpuOf, settled } from './lib/cpu.js';
import { smallFiles } from './lib/data.js';
import { entryAt, seed, startServer, type Entry } from './lib/strongroom.js';
import { restSmallDownloads, restSmallUploads } from './lib/workloads.js';

const count = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 2);
const downloadPasses = Number(process.env.BENCH_DOWNLOAD_PASSES ?? 1);
process.on('exit', cleanupSync);

interface Build { label: string; entry?: Entry; nodeArgs?: string[]; env?: NodeJS.ProcessEnv }
const builds: Build[] = [{ label: 'this' }];
if (process.env.BENCH_BASELINE) builds.push({ label: 'baseline', entry: entryAt(path.resolve(process.env.BENCH_BASELINE)) });
if (process.env.BENCH_NODE_ARGS_ALT || process.env.BENCH_ENV_ALT) {
  const words = (value: string | undefined): string[] => (value ?? '').split(' ').filter(Boolean);
  const env = Object.fromEntries(words(process.env.BENCH_ENV_ALT).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  builds.push({ label: 'alt', nodeArgs: words(process.env.BENCH_NODE_ARGS_ALT), env });
}

async function measure({ label, entry, nodeArgs = [], env = {} }: Build): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'srs-'));
  trackDir(root);
  const dataDir = path.join(root, 'd');
  const seeded = await seed(dataDir, {}, entry);
  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log'), nodeArgs, env, ...(entry ? { entry } : {}) });
  try {
    const api = { baseUrl: server.baseUrl, authorization: `Bearer ${seeded.token}` };
    const files = smallFiles(count, 4096);
    await settled(server.pid);
    let cpu = cpuOf(server.pid);
    let main = mainThreadCpuOf(server.pid);
    const up = await restSmallUploads(api, seeded.collectionId, files, 4, 'p');
    const upCpu = cpuOf(server.pid) - cpu;
    const upMain = mainThreadCpuOf(server.pid) - main;
    const uploadsEnded = Date.now();
    await settled(server.pid);
    // settled() waits for 1.5 s of quiet after the work ends: not part of the backlog.
    const drainSeconds = Math.max(0, (Date.now() - uploadsEnded) / 1000 - 1.5);
    const upAll = cpuOf(server.pid) - cpu;
    const upAllMain = mainThreadCpuOf(server.pid) - main;
    cpu = cpuOf(server.pid);
    main = mainThreadCpuOf(server.pid);
    const down = await restSmallDownloads(api, repeated(up.ids, downloadPasses), repeated(files, downloadPasses), 4);
    const downCpu = (cpuOf(server.pid) - cpu) / downloadPasses;
    const downMain = (mainThreadCpuOf(server.pid) - main) / downloadPasses;
    const ms = (s: number) => ((s * 1000) / count).toFixed(2);
    const peakMb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1000;
    process.stdout.write(
      `${label.padEnd(8)} uploads ${(up.done / up.seconds).toFixed(0)}/s, CPU ${ms(upCpu)} ms (main ${ms(upMain)}), ${ms(upAll)} ms with its jobs (main ${ms(upAllMain)}), done ${drainSeconds.toFixed(1)} s later; ` +
        `downloads ${(down.done / down.seconds).toFixed(0)}/s, CPU ${ms(downCpu)} ms (main ${ms(downMain)}); peak RSS ${peakMb.toFixed(0)} MB; ` +
        `slowest upload ${(up.slowestSeconds * 1000).toFixed(0)} ms, download ${(down.slowestSeconds * 1000).toFixed(0)} ms\n`,
    );
    // A refused or failed request would otherwise only show as a lower rate.
    for (const [phase, result] of [['upload', up], ['download', down]] as const) {
      if (result.errors.length > 0) process.stdout.write(`${label.padEnd(8)} ${result.errors.length} ${phase}s failed, the first: ${result.errors[0]}\n`);
    }
  } finally {
    await server.stop();
  }
}

function repeated<T>(items: T[], times: number): T[] {
  return Array.from({ length: times }, () => items).flat();
}

try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const build of order) await measure(build);
  }
} finally {
  await cleanupAll();
}
