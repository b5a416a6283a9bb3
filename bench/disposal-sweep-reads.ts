// What the daily disposal sweep's read of a council costs: builds an encrypted SQLite database with the real
// schema and a council (o1) of N documents in one folder filed in a series, with the server's 2 MiB
// main-connection page cache; times the read of every document in a series as the release before 7 December
// made it (one statement over the whole council, then its folders) and, with migration 202612250400's index,
// the longest page the sweep now reads and the whole read a page at a time. What matters for every other
// council's requests is the longest time the event loop waits on one statement: a page's.
// Usage: node --no-warnings --import tsx bench/disposal-sweep-reads.ts [N]  (default 500,000; about a minute)
import { randomUUID } from 'node:crypto';
import { openSqlite } from '../src/db/kysely.js';
import { up as indexByOrganisationId } from '../src/db/migrations/202612250400_documents_by_organisation_id.js';
import { chainOf, collectionsWithAncestors } from '../src/db/repos/collection-chains.js';
import { RetentionRepo } from '../src/db/repos/retention.repo.js';
import { insertRows, onMigratedDatabase } from './lib/migrated-database.js';
import { timeThrice } from './lib/timed-reads.js';

const n = Number(process.argv[2] ?? 500_000);
await onMigratedDatabase('srb-sweep-', async ({ file, key, build }) => {
  await build.db.schema.dropIndex('documents_organisation_id').execute();
  const at = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
  await build.db.insertInto('organisations').values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: at(0) } as never).execute();
  await build.db.insertInto('collections').values({ id: 'c1', organisation_id: 'o1', name: 'C', service_area: 'hr', classification: 'OFFICIAL', created_at: at(0), series_code: 'HR-03' } as never).execute();
  await insertRows(build, 'documents', n, (i) => ({
    id: randomUUID(), organisation_id: 'o1', collection_id: 'c1', name: `d-${i}.txt`, classification: 'OFFICIAL', service_area: 'hr',
    status: 'available', current_version: 1, current_version_id: 'v', created_at: at(i), updated_at: at(i), deleted_at: null,
  }));
  await build.close();
  const handle = openSqlite({ file, key, mainCacheMib: 2 });
  const db = handle.db;
  const time = (label: string, read: () => Promise<unknown>) => timeThrice(label, 62, read);
  process.stdout.write(`a council of ${n.toLocaleString('en-GB')} documents filed in a series; three runs each, on the event loop\n`);
  // Before: the statement the release before made, and its folders, as one read.
  await time('before: every document in a series, one statement', async () => {
    const docs = await db.selectFrom('documents').select(['id', 'collection_id', 'series_code']).where('organisation_id', '=', 'o1').where('status', '!=', 'disposed').orderBy('id').execute();
    const links = await collectionsWithAncestors(db, docs.map((d) => d.collection_id));
    return docs.filter((d) => (d.series_code ?? chainOf(d.collection_id, links).find((l) => l.seriesCode !== null)?.seriesCode) !== undefined);
  });
  const start = performance.now();
  await indexByOrganisationId(db);
  process.stdout.write(`${'migration 202612250400 (documents_organisation_id)'.padEnd(62)} ${(performance.now() - start).toFixed(0)} ms\n`);
  const repo = new RetentionRepo(db);
  let longest = 0;
  let pages = 0;
  await time('now: every document in a series, a page at a time (all pages)', async () => {
    longest = 0;
    pages = 0;
    for (let after: string | null = null; ;) {
      const began = performance.now();
      const page: { ids: string[]; last: string | null } = await repo.documentsInSeriesPage('o1', after, 1000);
      longest = Math.max(longest, performance.now() - began);
      pages += 1;
      if (page.last === null) break;
      after = page.last;
    }
  });
  process.stdout.write(`${'now: the longest page of 1,000 (the event loop held at most)'.padEnd(62)} ${longest.toFixed(1)} ms over ${pages} pages\n`);
  if ((await repo.documentsInSeries('o1')).length !== n) throw new Error('the paged read missed documents');
  await handle.close();
});
