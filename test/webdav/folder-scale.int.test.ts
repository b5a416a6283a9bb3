// A WebDAV GET or PUT of one file must not cost more as its folder grows: the same SQL statements in a
// folder of 1 document as in one of 400 (both dialects), and on SQLite none of them reads a table from
// end to end (EXPLAIN QUERY PLAN on the statements really run, with their parameters). A lookup that
// lists the folder, or a query without a usable index, fails here long before it shows in `make bench`.
// Statements are counted below Kysely (prepared statements on SQLite, client queries on PostgreSQL).
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3-multiple-ciphers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, type Dialect } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();
const LARGE = 400;

/** A statement run, with the rows it returned (read rows one by one through iterate() count as 0). */
interface Ran { source: string; rows: number; run(prefix: string): unknown[] }
let recording: Ran[] | null = null;

const sqlite = Database.prototype as unknown as { prepare(this: Database.Database, source: string): Record<string, unknown> };
const prepare = sqlite.prepare;
sqlite.prepare = function (this: Database.Database, source: string) {
  const statement = prepare.call(this, source);
  const database = this;
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statement[method] as (...args: unknown[]) => unknown;
    statement[method] = function (this: unknown, ...args: unknown[]) {
      const result = original.apply(this, args);
      recording?.push({ source, rows: method === 'all' ? (result as unknown[]).length : method === 'get' && result !== undefined ? 1 : 0, run: (prefix) => database.prepare(`${prefix} ${source}`).all(...args) });
      return result;
    };
  }
  return statement;
};
const clientQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text: string };
  const ran: Ran = { source: typeof first === 'string' ? first : first.text, rows: 0, run: () => [] };
  recording?.push(ran);
  const result = clientQuery.apply(this, args);
  if (result instanceof Promise) void result.then((r: { rows?: unknown[] }) => { ran.rows = r?.rows?.length ?? 0; }, () => undefined);
  return result;
} as typeof pg.Client.prototype.query;

async function recorded(work: () => Promise<unknown>): Promise<Ran[]> {
  recording = [];
  try {
    await work();
    return recording;
  } finally {
    recording = null;
  }
}

/** A vault with folders "small" (target.bin alone) and "large" (target.bin and LARGE - 1 more), and requests on them. */
function useFolders(dialect: Dialect) {
  let s: DavServer;
  let user: DavUser;
  let slug: string;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    slug = org.slug;
    user = await davUser(s.vault, org, { teams: ['finance'] });
    for (const folder of ['small', 'large']) {
      expect((await dav(s.base, 'MKCOL', `/dav/${slug}/finance/${folder}`, { user })).status).toBe(201);
      expect((await dav(s.base, 'PUT', `/dav/${slug}/finance/${folder}/target.bin`, { user, body: Buffer.alloc(4096, 7) })).status).toBe(201);
    }
    // Fill the large folder with copies of its target's rows, straight into the database.
    const db = s.vault.store.db;
    const large = await db.selectFrom('collections').select('id').where('organisation_id', '=', org.id).where('name', '=', 'large').executeTakeFirstOrThrow();
    const template = await db.selectFrom('documents').selectAll().where('collection_id', '=', large.id).executeTakeFirstOrThrow();
    const version = await db.selectFrom('versions').selectAll().where('id', '=', template.current_version_id).executeTakeFirstOrThrow();
    const docs: (typeof template)[] = [];
    const versions: (typeof version)[] = [];
    for (let i = 0; i < LARGE - 1; i++) {
      const id = randomUUID();
      const versionId = randomUUID();
      docs.push({ ...template, id, name: `file-${i}.bin`, name_key: `file-${i}.bin`, current_version_id: versionId });
      versions.push({ ...version, id: versionId, document_id: id });
    }
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < docs.length; i += 100) {
        await trx.insertInto('documents').values(docs.slice(i, i + 100)).execute();
        await trx.insertInto('versions').values(versions.slice(i, i + 100)).execute();
      }
    });
    // First use of each statement (and of the session) out of the way.
    for (const folder of ['small', 'large']) expect((await dav(s.base, 'GET', `/dav/${slug}/finance/${folder}/target.bin`, { user })).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await s?.close();
  });

  const get = (folder: string) => async () => expect((await dav(s.base, 'GET', `/dav/${slug}/finance/${folder}/target.bin`, { user })).status).toBe(200);
  const putNew = (folder: string) => async () => expect((await dav(s.base, 'PUT', `/dav/${slug}/finance/${folder}/new-${randomUUID()}.bin`, { user, body: Buffer.alloc(4096, 8) })).status).toBe(201);
  const putOver = (folder: string) => async () => expect((await dav(s.base, 'PUT', `/dav/${slug}/finance/${folder}/target.bin`, { user, body: `${randomUUID()}`.repeat(100) })).status).toBe(204);
  return { get, putNew, putOver };
}

describe.each(DIALECTS)('WebDAV GET and PUT in a growing folder on %s', (dialect) => {
  const { get, putNew, putOver } = useFolders(dialect);

  it.each([['GET', get], ['PUT of a new file', putNew], ['PUT over a file', putOver]] as const)(`%s runs the same statements, returning as many rows, in a folder of ${LARGE} documents as in a folder of one`, async (_label, request) => {
    const inSmall = (await recorded(request('small'))).map((r) => `${r.rows} ${r.source}`);
    const inLarge = (await recorded(request('large'))).map((r) => `${r.rows} ${r.source}`);
    expect(inSmall.length).toBeGreaterThan(0);
    expect(inLarge).toEqual(inSmall);
  });

});

// SQLite only, as in test/search/sqlite-plan.int.test.ts: PostgreSQL's planner chooses by statistics,
// and on tables this small it rightly reads them whole whatever indexes exist.
describe('WebDAV GET and PUT query plans on sqlite', () => {
  const { get, putNew, putOver } = useFolders('sqlite');

  it('no statement of a GET or PUT reads a whole table', async () => {
    const ran = [
      ...(await recorded(get('large'))), ...(await recorded(putNew('large'))), ...(await recorded(putOver('large'))),
    ].filter((r) => /^\s*(select|insert|update|delete|with)\b/i.test(r.source));
    expect(ran.length).toBeGreaterThan(10);
    const scans = ran.flatMap((r) => (r.run('explain query plan') as { detail: string }[])
      .filter((row) => /^SCAN \w+$/.test(row.detail)).map((row) => `${row.detail}: ${r.source}`));
    expect(scans).toEqual([]);
  });
});
