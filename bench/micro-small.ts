// Small-file rates in-process (no sockets, no child server): N uploads of 4 KiB then N downloads,
// with BENCH_CLIENTS (4) requests in flight, on a fresh SQLite test vault and a real clamd. Prints each phase's rate
// and this process's CPU per request (user + system, clamd not included). MICRO_PROFILE=prefix
// writes a CPU profile of each phase (prefix-upload.cpuprofile, prefix-download.cpuprofile).
// MICRO_NO_FSYNC=1 opens the database with synchronous = OFF (no fsync by SQLite itself, at checkpoints
// either; group commit still syncs the WAL off the event loop), for a profile of the CPU work; never for rates.
// BENCH_DIALECT=postgres runs it on a fresh PostgreSQL database (STRONGROOM_TEST_PG_ADMIN_URL, as the tests).
// Usage: node --no-warnings --import tsx bench/micro-small.ts [N]  (or BENCH_COUNT=N)
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import Database from 'better-sqlite3-multiple-ciphers';
import { startTestClamd } from '../test/support/clamd.js';
import { openTestVault, createOrganisation, upload, auth } from '../test/support/vault.js';

if (process.env.MICRO_NO_FSYNC === '1') {
  const pragma = Database.prototype.pragma;
  Database.prototype.pragma = function (this: Database.Database, source: string, options?: Database.PragmaOptions) {
    return pragma.call(this, source === 'synchronous = NORMAL' ? 'synchronous = OFF' : source, options);
  };
}
const N = Number(process.argv[2] ?? process.env.BENCH_COUNT ?? 400);
const profilePrefix = process.env.MICRO_PROFILE;
const session = profilePrefix ? new Session() : null;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
}

async function phase(label: string, work: () => Promise<void>): Promise<void> {
  if (session) await session.post('Profiler.start');
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(`${profilePrefix}-${label}.cpuprofile`, JSON.stringify(profile));
  }
  console.log(`${label}s/s ${(N / seconds).toFixed(0)}  cpu ${((used.user + used.system) / 1000 / N).toFixed(2)} ms/request (user ${(used.user / 1000 / N).toFixed(2)}, system ${(used.system / 1000 / N).toFixed(2)})`);
}

const clamd = await startTestClamd();
const inFlight = process.env.BENCH_CLIENTS ?? '4';
// Lift the per-account, per-client and per-organisation upload limits (default 4) to the clients in flight.
const dialect = process.env.BENCH_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
// On PostgreSQL, the test run's global setup migrates the template the vault's database is cloned from.
const pgTeardown = dialect === 'postgres' ? await (await import('../test/support/global-setup.js')).default() : null;
const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_UPLOADS_PER_ACCOUNT: inFlight, STRONGROOM_UPLOADS_PER_CLIENT: inFlight, STRONGROOM_UPLOADS_PER_ORGANISATION: inFlight } });
const org = await createOrganisation(t.vault);
const user = await org.user({ teams: ['payroll'] });
// BENCH_CLIENTS requests in flight (4 by default).
const clients = Array.from({ length: Number(inFlight) }, (_, c) => c);
let i = 0; const ids: string[] = [];
const body = Buffer.alloc(4096, 7);
await phase('upload', () => Promise.all(clients.map(async () => { while (i < N) { const k = i++; const r = await upload(t.app, user, org.collections.payroll!, `f${k}.bin`, Buffer.concat([body, Buffer.from(String(k))])); if (r.statusCode !== 201) throw new Error(r.body); ids.push(r.json().id); } })).then(() => undefined));
i = 0;
await phase('download', () => Promise.all(clients.map(async () => { while (i < N) { const k = i++; const r = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${ids[k]}/content`, headers: auth(user) }); if (r.statusCode !== 200) throw new Error(r.body); } })).then(() => undefined));
await t.close(); await clamd.stop(); await pgTeardown?.();
