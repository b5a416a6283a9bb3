// Live names unique in the database too, as defence in depth behind the claims (services/name-claims.ts, which
// still give the right words and, on PostgreSQL, the advisory lock order): a live document's name in its
// collection, and a live collection's among its siblings (under a parent, or at its organisation's top level:
// NULLs are distinct in a unique index on both dialects, hence two indexes). The document index matches the
// claim's read (DocumentsRepo.byName: deleted_at is null) less disposed stubs, which no listing shows and whose
// disposal renames them unclaimed (`disposed-<id>`). A database already holding two live things of one name (a past
// bug, or rows written by hand) is refused, naming each clash, with nothing renamed or binned behind anyone's back.
import { sql, type Kysely } from 'kysely';

export const LIVE_NAMES_MIGRATION = '202612200000_live_names_unique';

/** Which unique index refuses a second live thing of one name (db/unique-violations.ts reads these). */
export const LIVE_NAME_INDEXES = {
  documents: { index: 'documents_live_name', table: 'documents', columns: ['collection_id', 'name'] },
  children: { index: 'collections_live_child_name', table: 'collections', columns: ['parent_id', 'name'] },
  top: { index: 'collections_live_top_name', table: 'collections', columns: ['organisation_id', 'name'] },
} as const;

const LIVE_DOCUMENT = sql<boolean>`deleted_at is null and status <> 'disposed'`;
const LIVE_CHILD = sql<boolean>`parent_id is not null and deleted_at is null`;
const LIVE_TOP = sql<boolean>`parent_id is null and deleted_at is null`;

interface Clash { place: string; kind: 'document' | 'collection'; name: string; ids: string[] }

export async function up(db: Kysely<any>): Promise<void> {
  const clashes = await liveNameClashes(db);
  if (clashes.length > 0) throw new Error(refusal(clashes));
  const { documents, children, top } = LIVE_NAME_INDEXES;
  await db.schema.createIndex(documents.index).on(documents.table).columns([...documents.columns]).unique().where(LIVE_DOCUMENT).execute();
  await db.schema.createIndex(children.index).on(children.table).columns([...children.columns]).unique().where(LIVE_CHILD).execute();
  await db.schema.createIndex(top.index).on(top.table).columns([...top.columns]).unique().where(LIVE_TOP).execute();
}

/** Every live name held more than once, with the ids that hold it, in a stable order. */
async function liveNameClashes(db: Kysely<any>): Promise<Clash[]> {
  const documents = await sql<{ place: string; name: string; id: string }>`
    select d.collection_id as place, d.name, d.id from documents d
    where d.deleted_at is null and d.status <> 'disposed'
      and exists (select 1 from documents o where o.collection_id = d.collection_id and o.name = d.name and o.id <> d.id and o.deleted_at is null and o.status <> 'disposed')
    order by d.collection_id, d.name, d.id`.execute(db);
  const children = await sql<{ place: string; name: string; id: string }>`
    select c.parent_id as place, c.name, c.id from collections c
    where c.parent_id is not null and c.deleted_at is null
      and exists (select 1 from collections o where o.parent_id = c.parent_id and o.name = c.name and o.id <> c.id and o.deleted_at is null)
    order by c.parent_id, c.name, c.id`.execute(db);
  const top = await sql<{ place: string; name: string; id: string }>`
    select c.organisation_id as place, c.name, c.id from collections c
    where c.parent_id is null and c.deleted_at is null
      and exists (select 1 from collections o where o.parent_id is null and o.organisation_id = c.organisation_id and o.name = c.name and o.id <> c.id and o.deleted_at is null)
    order by c.organisation_id, c.name, c.id`.execute(db);
  return [
    ...grouped(documents.rows, 'document', (place) => `in collection ${place}`),
    ...grouped(children.rows, 'collection', (place) => `under collection ${place}`),
    ...grouped(top.rows, 'collection', (place) => `at the top level of organisation ${place}`),
  ];
}

function grouped(rows: { place: string; name: string; id: string }[], kind: Clash['kind'], where: (place: string) => string): Clash[] {
  const clashes: Clash[] = [];
  for (const row of rows) {
    const last = clashes.at(-1);
    if (last && last.place === where(row.place) && last.name === row.name) last.ids.push(row.id);
    else clashes.push({ place: where(row.place), kind, name: row.name, ids: [row.id] });
  }
  return clashes;
}

/** Names are quoted as JSON strings: a row written by hand may hold control characters, which must not reach a terminal raw. */
function refusal(clashes: Clash[]): string {
  const lines = clashes.map((c) => {
    const [, second] = c.ids;
    const command = c.kind === 'document' ? 'document move' : 'collection move';
    return `- ${c.place}: the ${c.kind}s ${c.ids.join(', ')} are all called ${JSON.stringify(c.name)} (for example: strongroom ${command} ${second} --name NEW-NAME --as EMAIL)`;
  });
  return [
    `Migration ${LIVE_NAMES_MIGRATION} refused: a name can belong to only one live document or collection in one place, `
      + `and this database has ${clashes.length === 1 ? 'a name' : `${clashes.length} names`} held twice or more (written by a past bug or by hand). `
      + 'Nothing was changed, renamed or binned, and the database is still at the schema it had.',
    ...lines,
    'Give all but one of each a new name (or move or bin them) with the release you are upgrading from, then start this release again.',
  ].join('\n');
}
