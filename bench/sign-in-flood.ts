// Password checks against everything else (issue #16: RSS and availability under load). A real `strongroom
// serve` at the standard hashing cost, behind a proxy it trusts (STRONGROOM_TRUST_PROXY=1, so each request
// names its client address): C clients send web sign-ins for unknown e-mail addresses, each from its own
// address (under the per-network throttle), while one client uploads 1 MiB files (each written and fsynced
// through the libuv pool) one after another. Prints the uploads' latency alone and under the flood, the
// sign-ins' answers, and the server's peak resident memory (VmHWM).
// BENCH_BASELINE=<checkout with dist/ built> runs that build too, after this one.
// Usage: node --no-warnings --import tsx bench/sign-in-flood.ts [clients=48] [uploads=20]
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cleanupSync, trackDir } from './lib/cleanup.js';
import { keepAliveAgent, request } from './lib/http.js';
import { entryAt, seed, startServer, type Entry } from './lib/strongroom.js';

const clients = Number(process.argv[2] ?? 48);
const uploads = Number(process.argv[3] ?? 20);
process.on('exit', cleanupSync);

const builds: { label: string; entry?: Entry }[] = [{ label: 'this' }];
if (process.env.BENCH_BASELINE) builds.push({ label: 'baseline', entry: entryAt(path.resolve(process.env.BENCH_BASELINE)) });

const percentile = (ms: number[], p: number): number => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))]!;

async function measure({ label, entry }: { label: string; entry?: Entry }): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'srflood-'));
  trackDir(root);
  const dataDir = path.join(root, 'd');
  const env = { STRONGROOM_PASSWORD_HASHING: 'standard', STRONGROOM_TRUST_PROXY: '1' };
  const seeded = await seed(dataDir, env, entry);
  const server = await startServer({ dataDir, logFile: path.join(root, 'server.log'), env, ...(entry ? { entry } : {}) });
  try {
    const file = randomBytes(1 << 20);
    const uploadAgent = keepAliveAgent(1);
    const uploadTimes = async (prefix: string): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < uploads; i++) {
        const started = performance.now();
        const r = await request(server.baseUrl, uploadAgent, {
          method: 'POST', path: `/api/v1/collections/${seeded.collectionId}/documents?name=${prefix}-${i}.bin`,
          headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/octet-stream', 'content-length': file.length }, body: file, timeoutMs: 120_000,
        });
        if (r.status !== 201) throw new Error(`upload ${prefix}-${i}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 200)}`);
        times.push(performance.now() - started);
      }
      return times;
    };
    await uploadTimes('warm');
    const quiet = await uploadTimes('quiet');
    const answers: Record<number, number> = {};
    let flooding = true;
    let sent = 0;
    const signInTimes: number[] = [];
    const flooder = async (client: number): Promise<void> => {
      const agent = keepAliveAgent(1);
      // 29 attempts an address: under the per-network limit of 30 in five minutes.
      for (let n = 0; flooding; n++) {
        const address = `10.${client}.${Math.floor(n / 29) >> 8}.${Math.floor(n / 29) & 255}`;
        const body = Buffer.from(new URLSearchParams({ _csrf: 'a'.repeat(32), email: `nobody-${client}-${n}@example.test`, password: 'a wrong password' }).toString());
        const started = performance.now();
        const r = await request(server.baseUrl, agent, {
          method: 'POST', path: '/sign-in', timeoutMs: 120_000,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length, cookie: `strongroom-csrf=${'a'.repeat(32)}`, 'x-forwarded-for': address }, body,
        });
        signInTimes.push(performance.now() - started);
        sent++;
        answers[r.status] = (answers[r.status] ?? 0) + 1;
      }
    };
    const flood = Array.from({ length: clients }, (_, c) => flooder(c));
    // Let the flood fill the queue before timing.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const started = performance.now();
    const loaded = await uploadTimes('flood');
    const seconds = (performance.now() - started) / 1000;
    flooding = false;
    await Promise.all(flood);
    const peakMb = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1000;
    const ms = (times: number[]) => `median ${percentile(times, 50).toFixed(0)} ms, p90 ${percentile(times, 90).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms`;
    process.stdout.write(`${label.padEnd(8)} 1 MiB upload alone: ${ms(quiet)}; under ${clients} sign-in clients: ${ms(loaded)}\n`);
    process.stdout.write(`${label.padEnd(8)} sign-ins: ${sent} in ${seconds.toFixed(1)} s+, answers ${JSON.stringify(answers)}, ${ms(signInTimes)}; server peak RSS ${peakMb.toFixed(0)} MB\n`);
  } finally {
    await server.stop();
  }
}

for (const build of builds) await measure(build);
