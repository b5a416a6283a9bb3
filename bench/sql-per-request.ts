// How many SQL statements one small REST upload, one REST download and one WebDAV GET run, and which: opens an in-process
// SQLite vault, counts every statement better-sqlite3 executes (wrapping the prepared statements'
// run/get/all/iterate), and prints the per-request count and the statements, most frequent first.
// Usage: node --no-warnings --import tsx bench/sql-per-request.ts [N]
import Database from 'better-sqlite3-multiple-ciphers';
import { startTestClamd } from '../test/support/clamd.js';
import { systemActor } from '../src/services/identity.service.js';
import { auth, createOrganisation, openTestVault, upload } from '../test/support/vault.js';

const counts = new Map<string, number>();
const micros = new Map<string, number>();
const timed = <T>(source: string, run: () => T): T => {
  if (!counting) return run();
  const start = performance.now();
  try {
    return run();
  } finally {
    counts.set(source, (counts.get(source) ?? 0) + 1);
    micros.set(source, (micros.get(source) ?? 0) + (performance.now() - start) * 1000);
  }
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
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    const time = [...micros.values()].reduce((a, b) => a + b, 0);
    process.stdout.write(`\n${label}: ${(total / n).toFixed(2)} statements, ${(time / n).toFixed(0)} µs in SQLite per request (count, µs per request, statement)\n`);
    for (const [source, c] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`${(c / n).toFixed(2).padStart(6)} ${((micros.get(source) ?? 0) / n).toFixed(0).padStart(6)}  ${source.replace(/\s+/g, ' ').slice(0, 160)}\n`);
    counts.clear();
    micros.clear();
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
  counting = true;
  for (const id of ids) {
    const r = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${id}/content`, headers: auth(user) });
    if (r.statusCode !== 200) throw new Error(r.body);
  }
  counting = false;
  report('download');
  // The same files by their WebDAV paths, with an app password as a mapped drive signs in.
  const { secret } = await t.vault.identity.createCredential(systemActor(), user.id, 'app_password', 'sql count');
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
