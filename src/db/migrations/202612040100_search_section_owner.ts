// A narrow index over search_sections: which document (and section, page) a section id belongs to.
// Every search maps each matching section to its document; read from the table, that touched almost
// every page of it (a section row holds its text, so a 100,000-document index is 400 MB of them), and
// the mapping alone was most of a common word's search time on SQLite. The covering index holds the
// same mapping in a few MB, so it stays in the page cache (docs/performance.md "Search").
// SQLite's planner reads a rowid lookup from the table whatever the indexes, so search.sqlite.ts names
// this index (INDEXED BY); PostgreSQL chooses an index-only scan of it by itself.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect === 'sqlite') await sql`create index search_sections_owner on search_sections (id, document_id, section, page)`.execute(db);
  else await sql`create index search_sections_owner on search_sections (id) include (document_id, section, page)`.execute(db);
}
