// What the metrics scrape's replica gauges and the daily scrub's sample cost on a large vault: builds an
// encrypted SQLite database with the real schema and N versions (1% not in the replica yet), with the
// server's 2 MiB main-connection page cache, and times the repository's reads beside the statements they
// replaced on 7 December (a join of every version to the ledger, and a sort of every version by random()),
// and a council's own counts for its Storage page (8 December) beside the index SQLite took for them without
// migration 202612281300 (every version of the organisation, versions_organisation_scan).
// Usage: node --no-warnings --import tsx bench/replica-ledger-reads.ts [N]  (default 1,000,000; about 2 minutes)
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openSqlite } from '../src/db/kysely.js';
import { BlobReplicasRepo } from '../src/db/repos/replicas.repo.js';
import { inBatches, onMigratedDatabase } from './lib/migrated-database.js';
import { timeThrice } from './lib/timed-reads.js';

const n = Number(process.argv[2] ?? 1_000_000);
await onMigratedDatabase('srb-ledger-', async ({ file, key, build }) => {
  const now = new Date().toISOString();
  await build.db.insertInto('organisations').values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: now } as never).execute();
  await build.db.insertInto('collections').values({ id: 'c1', organisation_id: 'o1', name: 'C', service_area: 'payroll', classification: 'OFFICIAL', created_at: now } as never).execute();
  await build.db.insertInto('documents').values({ id: 'd1', organisation_id: 'o1', collection_id: 'c1', name: 'a', classification: 'OFFICIAL', service_area: 'payroll', status: 'available', current_version: 1, current_version_id: 'v', created_at: now, updated_at: now, deleted_at: null } as never).execute();
  await inBatches(build, n, async (trx, first, size) => {
    const rows = Array.from({ length: size }, (_, k) => {
      const i = first + k;
      const id = randomUUID();
      const replicated = i % 100 === 0 ? null : now;
      return {
        version: { id, document_id: 'd1', organisation_id: 'o1', number: i + 1, size: 4096, sha256: randomBytes(32).toString('hex'), media_type: 'text/plain', blob_id: randomBytes(16).toString('hex'), wrapped_key: randomBytes(60), key_id: randomUUID(), scan_status: 'clean', scan_engine: 'ClamAV 1.0.7/27480', scanned_at: now, author_id: randomUUID(), created_at: now, replicated_at: replicated },
        replicated,
      };
    });
    await trx.insertInto('versions').values(rows.map((r) => r.version) as never).execute();
    const copied = rows.filter((r) => r.replicated !== null);
    if (copied.length > 0) await trx.insertInto('blob_replicas').values(copied.map((r) => ({ blob_id: r.version.blob_id, version_id: r.version.id, replicated_at: now })) as never).execute();
  });
  await build.close();
  // Opened again as the server opens its main connection: a 2 MiB page cache.
  const handle = openSqlite({ file, key, mainCacheMib: 2 });
  const replicas = new BlobReplicasRepo(handle.db);
  const time = (label: string, read: () => Promise<unknown>) => timeThrice(label, 52, read);
  process.stdout.write(`${n.toLocaleString('en-GB')} versions, ${(n / 100).toLocaleString('en-GB')} not in the replica yet; three runs each, on the event loop\n`);
  await time('lag, before (every version joined to the ledger)', () => sql`select count(*) as pending, min(v.created_at) as oldest from versions as v left join blob_replicas as r on r.blob_id = v.blob_id where v.wrapped_key is not null and r.replicated_at is null`.execute(handle.db));
  await time('lag, now (versions_awaiting_replica_by_organisation)', () => replicas.lag());
  await time('unrecoverable, before', () => sql`select count(*) as n from blob_replicas as r inner join versions as v on v.blob_id = r.blob_id where r.unrecoverable_at is not null and v.wrapped_key is not null`.execute(handle.db));
  await time('unrecoverable, now', () => replicas.unrecoverable());
  await time('a council\'s lag, by versions_organisation_scan', () => sql`select count(*) as pending, min(created_at) as oldest from versions indexed by versions_organisation_scan where replicated_at is null and wrapped_key is not null and organisation_id = 'o1'`.execute(handle.db));
  await time('a council\'s lag, now (its own waiting versions)', () => replicas.lag('o1'));
  await time('a council\'s unrecoverable, now', () => replicas.unrecoverable('o1'));
  await time('scrub sample of 500, before (order by random())', () => sql`select * from versions where wrapped_key is not null order by random() limit 500`.execute(handle.db));
  await time('scrub sample of 500, now (by index)', () => replicas.liveVersions({ limit: 500, random: true }));
  await handle.close();
});
