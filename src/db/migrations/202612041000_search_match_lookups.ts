// Covering indexes for the lookups a search makes per matching document on SQLite: its documents row
// (status, deletion, and every column the readable scope and the filters test) and its indexed
// version's scan status. SQLite reads a row by its text primary key through the key's index and then
// the table, so each of a common word's ~15,000 matches cost two B-tree walks per table, and the
// table pages (wide rows) crowd the page cache; these indexes answer from one narrow B-tree each. The
// planner picks them by itself (they are the covering choice for `id = ?`). Interleaved at 100,000
// documents they took about a tenth off the search's p50 and p95 (docs/performance.md "Search").
// Not added on PostgreSQL, where they were not measured: its lookups by primary key and its join
// choices differ, and an index there is only worth its writes once a plan shows it is used.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'sqlite') return;
  await sql`create index documents_search_scope on documents
    (id, status, deleted_at, organisation_id, service_area, classification, arrangement_id, collection_id, updated_at)`.execute(db);
  await sql`create index versions_search_scan on versions (id, document_id, scan_status)`.execute(db);
}
