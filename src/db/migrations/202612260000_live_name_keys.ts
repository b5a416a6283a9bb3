// Names that differ only in capital letters are one name in a place (domain/names.ts nameKey): every document and
// collection gets its name key, and the live-name unique indexes of migration 202612200000 get siblings on the key,
// so the database itself refuses `minutes.docx` beside `Minutes.docx` (the claims, services/name-claims.ts, refuse
// it first and in words). The exact-name indexes stay: WebDAV walks a path by exact name through them.
//
// Case-only duplicates were allowed until now, so a database may hold some. The upgrade is not refused for them and
// nothing is renamed or binned behind anyone's back: in each group of live things in one place sharing a key, the
// oldest (created first, then lowest id) holds the key alone and every other gets its own id in name_key_duplicate,
// which the unique index includes, so all keep working. Any new name of that key is still refused (the claims find
// every holder); renaming or moving one of them writes its key again and clears the mark. Each group is written to
// standard error as the migration applies (names JSON-quoted: no control character reaches a terminal raw), and
// `name_key_duplicate <> ''` finds them later (docs/operations.md, Upgrading).
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { nameKey } from '../../domain/names.js';

export const LIVE_NAME_KEYS_MIGRATION = '202612260000_live_name_keys';

/** Which unique index refuses a second live holder of a name key (db/unique-violations.ts reads these). */
export const LIVE_NAME_KEY_INDEXES = {
  documents: { index: 'documents_live_name_key', table: 'documents', columns: ['collection_id', 'name_key', 'name_key_duplicate'] },
  children: { index: 'collections_live_child_name_key', table: 'collections', columns: ['parent_id', 'name_key', 'name_key_duplicate'] },
  top: { index: 'collections_live_top_name_key', table: 'collections', columns: ['organisation_id', 'name_key', 'name_key_duplicate'] },
} as const;

// As migration 202612200000's indexes have them.
const LIVE_DOCUMENT = sql<boolean>`deleted_at is null and status <> 'disposed'`;
const LIVE_CHILD = sql<boolean>`parent_id is not null and deleted_at is null`;
const LIVE_TOP = sql<boolean>`parent_id is null and deleted_at is null`;

const PAGE = 1000;

interface Holder { place: string; key: string; id: string; name: string; created_at: string }

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ['documents', 'collections']) {
    await db.schema.alterTable(table).addColumn('name_key', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable(table).addColumn('name_key_duplicate', 'text', (c) => c.notNull().defaultTo('')).execute();
    await writeKeys(db, table);
  }
  const groups = [
    ...await markDuplicates(db, 'documents', 'collection_id', LIVE_DOCUMENT, (place) => `in collection ${place}`, 'document'),
    ...await markDuplicates(db, 'collections', 'parent_id', LIVE_CHILD, (place) => `under collection ${place}`, 'collection'),
    ...await markDuplicates(db, 'collections', 'organisation_id', LIVE_TOP, (place) => `at the top level of organisation ${place}`, 'collection'),
    ...await documentsBesideFolders(db),
  ];
  const { documents, children, top } = LIVE_NAME_KEY_INDEXES;
  await db.schema.createIndex(documents.index).on(documents.table).columns([...documents.columns]).unique().where(LIVE_DOCUMENT).execute();
  await db.schema.createIndex(children.index).on(children.table).columns([...children.columns]).unique().where(LIVE_CHILD).execute();
  await db.schema.createIndex(top.index).on(top.table).columns([...top.columns]).unique().where(LIVE_TOP).execute();
  if (groups.length > 0) process.stderr.write(`${caseDuplicatesReport(groups)}\n`);
}

/**
 * Every row's key. SQL's lower() is a fast first draft for the many plain names (SQLite's knows ASCII only,
 * PostgreSQL's follows the database's collation); each row is then read a page at a time in id order and every key
 * the draft got wrong is written as nameKey computes it, so the key is nameKey's on both dialects.
 */
async function writeKeys(db: Kysely<any>, table: string): Promise<void> {
  await db.updateTable(table).set({ name_key: sql`lower(name)` }).execute();
  let after = '';
  for (;;) {
    const rows = await db.selectFrom(table).select(['id', 'name', 'name_key']).where('id', '>', after).orderBy('id').limit(PAGE).execute() as { id: string; name: string; name_key: string }[];
    for (const row of rows) {
      const key = nameKey(row.name);
      if (key !== row.name_key) await db.updateTable(table).set({ name_key: key }).where('id', '=', row.id).execute();
    }
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.id;
  }
}

/** Marks all but the oldest of each group of live rows sharing a key in a place; returns the groups, as lines. */
async function markDuplicates(db: Kysely<any>, table: string, placeColumn: string, live: RawBuilder<boolean>, where: (place: string) => string, kind: string): Promise<string[]> {
  const { rows } = await sql<Holder>`
    select t.${sql.ref(placeColumn)} as place, t.name_key as key, t.id, t.name, t.created_at from ${sql.table(table)} t
    where ${live} and exists (
      select 1 from ${sql.table(table)} o where ${live} and o.${sql.ref(placeColumn)} = t.${sql.ref(placeColumn)} and o.name_key = t.name_key and o.id <> t.id)
    `.execute(db);
  // Ordered here, by code unit: a PostgreSQL collation would order the keys otherwise than SQLite does.
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  rows.sort((a, b) => order(a.place, b.place) || order(a.key, b.key) || order(a.created_at, b.created_at) || order(a.id, b.id));
  const lines: string[] = [];
  let group: Holder[] = [];
  const close = async () => {
    if (group.length < 2) return;
    for (const later of group.slice(1)) await db.updateTable(table).set({ name_key_duplicate: later.id }).where('id', '=', later.id).execute();
    lines.push(`- ${where(group[0]!.place)}: the ${kind}s ${group.map((h) => `${h.id} ${quoted(h.name)}`).join(', ')} differ only in capital letters`);
  };
  for (const row of rows) {
    if (group.length > 0 && (group[0]!.place !== row.place || group[0]!.key !== row.key)) {
      await close();
      group = [];
    }
    group.push(row);
  }
  await close();
  return lines;
}

/**
 * A document and a sub-collection in one folder whose names differ at most in case (written before the one-name rule,
 * or before this one): each table's index stands without a mark, and the claims refuse any new spelling, but a mapped
 * drive reaches one of them, so they are reported too.
 */
async function documentsBesideFolders(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ place: string; key: string; kind: 'document' | 'collection'; id: string; name: string }>`
    select d.collection_id as place, d.name_key as key, 'document' as kind, d.id, d.name from documents d
    where d.deleted_at is null and d.status <> 'disposed'
      and exists (select 1 from collections c where c.parent_id = d.collection_id and c.name_key = d.name_key and c.deleted_at is null)
    union all
    select c.parent_id as place, c.name_key as key, 'collection' as kind, c.id, c.name from collections c
    where c.parent_id is not null and c.deleted_at is null
      and exists (select 1 from documents d where d.collection_id = c.parent_id and d.name_key = c.name_key and d.deleted_at is null and d.status <> 'disposed')`.execute(db);
  const groups = new Map<string, typeof rows>();
  for (const row of rows) groups.set(`${row.place}/${row.key}`, [...groups.get(`${row.place}/${row.key}`) ?? [], row]);
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...groups.entries()].sort(([a], [b]) => order(a, b)).map(([, group]) => {
    const of = (kind: 'document' | 'collection') => group.filter((h) => h.kind === kind).sort((a, b) => order(a.id, b.id)).map((h) => `${h.id} ${quoted(h.name)}`).join(', ');
    return `- in collection ${group[0]!.place}: the document(s) ${of('document')} and the collection(s) ${of('collection')} have one name, capital letters apart`;
  });
}

/**
 * A name as a JSON string with every control, invisible or direction-changing character escaped (JSON.stringify
 * leaves C1 controls such as U+0085 and U+202E raw): a row written by hand or by an old release may hold them.
 */
const quoted = (name: string): string =>
  JSON.stringify(name).replace(/[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function caseDuplicatesReport(lines: string[]): string {
  return [
    `Migration ${LIVE_NAME_KEYS_MIGRATION}: names that differ only in capital letters are now one name in a place. `
      + `This database holds ${lines.length === 1 ? 'a group' : `${lines.length} groups`} of live things whose names differ only so, written before; `
      + 'all of them were kept as they are and keep working, and no new name of the same letters can join them. '
      + 'Windows and macOS clients reach only one of each group: give the others a distinct name (strongroom document move ID --name NEW-NAME --as EMAIL, or collection move).',
    ...lines,
  ].join('\n');
}
