// What one page of an organisation's audit log costs on a large log: builds an encrypted SQLite database with
// the real schema and N audit events of 20 organisations (the one read, o1, has about a twentieth of them as
// target or actor), with the server's 2 MiB main-connection page cache, and times the repository's first and a
// later page of 50, and a document's latest 20 events, beside the statement they replaced on 7 December (every
// event of the organisation fetched by `target = ? or actor = ?` and sorted by seq for one page).
// Usage: node --no-warnings --import tsx bench/audit-page-reads.ts [N]  (default 1,000,000; about 2 minutes)
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openSqlite } from '../src/db/kysely.js';
import { AUDIT_SEQ_INDEXES, up as indexBySeq } from '../src/db/migrations/202612240000_audit_pages_by_seq.js';
import { AuditRepo } from '../src/db/repos/audit.repo.js';
import { insertRows, onMigratedDatabase } from './lib/migrated-database.js';
import { timeThrice } from './lib/timed-reads.js';

const n = Number(process.argv[2] ?? 1_000_000);
await onMigratedDatabase('srb-audit-page-', async ({ file, key, build }) => {
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  await insertRows(build, 'audit_events', n, (i) => {
    const org = `o${1 + (i % 20)}`;
    const other = `o${1 + ((i + 7) % 20)}`;
    return {
      seq: i, leaf_hash: randomBytes(32), time: at(i), actor_user_id: randomUUID(), actor_organisation_id: org, action: 'document.read',
      target_organisation_id: i % 9 === 0 ? other : org, target_ids: JSON.stringify([randomUUID()]), document_id: i % 1000 === 1 ? 'd1' : randomUUID(),
      decision: 'allow', reason: 'role', arrangement_id: null, channel: 'api', client_address: '192.0.2.1', request_id: randomUUID(), seal: null,
    };
  });
  await build.db.insertInto('key_values').values({ key: 'audit.tree_size', value: String(n) }).execute();
  // Timed first as the release before it found them: without migration 202612240000's indexes.
  for (const index of AUDIT_SEQ_INDEXES) await build.db.schema.dropIndex(index).execute();
  // And with the (document, time) index the migration drops.
  await build.db.schema.createIndex('audit_events_document').on('audit_events').columns(['document_id', 'time']).execute();
  await build.close();
  // Opened again as the server opens its main connection: a 2 MiB page cache.
  const handle = openSqlite({ file, key, mainCacheMib: 2 });
  const audit = new AuditRepo(handle.db, handle.caps, randomBytes(32));
  const time = (label: string, read: () => Promise<unknown>) => timeThrice(label, 56, read);
  const before = (afterSeq: number) => sql`select * from audit_events where seq >= 0 and (target_organisation_id = 'o1' or actor_organisation_id = 'o1') and seq > ${afterSeq} order by seq limit 50`.execute(handle.db);
  process.stdout.write(`${n.toLocaleString('en-GB')} audit events of 20 organisations; three runs each, on the event loop\n`);
  await time('first page of 50, before (or, sorted)', () => before(-1));
  await time('page after half the log, before', () => before(n / 2));
  await time('a document\'s latest 20, before', () => sql`select * from audit_events where document_id = 'd1' and seq >= 0 order by seq desc limit 20`.execute(handle.db));
  const start = performance.now();
  await indexBySeq(handle.db);
  process.stdout.write(`${'migration 202612240000 (three indexes)'.padEnd(56)} ${(performance.now() - start).toFixed(0)} ms\n`);
  await time('first page of 50, now (two parts by seq index)', () => audit.query({ organisationId: 'o1', limit: 50 }));
  await time('page after half the log, now', () => audit.query({ organisationId: 'o1', afterSeq: n / 2, limit: 50 }));
  await time('a document\'s latest 20, now', () => audit.forDocument('d1', 20));
  await handle.close();
});
