// One name, one thing, in a folder: a document and a sub-collection may not share a name in one collection, as a
// file and a folder may not in a file share (over WebDAV the path would name the folder and the document would be
// out of reach). Every way a document takes a name (upload, rename, move, copy, restore, WebDAV PUT, MOVE, COPY)
// is refused where a sub-collection holds it, and every way a folder does (create, rename, move, MKCOL, MOVE,
// folder COPY) where a document holds it, as a later duplicate of the same kind is: someone who may see what is in
// the way is told it exists, someone who may not hears only that the name cannot be used (the refused read or
// listing audited). Both kinds claim one (folder, name) in their transactions, so a document and a folder taking
// one name at once are ordered, and exactly one wins.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { DirectTarget } from '../../src/cli/import/direct-target.js';
import { FileRefused } from '../../src/cli/import/target.js';
import type { Repos } from '../../src/db/store.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, type TestOrganisation } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { dav, davUser, useDavServer, type DavUser } from '../webdav/support.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { raceAgainstUncommitted } from '../support/uncommitted-race.js';

const clamd = useClamd();

const folderThere = (name: string) => `A collection called "${name}" already exists there.`;
const folderUnusable = (name: string) => `The name "${name}" cannot be used here. Choose another name.`;
const documentThere = (name: string) => `A document called "${name}" already exists there.`;
const documentUnusable = (name: string) => `The name "${name}" cannot be used in this collection. Choose another name.`;

describe.each(DIALECTS)('a document and a folder of one name in one folder, on %s', (dialect) => {
  const s = useDavServer(dialect, clamd);

  interface Place { org: TestOrganisation; staff: DavUser; low: DavUser; finance: string }
  async function place(): Promise<Place> {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const staff = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const low = await davUser(s.vault, org, { teams: ['finance'], clearance: 'OFFICIAL' });
    return { org, staff, low, finance: org.collections.finance! };
  }

  const upload = (user: DavUser, collectionId: string, name: string, classification = 'OFFICIAL') => s.app.inject({
    method: 'POST', url: `/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}&classification=${classification}`,
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/octet-stream' }, payload: 'minutes\n',
  });
  const folder = (user: DavUser, parentId: string, name: string, classification = 'OFFICIAL') =>
    api(s.app, user).post('collections', { name, parentId, serviceArea: 'finance', classification });
  async function made(res: Awaited<ReturnType<typeof upload>>): Promise<string> {
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  /** What the folder holds of that name, documents and sub-collections alike. */
  async function holders(org: TestOrganisation, folderId: string, name: string): Promise<string[]> {
    const docs = (await s.vault.store.repos.documents.inCollection(folderId)).filter((d) => d.name === name).map((d) => `document:${d.id}`);
    const cols = (await s.vault.store.repos.collections.children(org.id, folderId)).filter((c) => c.name === name).map((c) => `collection:${c.id}`);
    return [...docs, ...cols];
  }
  const denials = async (org: TestOrganisation) =>
    (await s.vault.store.db.selectFrom('audit_events').select(['action', 'target_ids']).where('target_organisation_id', '=', org.id).where('decision', '=', 'deny').execute())
      .map((e) => ({ action: e.action, ...(JSON.parse(e.target_ids) as Record<string, string>) }));

  /** The next `times` checks of `name` before a transaction miss both kinds, as they do just before the holder's commit. */
  function checksMiss(name: string, times: number) {
    const { documents, collections } = s.vault.store.repos;
    // A WebDAV path resolves by exact name (byName, childByName), the service's checks in any case (holdersOfName, childrenHoldingName).
    const byName = documents.byName.bind(documents);
    const childByName = collections.childByName.bind(collections);
    const holdersOfName = documents.holdersOfName.bind(documents);
    const childrenHoldingName = collections.childrenHoldingName.bind(collections);
    let docs = times;
    let cols = times;
    const a = vi.spyOn(documents, 'byName').mockImplementation(async (c, n) => (n === name && docs-- > 0 ? undefined : byName(c, n)));
    const b = vi.spyOn(collections, 'childByName').mockImplementation(async (o, p, n) => (n === name && cols-- > 0 ? undefined : childByName(o, p, n)));
    const c = vi.spyOn(documents, 'holdersOfName').mockImplementation(async (f, n) => (n === name && docs-- > 0 ? [] : holdersOfName(f, n)));
    const d = vi.spyOn(collections, 'childrenHoldingName').mockImplementation(async (o, p, n) => (n === name && cols-- > 0 ? [] : childrenHoldingName(o, p, n)));
    return { mockRestore: () => { a.mockRestore(); b.mockRestore(); c.mockRestore(); d.mockRestore(); } };
  }

  it('REST upload, rename, move, copy and restore of a document onto a sub-collection’s name: 409, told as a duplicate is, nothing written', async () => {
    const { org, staff, finance } = await place();
    const reports = (await folder(staff, finance, 'Reports')).json().id as string;
    const elsewhere = (await folder(staff, finance, 'Elsewhere')).json().id as string;
    // Upload.
    expect(expectProblem(await upload(staff, finance, 'Reports'), 409).detail).toBe(folderThere('Reports'));
    // Rename in place, and a move from another folder.
    const draft = await made(await upload(staff, finance, 'draft.txt'));
    expect(expectProblem(await api(s.app, staff).patch(`documents/${draft}`, { name: 'Reports' }), 409).detail).toBe(folderThere('Reports'));
    const away = await made(await upload(staff, elsewhere, 'Reports'));
    expect(expectProblem(await api(s.app, staff).patch(`documents/${away}`, { collectionId: finance }), 409).detail).toBe(folderThere('Reports'));
    // Copy.
    expect(expectProblem(await api(s.app, staff).post(`documents/${away}/copy`, { collectionId: finance }), 409).detail).toBe(folderThere('Reports'));
    // Restore from the bin: its name was given to a folder meanwhile.
    const binned = await made(await upload(staff, finance, 'Budget'));
    expect((await api(s.app, staff).delete(`documents/${binned}`)).statusCode).toBe(204);
    await folder(staff, finance, 'Budget');
    expect(expectProblem(await api(s.app, staff).post(`documents/${binned}/restore`), 409).detail).toBe(folderThere('Budget'));
    expect(await holders(org, finance, 'Reports')).toEqual([`collection:${reports}`]);
    expect(await holders(org, elsewhere, 'Reports')).toEqual([`document:${away}`]);
    expect((await s.vault.store.repos.documents.byId(draft))?.name).toBe('draft.txt');
    expect((await s.vault.store.repos.documents.byId(binned))?.deletedAt).not.toBeNull();
    expect(await denials(org)).toEqual([]);
    // The same upload, its check missing the folder (found only in the transaction): the same answer.
    const spy = checksMiss('Reports', 1);
    const raced = await upload(staff, finance, 'Reports');
    spy.mockRestore();
    expect(expectProblem(raced, 409).detail).toBe(folderThere('Reports'));
    expect(await holders(org, finance, 'Reports')).toEqual([`collection:${reports}`]);
  });

  it('REST create, rename and move of a folder onto a document’s name: 409, told as a duplicate is, nothing written', async () => {
    const { org, staff, finance } = await place();
    const doc = await made(await upload(staff, finance, 'Minutes'));
    expect(expectProblem(await folder(staff, finance, 'Minutes'), 409).detail).toBe(documentThere('Minutes'));
    const renamed = (await folder(staff, finance, 'Agendas')).json().id as string;
    expect(expectProblem(await api(s.app, staff).patch(`collections/${renamed}`, { name: 'Minutes' }), 409).detail).toBe(documentThere('Minutes'));
    const other = (await folder(staff, finance, 'Other')).json().id as string;
    const moving = (await folder(staff, other, 'Minutes')).json().id as string;
    expect(expectProblem(await api(s.app, staff).patch(`collections/${moving}`, { parentId: finance }), 409).detail).toBe(documentThere('Minutes'));
    // Found only inside the transaction: the same words.
    const spy = checksMiss('Minutes', 1);
    const raced = await folder(staff, finance, 'Minutes');
    spy.mockRestore();
    expect(expectProblem(raced, 409).detail).toBe(documentThere('Minutes'));
    expect(await holders(org, finance, 'Minutes')).toEqual([`document:${doc}`]);
    expect(await holders(org, other, 'Minutes')).toEqual([`collection:${moving}`]);
    expect((await s.vault.store.repos.collections.byId(renamed))?.name).toBe('Agendas');
    expect(await denials(org)).toEqual([]);
  });

  it('someone below the clearance of what is in the way hears only that the name cannot be used, the refused read or listing audited', async () => {
    const { org, staff, low, finance } = await place();
    const hiddenFolder = (await folder(staff, finance, 'Appraisals', 'OFFICIAL-SENSITIVE')).json().id as string;
    const hiddenDoc = await made(await upload(staff, finance, 'Grievances', 'OFFICIAL-SENSITIVE'));
    // Each hears its own request's words (a later upload's, a later folder create's), whichever kind is in the way.
    expect(expectProblem(await upload(low, finance, 'Appraisals'), 409).detail).toBe(documentUnusable('Appraisals'));
    expect(expectProblem(await folder(low, finance, 'Grievances'), 409).detail).toBe(folderUnusable('Grievances'));
    expect(await denials(org)).toEqual([
      { action: 'collection.list', collectionId: hiddenFolder },
      { action: 'document.read', documentId: hiddenDoc },
    ]);
    // Found only inside the transaction: the same answers, audited again.
    let spy = checksMiss('Appraisals', 1);
    const upRaced = await upload(low, finance, 'Appraisals');
    spy.mockRestore();
    expect(expectProblem(upRaced, 409).detail).toBe(documentUnusable('Appraisals'));
    spy = checksMiss('Grievances', 1);
    const mkRaced = await folder(low, finance, 'Grievances');
    spy.mockRestore();
    expect(expectProblem(mkRaced, 409).detail).toBe(folderUnusable('Grievances'));
    expect((await denials(org)).slice(2)).toEqual([
      { action: 'collection.list', collectionId: hiddenFolder },
      { action: 'document.read', documentId: hiddenDoc },
    ]);
    expect(await holders(org, finance, 'Appraisals')).toEqual([`collection:${hiddenFolder}`]);
    expect(await holders(org, finance, 'Grievances')).toEqual([`document:${hiddenDoc}`]);
  });

  it('someone who may not see what is in the way cannot tell a document from a folder: REST and WebDAV answer a hidden one of either kind alike', async () => {
    const { org, staff, low, finance } = await place();
    await folder(staff, finance, 'Appraisals', 'OFFICIAL-SENSITIVE');
    await made(await upload(staff, finance, 'Grievances', 'OFFICIAL-SENSITIVE'));
    // A name nothing holds, for the other words to be set beside.
    const neutral = (detail: string, name: string) => detail.replace(`"${name}"`, '"…"');
    const rest = async (name: string) => ({
      upload: neutral(expectProblem(await upload(low, finance, name), 409).detail as string, name),
      folder: neutral(expectProblem(await folder(low, finance, name), 409).detail as string, name),
      rename: neutral(expectProblem(await api(s.app, low).patch(`documents/${await made(await upload(low, finance, `draft ${name}`))}`, { name }), 409).detail as string, name),
    });
    expect(await rest('Appraisals')).toEqual(await rest('Grievances'));
    const base = `/dav/${org.slug}/finance`;
    const davAnswer = async (method: string, name: string) => {
      const r = await dav(s.base, method, `${base}/${name}`, { user: low, ...(method === 'PUT' ? { body: 'x\n' } : {}) });
      return `${r.status} ${neutral(r.body, name)}`;
    };
    for (const method of ['PUT', 'MKCOL']) expect(await davAnswer(method, 'Appraisals')).toBe(await davAnswer(method, 'Grievances'));
  });

  it('WebDAV: PUT, MKCOL, MOVE and COPY of either kind onto the other’s name, resolved or taken meanwhile, hear a later request’s answer', async () => {
    const { org, staff, finance } = await place();
    const base = `/dav/${org.slug}/finance`;
    const as = { user: staff };
    expect((await dav(s.base, 'MKCOL', `${base}/Folder`, as)).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${base}/File`, { ...as, body: 'file\n' })).status).toBe(201);
    expect((await dav(s.base, 'MKCOL', `${base}/Source`, as)).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${base}/Source/doc.txt`, { ...as, body: 'doc\n' })).status).toBe(201);
    const answer = async (method: string, path: string, headers: Record<string, string> = {}, body?: string) => {
      const r = await dav(s.base, method, path, { ...as, headers, ...(body !== undefined ? { body } : {}) });
      return { method, status: r.status, body: r.body };
    };
    const to = (name: string) => ({ destination: `${s.base}${base}/${name}`, overwrite: 'F' });
    const requests: [string, string, Record<string, string>, string | undefined, string, number][] = [
      // method, path, headers, body, the name taken, checks before the transaction to miss
      ['PUT', `${base}/Folder`, {}, 'over a folder\n', 'Folder', 2],
      ['MKCOL', `${base}/File`, {}, undefined, 'File', 2],
      ['MOVE', `${base}/Source/doc.txt`, to('Folder'), undefined, 'Folder', 2],
      ['COPY', `${base}/Source/doc.txt`, to('Folder'), undefined, 'Folder', 2],
      ['MOVE', `${base}/Source`, to('File'), undefined, 'File', 2],
      ['COPY', `${base}/Source`, to('File'), undefined, 'File', 3],
    ];
    const later = [];
    for (const [method, path, headers, body] of requests) later.push(await answer(method, path, headers, body));
    expect(later.map((a) => `${a.method} ${a.status}`)).toEqual(['PUT 405', 'MKCOL 405', 'MOVE 412', 'COPY 412', 'MOVE 412', 'COPY 412']);
    // Each again with the path resolving to nothing and the service's check missing it too: the name is found
    // taken in the transaction, by the other kind, and told as the request above was.
    for (const [i, [method, path, headers, body, name, checks]] of requests.entries()) {
      // Resolving the path (a MOVE's or COPY's destination), then the service's own check (a folder copy checks once more).
      const spy = checksMiss(name, checks);
      const raced = await answer(method, path, headers, body);
      spy.mockRestore();
      expect(raced).toEqual(later[i]);
    }
    expect((await holders(org, finance, 'Folder')).map((h) => h.split(':')[0])).toEqual(['collection']);
    expect((await holders(org, finance, 'File')).map((h) => h.split(':')[0])).toEqual(['document']);
    expect((await dav(s.base, 'GET', `${base}/Source/doc.txt`, as)).status).toBe(200);
  });

  it('a document upload and a folder create of one name started together: exactly one wins, the other hears what a later one hears', async () => {
    const { org, staff, finance } = await place();
    // Both checks read before either writes: each misses the other's (on PostgreSQL the transactions then run side by side).
    const collections = s.vault.store.repos.collections;
    const childrenHoldingName = collections.childrenHoldingName.bind(collections);
    let arrived = 0;
    let release!: () => void;
    const all = new Promise<void>((resolve) => { release = resolve; });
    const spy = vi.spyOn(collections, 'childrenHoldingName').mockImplementation(async (o, p, n) => {
      const found = await childrenHoldingName(o, p, n);
      if (n !== 'Plans' || arrived >= 2) return found;
      if (++arrived === 2) release();
      // Bounded, so a request that never checks (as before the rule, an upload did not look for folders) goes on.
      await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 2000))]);
      return found;
    });
    const [up, mk] = await Promise.all([upload(staff, finance, 'Plans'), folder(staff, finance, 'Plans')]);
    spy.mockRestore();
    // The folder's transaction is short; the upload's comes once its bytes are stored and scanned, and finds the folder.
    expect([up.statusCode, mk.statusCode]).toEqual([409, 201]);
    expect(up.json().detail).toBe(folderThere('Plans'));
    expect(await holders(org, finance, 'Plans')).toEqual([`collection:${mk.json().id as string}`]);
    // Nothing of the refused upload is kept.
    expect((await s.vault.store.repos.documents.inCollection(finance, { includeDeleted: true })).filter((d) => d.name === 'Plans')).toEqual([]);
  });

  it('orders a document’s and a folder’s claim of one name: the second waits for the first, then sees its document', async () => {
    const { org, staff, finance } = await place();
    const doc = await made(await upload(staff, finance, 'Before'));
    const saw = await raceAgainstUncommitted(s.vault.store, async (repos) => {
      expect(await repos.documents.claimName(finance, 'After')).toEqual([]);
      await repos.documents.update(doc, { name: 'After' }, new Date().toISOString());
    }, () => s.vault.store.transaction(async (repos) => {
      // A folder's claim alone (CollectionsRepository.claimName) waits for the document's: one key per folder and name.
      await repos.collections.claimName(org.id, finance, 'After');
      return (await repos.documents.byName(finance, 'After'))?.id ?? null;
    }));
    expect(saw).toBe(doc);
  });

  it('import: a file onto a sub-collection’s name and a folder onto a document’s name are refused, as a duplicate is', async () => {
    const { org, staff, finance } = await place();
    const plans = (await folder(staff, finance, 'Plans')).json().id as string;
    const minutes = await made(await upload(staff, finance, 'Minutes'));
    const dir = await mkdtemp(join(tmpdir(), 'sr-one-name-'));
    try {
      const path = join(dir, 'Plans');
      await writeFile(path, 'a file where a folder is\n');
      const { dev, ino, size } = await stat(path);
      const file = { path, realPath: path, identity: { dev, ino }, name: 'Plans', size, modifiedAt: new Date() };
      const target = new DirectTarget(s.vault, systemActor(), 'importer@example.org');
      await expect(target.upload(finance, file)).rejects.toEqual(new FileRefused(folderThere('Plans')));
      await expect(target.childCollection(finance, 'Minutes', true)).rejects.toEqual(new FileRefused(documentThere('Minutes')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(await holders(org, finance, 'Plans')).toEqual([`collection:${plans}`]);
    expect(await holders(org, finance, 'Minutes')).toEqual([`document:${minutes}`]);
  });

  /** A document and a folder both called `name` in `finance`, as an older version allowed (the folder renamed directly, as no request may now). */
  async function legacyPair(staff: DavUser, finance: string, name: string): Promise<{ doc: string; folderId: string }> {
    const doc = await made(await upload(staff, finance, name));
    const made2 = (await folder(staff, finance, `${name} (not yet)`)).json() as { id: string; name: string; parentId: string; serviceArea: string; classification: string; arrangementId: string | null };
    await s.vault.store.transaction((repos) => repos.collections.place(made2.id, { ...made2, name }));
    return { doc, folderId: made2.id };
  }
  /** The actions audited against the organisation after `since` of them, in order. */
  const auditedSince = async (org: TestOrganisation, since: number) =>
    (await s.vault.store.db.selectFrom('audit_events').select(['action', 'decision']).where('target_organisation_id', '=', org.id).orderBy('id').execute())
      .slice(since).map((e) => `${e.action} ${e.decision}`);

  it('a document and a folder sharing a name from before the rule: a change that leaves the name and place as they are claims nothing (REST, web form); a new name or place still does', async () => {
    const { org, staff, finance } = await place();
    const { doc, folderId } = await legacyPair(staff, finance, 'Legacy');
    const plain = await made(await upload(staff, finance, 'plain.txt'));
    const plainFolder = (await folder(staff, finance, 'Plain')).json().id as string;
    const other = (await folder(staff, finance, 'Other')).json().id as string;
    const before = { doc: await s.vault.store.repos.documents.byId(doc), folder: await s.vault.store.repos.collections.byId(folderId) };
    // What a change that changes nothing audits on a document and a folder that share no name.
    let seen = (await auditedSince(org, 0)).length;
    expect((await api(s.app, staff).patch(`documents/${plain}`, { name: 'plain.txt' })).statusCode).toBe(200);
    expect((await api(s.app, staff).patch(`collections/${plainFolder}`, { name: 'Plain' })).statusCode).toBe(200);
    const noOp = await auditedSince(org, seen);
    expect(noOp).toEqual(['document.rename allow', 'collection.move allow']);
    // The same on the pair, each way a request can leave them as they are.
    seen += noOp.length;
    const unchanged = [{}, { name: 'Legacy' }, { collectionId: finance }, { name: 'Legacy', collectionId: finance }];
    for (const body of unchanged) {
      const res = await api(s.app, staff).patch(`documents/${doc}`, body);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: doc, name: 'Legacy', collectionId: finance });
    }
    for (const body of [{}, { name: 'Legacy' }, { parentId: finance }, { name: 'Legacy', parentId: finance }]) {
      const res = await api(s.app, staff).patch(`collections/${folderId}`, body);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id: folderId, name: 'Legacy', parentId: finance });
    }
    // The web form sends the name back with the folder picked.
    const member = await addPerson(s.vault, org.slug, { teams: ['finance'] });
    const client = new FormClient(s.base);
    await client.signIn(member.email);
    const page = await client.get(`/documents/${doc}`);
    expect((await client.post(`/documents/${doc}/rename`, { _csrf: FormClient.csrf(page.text), name: 'Legacy', collectionId: finance })).status).toBe(303);
    // A classification change never named anything.
    expect((await api(s.app, staff).post(`documents/${doc}/classification`, { classification: 'OFFICIAL-SENSITIVE', reason: 'contains personal data' })).statusCode).toBe(200);
    const audited = (await auditedSince(org, seen)).filter((a) => !a.startsWith('session.') && !a.startsWith('user.') && !a.startsWith('auth.'));
    expect(audited).toEqual([
      ...unchanged.map(() => 'document.rename allow'), ...unchanged.map(() => 'collection.move allow'), 'document.rename allow', 'document.classify allow',
    ]);
    const after = { doc: await s.vault.store.repos.documents.byId(doc), folder: await s.vault.store.repos.collections.byId(folderId) };
    expect({ ...after.doc, updatedAt: null }).toEqual({ ...before.doc, classification: 'OFFICIAL-SENSITIVE', updatedAt: null });
    expect(after.folder).toEqual(before.folder);
    expect(await holders(org, finance, 'Legacy')).toEqual([`document:${doc}`, `collection:${folderId}`]);
    // WebDAV's path names the folder: a MOVE onto its own path is refused as any is, before any name is looked at.
    const self = `${s.base}/dav/${org.slug}/finance/Legacy`;
    const davSelf = await dav(s.base, 'MOVE', `/dav/${org.slug}/finance/Legacy`, { user: staff, headers: { destination: self, overwrite: 'F' } });
    expect(davSelf.status).toBe(403);
    // A new name or a new place is a name claimed, and refused where something else holds it, in the words it always had.
    expect(expectProblem(await api(s.app, staff).patch(`documents/${doc}`, { name: 'Plain' }), 409).detail).toBe(folderThere('Plain'));
    expect(expectProblem(await api(s.app, staff).patch(`collections/${folderId}`, { name: 'plain.txt' }), 409).detail).toBe(documentThere('plain.txt'));
    // Moved away, the document is a stranger to its old folder: bringing it back names it there again, and the
    // folder following it names it where the document now is.
    expect((await api(s.app, staff).patch(`documents/${doc}`, { collectionId: other })).statusCode).toBe(200);
    expect(expectProblem(await api(s.app, staff).patch(`documents/${doc}`, { collectionId: finance }), 409).detail).toBe(folderThere('Legacy'));
    expect(expectProblem(await api(s.app, staff).patch(`collections/${folderId}`, { parentId: other }), 409).detail).toBe(documentThere('Legacy'));
    expect(await holders(org, other, 'Legacy')).toEqual([`document:${doc}`]);
    expect(await holders(org, finance, 'Legacy')).toEqual([`collection:${folderId}`]);
    expect(await denials(org)).toEqual([]);
  });

  it('a folder left as it is claims nothing, so its transaction finds it still under that name: renamed meanwhile and its name taken, it is refused, not named twice', async () => {
    const { org, staff, finance } = await place();
    const plans = (await folder(staff, finance, 'Plans')).json().id as string;
    let taker = '';
    const meanwhile = beforeNextTransaction(s.vault.store, async () => {
      expect((await api(s.app, staff).patch(`collections/${plans}`, { name: 'Old plans' })).statusCode).toBe(200);
      taker = (await folder(staff, finance, 'Plans')).json().id as string;
    });
    const res = await api(s.app, staff).patch(`collections/${plans}`, { name: 'Plans' });
    meanwhile.restore();
    expect(meanwhile.ran()).toBe(true);
    expect(expectProblem(res, 409).detail).toBe('Something in this collection changed at the same moment; try again.');
    expect(await holders(org, finance, 'Plans')).toEqual([`collection:${taker}`]);
    expect((await s.vault.store.repos.collections.byId(plans))?.name).toBe('Old plans');
  });

  // On PostgreSQL the folder's row is locked only once its transaction has read it: a rename committed while the
  // change waited for that lock, with another folder given its name in the same moment, must refuse it too.
  it('a folder left as it is, renamed and its name given to another while it waits for its row: refused, not named twice', async () => {
    const { org, staff, finance } = await place();
    const plans = (await folder(staff, finance, 'Plans')).json().id as string;
    const drafts = (await folder(staff, finance, 'Drafts')).json().id as string;
    const renamed = async (repos: Repos, id: string, name: string) => {
      const c = (await repos.collections.byId(id))!;
      await repos.collections.place(id, { name, parentId: c.parentId, serviceArea: c.serviceArea, classification: c.classification, arrangementId: c.arrangementId });
    };
    const res = await raceAgainstUncommitted(s.vault.store, async (repos) => {
      await renamed(repos, plans, 'Old plans');
      await renamed(repos, drafts, 'Plans');
    }, () => api(s.app, staff).patch(`collections/${plans}`, { name: 'Plans' }));
    // SQLite's one connection reads the request only after the rename committed: a rename onto a taken name, as later.
    expect(expectProblem(res, 409).detail).toBe(dialect === 'postgres' ? 'Something in this collection changed at the same moment; try again.' : folderThere('Plans'));
    expect(await holders(org, finance, 'Plans')).toEqual([`collection:${drafts}`]);
    expect((await s.vault.store.repos.collections.byId(plans))?.name).toBe('Old plans');
  });

  it('a folder that already holds both (written before the rule) stays readable: WebDAV’s path names the folder, REST reaches both', async () => {
    const { org, staff, finance } = await place();
    const doc = await made(await upload(staff, finance, 'Legacy'));
    // As an older version allowed: a folder given the document's name (written directly, as no request may now).
    const legacy = (await folder(staff, finance, 'Not yet')).json() as { id: string; name: string; parentId: string; serviceArea: string; classification: string; arrangementId: string | null };
    await s.vault.store.transaction((repos) => repos.collections.place(legacy.id, { ...legacy, name: 'Legacy' }));
    expect((await api(s.app, staff).get(`documents/${doc}`)).statusCode).toBe(200);
    expect((await api(s.app, staff).get(`collections/${legacy.id}`)).statusCode).toBe(200);
    const listing = await dav(s.base, 'PROPFIND', `/dav/${org.slug}/finance/Legacy`, { user: staff, headers: { depth: '0' } });
    expect(listing.status).toBe(207);
    expect(listing.body).toContain('<D:collection/>');
    // Renaming the document out of the way is allowed, and then WebDAV reaches it.
    expect((await api(s.app, staff).patch(`documents/${doc}`, { name: 'Legacy (file)' })).statusCode).toBe(200);
    expect((await dav(s.base, 'GET', `/dav/${org.slug}/finance/Legacy%20(file)`, { user: staff })).status).toBe(200);
  });
});
