// SQLite's search looks up each matching document's search_documents row (its indexed version and
// type) and that version's scan status. The matching documents arrive in document-id order, and the
// documents lookup beside them walks its covering index (202612041000) in that order. These two did
// not: search_documents was found through its primary key's index and then read from the table by
// rowid, and the version's covering index was keyed by version id. With the server's random UUIDs
// neither order is the documents', so each lookup landed on an unrelated page, read from outside the
// page cache and decrypted: p95 at 100,000 documents went from 99-116 ms to 89-95 ms with both keyed
// by document id (docs/performance.md "Search"; the bench's ids used to be made in order, which hid
// it). search_documents' index is unique, as its key is, and the plan names it (SQLite preferred the
// primary key's own index, which does not cover the row). PostgreSQL reads the scope from the copy on
// each search_documents row instead (202612060000).
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'sqlite') return;
  await sql`create unique index search_documents_scope on search_documents (document_id, version_id, type)`.execute(db);
  await sql`drop index versions_search_scan`.execute(db);
  await sql`create index versions_search_scan on versions (document_id, id, scan_status)`.execute(db);
}
