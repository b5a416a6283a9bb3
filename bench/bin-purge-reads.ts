// What the daily bin purge's reads cost on a large council: builds an encrypted SQLite database with the real
// schema, a council (o1) of N documents, a fifth of them purged long ago (their stubs keep deleted_at), 20 in its
// bin long enough to go, and 2 × N audit events of its own (reads of its documents) beside 60 hold and 200 folder
// events, with the server's 2 MiB main-connection page cache; times the bin's read and the log's reads each page
// of the purge makes (holds; folders' placements), and a subject access request's check of its opening, without
// migrations 202612250000 and 202612250100's indexes (as the release before them planned them) and with them.
// Usage: node --no-warnings --import tsx bench/bin-purge-reads.ts [N]  (default 500,000; about 3 minutes)
import { randomBytes, randomUUID } from 'node:crypto';
import { openSqlite } from '../src/db/kysely.js';
import { up as indexTheBin } from '../src/db/migrations/202612250000_bin_by_organisation.js';
import { up as indexRecordEvents } from '../src/db/migrations/202612250100_organisation_record_events.js';
import { AuditRepo } from '../src/db/repos/audit.repo.js';
import { DisposalRepo } from '../src/db/repos/disposal.repo.js';
import { HOLD_RECORD_ACTIONS } from '../src/domain/audit/hold-record.js';
import { COLLECTION_PLACEMENT_ACTIONS } from '../src/domain/audit/placement-record.js';
import { insertRows, onMigratedDatabase } from './lib/migrated-database.js';
import { timeThrice } from './lib/timed-reads.js';

const n = Number(process.argv[2] ?? 500_000);
const BINNED = 20;
await onMigratedDatabase('srb-bin-purge-', async ({ file, key, build }) => {
  // Timed first as the release before them found them: without the two migrations' indexes.
  for (const index of ['documents_bin', 'audit_events_organisation_records']) await build.db.schema.dropIndex(index).execute();
  const at = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString();
  await build.db.insertInto('organisations').values({ id: 'o1', slug: 'o1', name: 'O1', kind: 'district', region: 'North', created_at: at(0) } as never).execute();
  await build.db.insertInto('collections').values({ id: 'c1', organisation_id: 'o1', name: 'C', service_area: 'hr', classification: 'OFFICIAL', created_at: at(0) } as never).execute();
  // Documents: the first BINNED deleted 60 days ago, then a fifth purged long ago, the rest live.
  const documentIds: string[] = [];
  await insertRows(build, 'documents', n, (i) => {
    const id = randomUUID();
    documentIds.push(id);
    const state = i < BINNED ? 'binned' : i % 5 === 0 ? 'disposed' : 'live';
    return {
      id, organisation_id: 'o1', collection_id: 'c1', name: state === 'disposed' ? `disposed-${id}` : `d-${i}.txt`, classification: 'OFFICIAL', service_area: 'hr',
      status: state === 'disposed' ? 'disposed' : 'available', current_version: 1, current_version_id: 'v', created_at: at(i), updated_at: at(i),
      deleted_at: state === 'live' ? null : state === 'binned' ? '2026-10-01T00:00:00.000Z' : at(i + 1),
    };
  });
  const events = 2 * n;
  const event = (i: number, action: string, documentId: string | null) => ({
    seq: i, leaf_hash: randomBytes(32), time: at(i), actor_user_id: randomUUID(), actor_organisation_id: 'o1', action, target_organisation_id: 'o1',
    target_ids: JSON.stringify({ documentId }), document_id: documentId, decision: 'allow', reason: 'role', arrangement_id: null, channel: 'api',
    client_address: '192.0.2.1', request_id: randomUUID(), seal: null,
  });
  await insertRows(build, 'audit_events', events, (i) => {
    // Every 2,000th event a hold's (create, add, release in turn) or a folder's, every 5,000th a request's opening; the rest reads.
    const action = i % 2000 === 7 ? HOLD_RECORD_ACTIONS[i % 3]! : i % 2000 === 11 ? COLLECTION_PLACEMENT_ACTIONS[i % 2]! : i % 5000 === 13 ? 'subject-access.open' : 'document.read';
    return event(i, action, action === 'document.read' ? documentIds[i % n]! : null);
  });
  await build.db.insertInto('key_values').values({ key: 'audit.tree_size', value: String(events) }).execute();
  await build.close();
  // Opened again as the server opens its main connection: a 2 MiB page cache.
  const handle = openSqlite({ file, key, mainCacheMib: 2 });
  const disposal = new DisposalRepo(handle.db);
  const audit = new AuditRepo(handle.db, handle.caps, randomBytes(32));
  const time = (label: string, read: () => Promise<unknown>) => timeThrice(label, 58, read);
  const cutoff = '2026-11-01T00:00:00.000Z';
  const reads = async (when: string) => {
    await time(`the bin's expired documents (page of 500), ${when}`, () => disposal.binExpired('o1', cutoff, 500));
    await time(`the bin, nothing expired yet, ${when}`, () => disposal.binExpired('o1', '2026-09-01T00:00:00.000Z', 500));
    await time(`the council's hold events (each page), ${when}`, () => audit.allowedEvents(HOLD_RECORD_ACTIONS, { organisationId: 'o1' }));
    await time(`its folders' placement events (each page), ${when}`, () => audit.allowedEvents(COLLECTION_PLACEMENT_ACTIONS, { organisationId: 'o1' }));
    await time(`requests it opened (a request's every page), ${when}`, () => audit.allowedEvents(['subject-access.open'], { organisationId: 'o1' }));
  };
  process.stdout.write(`a council of ${n.toLocaleString('en-GB')} documents (${BINNED} to purge, ${(n / 5).toLocaleString('en-GB')} purged before) and ${events.toLocaleString('en-GB')} audit events; three runs each, on the event loop\n`);
  // Before: the same statements without the indexes, as the release before them planned them (by organisation, then filtered and sorted).
  await reads('before');
  let start = performance.now();
  await indexTheBin(handle.db);
  process.stdout.write(`${'migration 202612250000 (documents_bin)'.padEnd(58)} ${(performance.now() - start).toFixed(0)} ms\n`);
  start = performance.now();
  await indexRecordEvents(handle.db);
  process.stdout.write(`${'migration 202612250100 (record events)'.padEnd(58)} ${(performance.now() - start).toFixed(0)} ms\n`);
  await reads('now');
  if ((await disposal.binExpired('o1', cutoff, 500)).length !== BINNED) throw new Error('the bin read the wrong documents');
  await handle.close();
});
