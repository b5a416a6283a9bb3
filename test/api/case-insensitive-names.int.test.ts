// Names that differ only in capital letters are one name in a folder (domain/names.ts nameKey), as they are to
// Windows Explorer and Finder over WebDAV: `minutes.txt` beside `Minutes.txt` is refused on every way a name is
// given (REST upload, rename, move, copy, restore, folder create; WebDAV PUT, MKCOL, MOVE, COPY; import), told with
// the holder's own name and why to someone who may see it, and with their own spelling only to someone who may not.
// A thing renamed to another case of its own name is itself. WebDAV paths resolve exactly (docs/webdav.md).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirectTarget } from '../../src/cli/import/direct-target.js';
import { FileRefused } from '../../src/cli/import/target.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { raceAgainstUncommitted } from '../support/uncommitted-race.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { dav, davUser, useDavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

const inAnotherCase = (kind: 'document' | 'collection', name: string) =>
  `A ${kind} called "${name}" already exists there (names that differ only in capital letters count as the same name).`;

describe.each(DIALECTS)('names that differ only in case are one name in a folder, on %s', (dialect) => {
  const s = useDavServer(dialect, clamd);

  async function place() {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const staff = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const low = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL' });
    return { org, staff, low, finance: org.collections.finance! };
  }
  const upload = (user: DavUser, collectionId: string, name: string, classification = 'OFFICIAL') => s.app.inject({
    method: 'POST', url: `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}&classification=${classification}`,
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/octet-stream' }, payload: 'minutes\n',
  });
  const folder = (user: DavUser, parentId: string, name: string) => api(s.app, user).post('collections', { name, parentId, serviceArea: 'finance', classification: 'OFFICIAL' });
  async function made(res: { statusCode: number; body: string; json: () => unknown }): Promise<string> {
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: string }).id;
  }
  /** The live names in a folder, documents and sub-collections alike, sorted. */
  async function names(org: TestOrganisation, folderId: string): Promise<string[]> {
    const docs = (await s.vault.store.repos.documents.inCollection(folderId)).map((d) => `document:${d.name}`);
    const cols = (await s.vault.store.repos.collections.children(org.id, folderId)).map((c) => `collection:${c.name}`);
    return [...docs, ...cols].sort();
  }

  it('REST upload, rename, move, copy and restore of a document onto another case of a name: 409 naming the holder, nothing written', async () => {
    const { org, staff, finance } = await place();
    const elsewhere = await made(await folder(staff, finance, 'Elsewhere'));
    await made(await upload(staff, finance, 'Minutes.txt'));
    expect(expectProblem(await upload(staff, finance, 'minutes.txt'), 409).detail).toBe(inAnotherCase('document', 'Minutes.txt'));
    expect(expectProblem(await upload(staff, finance, 'MINUTES.TXT'), 409).detail).toBe(inAnotherCase('document', 'Minutes.txt'));
    const draft = await made(await upload(staff, finance, 'draft.txt'));
    expect(expectProblem(await api(s.app, staff).patch(`documents/${draft}`, { name: 'MINUTES.txt' }), 409).detail).toBe(inAnotherCase('document', 'Minutes.txt'));
    const away = await made(await upload(staff, elsewhere, 'minutes.TXT'));
    expect(expectProblem(await api(s.app, staff).patch(`documents/${away}`, { collectionId: finance }), 409).detail).toBe(inAnotherCase('document', 'Minutes.txt'));
    expect(expectProblem(await api(s.app, staff).post(`documents/${away}/copy`, { collectionId: finance }), 409).detail).toBe(inAnotherCase('document', 'Minutes.txt'));
    // Restore from the bin onto another case of its name, taken meanwhile: refused as onto its own name.
    const binned = await made(await upload(staff, finance, 'agenda.txt'));
    expect((await api(s.app, staff).delete(`documents/${binned}`)).statusCode).toBe(204);
    await made(await upload(staff, finance, 'Agenda.txt'));
    expect(expectProblem(await api(s.app, staff).post(`documents/${binned}/restore`), 409).detail).toBe(inAnotherCase('document', 'Agenda.txt'));
    // Not only ASCII.
    await made(await upload(staff, finance, 'Ärger.txt'));
    expect(expectProblem(await upload(staff, finance, 'ärger.txt'), 409).detail).toBe(inAnotherCase('document', 'Ärger.txt'));
    expect(await names(org, finance)).toEqual(['collection:Elsewhere', 'document:Agenda.txt', 'document:Minutes.txt', 'document:draft.txt', 'document:Ärger.txt'].sort());
    expect((await s.vault.store.repos.documents.byId(binned))?.deletedAt).not.toBeNull();
    expect(await names(org, elsewhere)).toEqual(['document:minutes.TXT']);
  });

  it('a folder and a document differing only in case: each refused where the other is, on create, rename and upload', async () => {
    const { org, staff, finance } = await place();
    await made(await folder(staff, finance, 'Reports'));
    expect(expectProblem(await upload(staff, finance, 'reports'), 409).detail).toBe(inAnotherCase('collection', 'Reports'));
    expect(expectProblem(await folder(staff, finance, 'REPORTS'), 409).detail).toBe(inAnotherCase('collection', 'Reports'));
    await made(await upload(staff, finance, 'Budget'));
    expect(expectProblem(await folder(staff, finance, 'budget'), 409).detail).toBe(inAnotherCase('document', 'Budget'));
    const plans = await made(await folder(staff, finance, 'Plans'));
    expect(expectProblem(await api(s.app, staff).patch(`collections/${plans}`, { name: 'BUDGET' }), 409).detail).toBe(inAnotherCase('document', 'Budget'));
    expect(await names(org, finance)).toEqual(['collection:Plans', 'collection:Reports', 'document:Budget']);
  });

  it('the web form: renaming a document onto another case of a name is refused in the same words, on the name field', async () => {
    const { org, staff, finance } = await place();
    await made(await upload(staff, finance, 'Minutes.txt'));
    const draft = await made(await upload(staff, finance, 'draft.txt'));
    const member = await addPerson(s.vault, org.slug, { teams: ['finance'] });
    const client = new FormClient(s.base);
    await client.signIn(member.email);
    const page = await client.get(`/documents/${draft}`);
    const renamed = await client.post(`/documents/${draft}/rename`, { _csrf: FormClient.csrf(page.text), name: 'MINUTES.txt', collectionId: finance });
    expect(renamed.status).toBe(409);
    expect(renamed.text).toContain(`<a href="#name">${inAnotherCase('document', 'Minutes.txt').replaceAll('"', '&quot;')}</a>`);
    expect(await names(org, finance)).toEqual(['document:Minutes.txt', 'document:draft.txt']);
  });

  it('someone who may not see the holder hears only that their own spelling cannot be used', async () => {
    const { staff, low, finance } = await place();
    await made(await upload(staff, finance, 'Grievances.txt', 'OFFICIAL-SENSITIVE'));
    expect(expectProblem(await upload(low, finance, 'GRIEVANCES.TXT'), 409).detail).toBe('The name "GRIEVANCES.TXT" cannot be used in this collection. Choose another name.');
  });

  it('renaming a document or a folder to another case of its own name renames it (REST and WebDAV MOVE)', async () => {
    const { org, staff, finance } = await place();
    const doc = await made(await upload(staff, finance, 'minutes.txt'));
    const renamed = await api(s.app, staff).patch(`documents/${doc}`, { name: 'Minutes.txt' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    const reports = await made(await folder(staff, finance, 'reports'));
    const folderRenamed = await api(s.app, staff).patch(`collections/${reports}`, { name: 'Reports' });
    expect(folderRenamed.statusCode, folderRenamed.body).toBe(200);
    const base = `/dav/${org.slug}/finance`;
    const moved = await dav(s.base, 'MOVE', `${base}/Minutes.txt`, { user: staff, headers: { destination: `${s.base}${base}/MINUTES.txt`, overwrite: 'F' } });
    expect(moved.status, moved.body).toBe(201);
    expect(await names(org, finance)).toEqual(['collection:Reports', 'document:MINUTES.txt']);
  });

  it('WebDAV: paths resolve exactly, and PUT, MKCOL, MOVE and COPY onto another case of a name are 409 naming the holder, nothing done', async () => {
    const { org, staff, finance } = await place();
    const base = `/dav/${org.slug}/finance`;
    const as = { user: staff };
    expect((await dav(s.base, 'PUT', `${base}/Minutes.txt`, { ...as, body: 'minutes\n' })).status).toBe(201);
    expect((await dav(s.base, 'MKCOL', `${base}/Reports`, as)).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${base}/draft.txt`, { ...as, body: 'draft\n' })).status).toBe(201);
    expect((await dav(s.base, 'MKCOL', `${base}/Plans`, as)).status).toBe(201);
    expect((await dav(s.base, 'GET', `${base}/MINUTES.TXT`, as)).status).toBe(404);
    const answer = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
      const r = await dav(s.base, method, `${base}/${path}`, { ...as, headers, ...(body !== undefined ? { body } : {}) });
      return `${method} ${r.status} ${r.body}`;
    };
    const to = (name: string, overwrite: 'T' | 'F') => ({ destination: `${s.base}${base}/${name}`, overwrite });
    const documentHolds = `409 ${inAnotherCase('document', 'Minutes.txt')}\n`;
    const folderHolds = `409 ${inAnotherCase('collection', 'Reports')}\n`;
    expect([
      await answer('PUT', 'MINUTES.TXT', {}, 'look-alike\n'),
      await answer('PUT', 'reports', {}, 'look-alike\n'),
      await answer('MKCOL', 'minutes.txt'),
      await answer('MKCOL', 'REPORTS'),
      await answer('MOVE', 'draft.txt', to('minutes.txt', 'F')),
      await answer('MOVE', 'draft.txt', to('minutes.txt', 'T')),
      await answer('COPY', 'draft.txt', to('MINUTES.txt', 'F')),
      await answer('COPY', 'draft.txt', to('MINUTES.txt', 'T')),
      await answer('MOVE', 'Plans', to('reports', 'F')),
      await answer('MOVE', 'Plans', to('reports', 'T')),
      await answer('COPY', 'Plans', to('REPORTS', 'T')),
    ]).toEqual([
      `PUT ${documentHolds}`, `PUT ${folderHolds}`, `MKCOL ${documentHolds}`, `MKCOL ${folderHolds}`,
      `MOVE ${documentHolds}`, `MOVE ${documentHolds}`, `COPY ${documentHolds}`, `COPY ${documentHolds}`,
      `MOVE ${folderHolds}`, `MOVE ${folderHolds}`, `COPY ${folderHolds}`,
    ]);
    expect(await names(org, finance)).toEqual(['collection:Plans', 'collection:Reports', 'document:Minutes.txt', 'document:draft.txt']);
  });

  it('case duplicates the upgrade kept (migration 202612260000) keep working, no other spelling joins them, and one renamed is a name like any other', async () => {
    const { org, staff, finance } = await place();
    const holder = await made(await upload(staff, finance, 'Minutes.txt'));
    // As the migration leaves a later case duplicate: its own key, marked with its id.
    const db = s.vault.store.db;
    const row = await db.selectFrom('documents').selectAll().where('id', '=', holder).executeTakeFirstOrThrow();
    const kept = randomUUID();
    await db.insertInto('documents').values({ ...row, id: kept, name: 'minutes.txt', name_key: 'minutes.txt', name_key_duplicate: kept, created_at: new Date(Date.now() + 1000).toISOString() }).execute();
    expect(expectProblem(await upload(staff, finance, 'MINUTES.TXT'), 409).detail).toBe(inAnotherCase('document', 'Minutes.txt'));
    // The holder binned, the one kept still holds the name.
    expect((await api(s.app, staff).delete(`documents/${holder}`)).statusCode).toBe(204);
    expect(expectProblem(await upload(staff, finance, 'MINUTES.TXT'), 409).detail).toBe(inAnotherCase('document', 'minutes.txt'));
    expect(expectProblem(await api(s.app, staff).post(`documents/${holder}/restore`), 409).detail).toBe(inAnotherCase('document', 'minutes.txt'));
    // Renamed, it is an ordinary document: its key written again, its mark gone, and the name it left free.
    const renamed = await api(s.app, staff).patch(`documents/${kept}`, { name: 'Minutes (2).txt' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(await db.selectFrom('documents').select(['name_key', 'name_key_duplicate']).where('id', '=', kept).executeTakeFirstOrThrow()).toEqual({ name_key: 'minutes (2).txt', name_key_duplicate: '' });
    expect((await api(s.app, staff).post(`documents/${holder}/restore`)).statusCode).toBe(200);
    expect(await names(org, finance)).toEqual(['document:Minutes (2).txt', 'document:Minutes.txt']);
  });

  it('orders two claims of one name in different cases: the second waits for the first (PostgreSQL: one advisory lock on the key), then sees its document', async () => {
    const { org, staff, finance } = await place();
    const doc = await made(await upload(staff, finance, 'before.txt'));
    const saw = await raceAgainstUncommitted(s.vault.store, async (repos) => {
      expect(await repos.documents.claimName(finance, 'after.txt')).toEqual([]);
      await repos.documents.update(doc, { name: 'after.txt' }, new Date().toISOString());
    }, () => s.vault.store.transaction(async (repos) => {
      // A folder's claim of another spelling waits for the document's.
      await repos.collections.claimName(org.id, finance, 'AFTER.TXT');
      return (await repos.documents.holdersOfName(finance, 'After.txt')).map((d) => d.id);
    }));
    expect(saw).toEqual([doc]);
  });

  it('import: a file or a folder onto another case of a name is refused, naming the holder', async () => {
    const { org, staff, finance } = await place();
    await made(await upload(staff, finance, 'Minutes.txt'));
    await made(await folder(staff, finance, 'Plans'));
    const dir = await mkdtemp(join(tmpdir(), 'sr-case-names-'));
    try {
      const path = join(dir, 'minutes.txt');
      await writeFile(path, 'a look-alike\n');
      const { dev, ino, size } = await stat(path);
      const file = { path, realPath: path, identity: { dev, ino }, name: 'minutes.txt', size, modifiedAt: new Date() };
      const target = new DirectTarget(s.vault, systemActor(), 'importer@example.org');
      await expect(target.upload(finance, file)).rejects.toEqual(new FileRefused(inAnotherCase('document', 'Minutes.txt')));
      await expect(target.childCollection(finance, 'MINUTES.TXT', true)).rejects.toEqual(new FileRefused(inAnotherCase('document', 'Minutes.txt')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await names(org, finance)).toEqual(['collection:Plans', 'document:Minutes.txt']);
  });
});
