// PostgreSQL's blind index keeps a section's prefixes in a column of their own (search-blind.ts
// tsvectorChunks): three quarters of a section's lexemes are prefixes, and with them in `tsv` ranking
// a word read them all (7.7 kB a section on average, several TOAST chunks); `tsv` alone is 1.6 kB,
// one chunk. Both stay out of the row, so the row a match reads is narrow and many share a page:
// toast_tuple_target moves them out of any row over 128 bytes, and STORAGE EXTERNAL skips the
// compression PostgreSQL would try first (hashes do not compress: none did at 100,000 documents).
// docs/performance.md "Search" has the measurements.
//
// Existing rows are split in place, no key needed: a word's lexeme always carries positions and a
// prefix's never does. The update rewrites every index row once; on a large index run it in a quiet
// hour, then VACUUM (FULL, in a maintenance window, to give the space back), as docs/search.md says.
import { sql, type Kysely } from 'kysely';
import type { DialectCaps } from '../kysely.js';

export async function up(db: Kysely<any>, caps: DialectCaps): Promise<void> {
  if (caps.dialect !== 'postgres') return;
  await sql`alter table search_terms add column prefixes tsvector not null default ''`.execute(db);
  await sql`alter table search_terms alter column tsv set storage external, alter column prefixes set storage external`.execute(db);
  await sql`alter table search_terms set (toast_tuple_target = 128)`.execute(db);
  await sql`update search_terms set
      prefixes = array_to_tsvector(array(select u.lexeme from unnest(tsv) u where u.positions is null)),
      tsv = ts_delete(tsv, array(select u.lexeme from unnest(tsv) u where u.positions is null))`.execute(db);
  await sql`alter table search_terms alter column prefixes drop default`.execute(db);
  await sql`create index search_terms_prefixes on search_terms using gin (prefixes)`.execute(db);
}
