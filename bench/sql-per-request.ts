// How many SQL statements one small REST upload (and the jobs it queues), one REST download and one WebDAV GET run, and which: opens an in-process
// SQLite vault, counts every statement better-sqlite3 executes (wrapping the prepared statements'
// run/get/all/iterate), and prints the per-request count and the statements, most frequent first, each with its mean time
// per request and its median time per run.
// Usage: node --no-warnings --import tsx bench/sql-per-request.ts [N]
import Database from 'better-sqlite3-multiple-ciphers';
import { startTestClamd } from '../test/support/clamd.js';
import { systemActor } from '../src/services/identity.service.js';
import { auth, createOrganisation, openTestVault, upload } from '../test/support/vault.js';

/** Each statement's executions, in µs: the mean says what it costs a request, the median what a typical run costs. */
const runs = new Map<string, number[]>();
const timed = <T>(source: string, run: () => T): T => {
  if (!counting) return run();
  const start = performance.now();
  try {
    return run();
  } finally {
    const list = runs.get(source) ?? [];
    list.push((performance.now() - start) * 1000);
    runs.set(source, list);
  }
};
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
let counting = false;
const proto = Database.prototype as unknown as { prepare(source: string): Record<string, unknown> };
const prepare = proto.prepare;
proto.prepare = function (this: unknown, source: string) {
  const statement = prepare.call(this, source);
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statement[method] as (...args: unknown[]) => unknown;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      return timed(source, () => original.apply(this, args));
    };
  }
  return statement;
};
const exec = Database.prototype.exec;
Database.prototype.exec = function (this: Database.Database, source: string) {
  return timed(source, () => exec.call(this, source));
};

const n = Number(process.argv[2] ?? 50);
const clamd = await startTestClamd();
const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
try {
  const org = await createOrganisation(t.vault);
  const user = await org.user({ teams: ['payroll'] });
  const collection = org.collections.payroll!;
  const body = Buffer.alloc(4096, 7);
  // Warm up (first-use caches, the session row), then count.
  const warm = await upload(t.app, user, collection, 'warm.bin', body);
  await t.app.inject({ method: 'GET', url: `/api/v1/documents/${warm.json().id}/content`, headers: auth(user) });
  const report = (label: string) => {
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const total = sum([...runs.values()].map((list) => list.length));
    const time = sum([...runs.values()].map(sum));
    process.stdout.write(`\n${label}: ${(total / n).toFixed(2)} statements, ${(time / n).toFixed(0)} µs in SQLite per request (count, µs per request, median µs per run, statement)\n`);
    for (const [source, list] of [...runs].sort((a, b) => b[1].length - a[1].length)) {
      process.stdout.write(`${(list.length / n).toFixed(2).padStart(6)} ${(sum(list) / n).toFixed(0).padStart(6)} ${median(list).toFixed(0).padStart(6)}  ${source.replace(/\s+/g, ' ').slice(0, 150)}\n`);
    }
    runs.clear();
  };
  const ids: string[] = [];
  counting = true;
  for (let k = 0; k < n; k++) {
    const r = await upload(t.app, user, collection, `f${k}.bin`, Buffer.concat([body, Buffer.from(String(k))]));
    if (r.statusCode !== 201) throw new Error(r.body);
    ids.push(r.json().id);
  }
  counting = false;
  report('upload');
  // The work each upload queued (text extraction, replication), run the way the worker runs it.
  counting = true;
  let jobsRun = 0;
  for (let ran = await t.vault.worker.runDue(); ran > 0; ran = await t.vault.worker.runDue()) jobsRun += ran;
  counting = false;
  report(`the jobs an upload queued (${(jobsRun / n).toFixed(2)} an upload)`);
  counting = true;
  for (const id of ids) {
    const r = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) });
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  counting = false;
  report('download');
  // The same files by their WebDAV paths, with an app password as a mapped drive signs in.
  const { secret } = await t.vault.credentials.createCredential(systemActor(), user.id, 'app_password', 'sql count');
  const basic = `Basic ${Buffer.from(`${user.email}:${secret}`).toString('base64')}`;
  const davGet = (name: string) => t.app.inject({ method: 'GET', url: `/dav/${org.slug}/payroll/${name}`, headers: { authorization: basic } });
  if ((await davGet('warm.bin')).statusCode !== 200) throw new Error('WebDAV GET of warm.bin failed');
  counting = true;
  for (let k = 0; k < n; k++) {
    const r = await davGet(`f${k}.bin`);
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  counting = false;
  report('WebDAV GET');
} finally {
  await t.close();
  await clamd.stop();
}
