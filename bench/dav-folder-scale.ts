// Does a WebDAV GET or PUT of a small file cost more as its folder grows? In-process (app.inject, no
// sockets) on one SQLite test vault with a real clamd: a folder of SMALL documents and one of LARGE
// (rows cloned straight into the database, as test/webdav/performance.int.test.ts does), then GETs and
// PUTs of a 4 KiB file in each, interleaved (small, large, small, large …) so load on the machine hits
// both alike. Prints this process's CPU per request (clamd not included), the SQL statements per
// request, and every statement whose EXPLAIN QUERY PLAN scans a table without an index.
// BENCH_FILL=put instead fills one folder through real WebDAV PUTs (4 in flight, so audit events, blobs,
// scan and indexing jobs grow with it, as in `make bench`) and measures GET and PUT at 500, 2,000, 4,000 and
// 8,000 documents: not interleaved, so run it on a quiet machine.
// Usage: node --no-warnings --import tsx bench/dav-folder-scale.ts [rounds]  (BENCH_SMALL=500, BENCH_LARGE=8000)
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3-multiple-ciphers';
import { systemActor } from '../src/services/identity.service.js';
import { startTestClamd } from '../test/support/clamd.js';
import { cloneDocuments } from '../test/support/cloned-documents.js';
import { createOrganisation, openTestVault } from '../test/support/vault.js';

const ROUNDS = Number(process.argv[2] ?? 200);
const SMALL = Number(process.env.BENCH_SMALL ?? 500);
const LARGE = Number(process.env.BENCH_LARGE ?? 8000);

let counting = false;
let statements = 0;
const seen = new Map<string, { db: Database.Database; args: unknown[] }>();
const proto = Database.prototype as unknown as { prepare(source: string): Record<string, unknown> };
const prepare = proto.prepare;
proto.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source);
  const db = this;
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statement[method] as (...args: unknown[]) => unknown;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      if (counting) {
        statements++;
        if (!seen.has(source)) seen.set(source, { db, args });
      }
      return original.apply(this, args);
    };
  }
  return statement;
};

const clamd = await startTestClamd();
const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
try {
  const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
  const user = await org.user({ teams: ['finance'] });
  const { secret } = await t.vault.credentials.createCredential(systemActor(), user.id, 'app_password', 'bench');
  const authorization = `Basic ${Buffer.from(`${user.email}:${secret}`).toString('base64')}`;
  const request = async (method: string, url: string, payload?: Buffer, expected?: number[]) => {
    const r = await t.app.inject({ method: method as 'GET', url, headers: { authorization }, ...(payload ? { payload } : {}) });
    if (expected && !expected.includes(r.statusCode)) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r;
  };
  const body = Buffer.alloc(4096, 7);
  const db = t.vault.store.db;
  const folders = { small: SMALL, large: LARGE };
  for (const [folder, count] of Object.entries(folders)) {
    await request('MKCOL', `/dav/${org.slug}/finance/${folder}`, undefined, [201]);
    await request('PUT', `/dav/${org.slug}/finance/${folder}/template.txt`, Buffer.from('template'), [201]);
    const template = await db.selectFrom('documents').select('id').where('name', '=', 'template.txt').where('collection_id', '=',
      (await db.selectFrom('collections').select('id').where('name', '=', folder).where('organisation_id', '=', org.id).executeTakeFirstOrThrow()).id).executeTakeFirstOrThrow();
    await cloneDocuments(db, template.id, count - 1, (i) => `file-${String(i).padStart(5, '0')}.txt`);
    await request('PUT', `/dav/${org.slug}/finance/${folder}/target.bin`, body, [201]);
  }
  const url = (folder: string, name: string) => `/dav/${org.slug}/finance/${folder}/${name}`;
  if (process.env.BENCH_FILL === 'put') {
    await request('MKCOL', `/dav/${org.slug}/finance/filled`, undefined, [201]);
    await request('PUT', url('filled', 'target.bin'), body, [201]);
    let filled = 1;
    for (const checkpoint of [500, 2000, 4000, 8000]) {
      let next = filled;
      const before = process.cpuUsage();
      const puts = checkpoint - filled;
      await Promise.all([0, 1, 2, 3].map(async () => {
        while (next < checkpoint) { const k = next++; await request('PUT', url('filled', `f${k}.bin`), Buffer.concat([body, Buffer.from(String(k))]), [201]); }
      }));
      const putCpu = process.cpuUsage(before);
      filled = checkpoint;
      const getBefore = process.cpuUsage();
      for (let k = 0; k < ROUNDS; k++) await request('GET', url('filled', 'target.bin'), undefined, [200]);
      const getCpu = process.cpuUsage(getBefore);
      statements = 0; counting = true;
      await request('GET', url('filled', 'target.bin'), undefined, [200]);
      const getStatements = statements;
      statements = 0;
      await request('PUT', url('filled', `probe-${checkpoint}.bin`), body, [201]);
      counting = false;
      filled++;
      console.log(`${checkpoint} documents: PUT ${((putCpu.user + putCpu.system) / 1000 / puts).toFixed(2)} ms CPU (${puts} PUTs, 4 in flight), GET ${((getCpu.user + getCpu.system) / 1000 / ROUNDS).toFixed(2)} ms CPU (${ROUNDS} GETs), ${getStatements} statements per GET, ${statements} per PUT`);
    }
  } else {
    // Warm up both folders (first-use caches, prepared statements).
    for (const folder of Object.keys(folders)) for (let k = 0; k < 20; k++) await request('GET', url(folder, 'target.bin'), undefined, [200]);

    const cpu: Record<string, number[]> = {};
    const record = (label: string, micros: number) => (cpu[label] ??= []).push(micros);
    const measure = async (label: string, work: () => Promise<unknown>) => {
      const before = process.cpuUsage();
      await work();
      const used = process.cpuUsage(before);
      record(label, used.user + used.system);
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const folder of Object.keys(folders)) {
        await measure(`GET ${folder}`, () => request('GET', url(folder, 'target.bin'), undefined, [200]));
        await measure(`PUT new ${folder}`, () => request('PUT', url(folder, `new-${round}.bin`), Buffer.concat([body, Buffer.from(String(round))]), [201]));
        await measure(`PUT over ${folder}`, () => request('PUT', url(folder, 'target.bin'), Buffer.concat([body, Buffer.from(`v${round}`)]), [204, 201]));
      }
    }
    const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log(`CPU per request in this process, ${ROUNDS} interleaved rounds, folders of ${SMALL} and ${LARGE}+${ROUNDS} documents (ms: mean, median)`);
    for (const op of ['GET', 'PUT new', 'PUT over']) {
      const s = cpu[`${op} small`]!; const l = cpu[`${op} large`]!;
      console.log(`${op.padEnd(9)} small ${(mean(s) / 1000).toFixed(2)} ${(median(s) / 1000).toFixed(2)}  large ${(mean(l) / 1000).toFixed(2)} ${(median(l) / 1000).toFixed(2)}  ratio large/small (mean) ${(mean(l) / mean(s)).toFixed(2)}`);
    }

    // Statements per request, and their plans.
    for (const folder of Object.keys(folders)) {
      for (const [op, run] of [
        ['GET', () => request('GET', url(folder, 'target.bin'), undefined, [200])],
        ['PUT new', () => request('PUT', url(folder, `count-${randomUUID()}.bin`), body, [201])],
        ['PUT over', () => request('PUT', url(folder, 'target.bin'), Buffer.concat([body, Buffer.from(randomUUID())]), [204, 201])],
      ] as const) {
        statements = 0; counting = true;
        await run();
        counting = false;
        console.log(`${op} in ${folder}: ${statements} SQL statements`);
      }
    }
    console.log(`\nDistinct statements seen: ${seen.size}; those whose plan scans a table:`);
    for (const [source, { db: raw, args }] of seen) {
      if (!/^\s*(select|update|delete|insert)/i.test(source)) continue;
      let plan: { detail: string }[];
      try {
        plan = raw.prepare(`EXPLAIN QUERY PLAN ${source}`).all(...(args as [])) as { detail: string }[];
      } catch (error) {
        console.log(`(could not explain: ${(error as Error).message}) ${source.slice(0, 120)}`);
        continue;
      }
      const scans = plan.filter((p) => /^SCAN /.test(p.detail) && !/USING (COVERING )?INDEX/.test(p.detail));
      if (scans.length) console.log(`${scans.map((p) => p.detail).join('; ')}\n   ${source.replace(/\s+/g, ' ').slice(0, 300)}`);
    }
  }
} finally {
  await t.close();
  await clamd.stop();
}
