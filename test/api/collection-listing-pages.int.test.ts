// A REST listing of a folder larger than one page (500 documents) is read, decided and written a page
// at a time: the same bytes as the listing with binned documents (includeDeleted=true, streamed the same
// way since; this folder has nothing binned), the repository never asked for more than a page, and a failure after
// the first page cuts the connection instead of ending a 200 that looks whole, as does a person switched
// off or taken out of the team while the listing is under way.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { eventsOf } from '../support/audit-log.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, type TestUser } from '../support/vault.js';
import { openDavServer, type DavServer } from '../webdav/support.js';

const clamd = useClamd();

/** Two full pages and part of a third. */
const COUNT = 1_100;

describe.each(DIALECTS)('REST listing of a folder of several pages on %s', (dialect) => {
  let s: DavServer;
  let user: TestUser;
  let org: Awaited<ReturnType<typeof createOrganisation>>;
  let folderId: string;
  let names: string[];
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    user = await org.user({ teams: ['finance'] });
    const created = await fetch(`${s.base}/api/v1/collections`, {
      method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'big', parentId: org.collections.finance, serviceArea: 'finance', classification: 'OFFICIAL' }),
    });
    expect(created.status).toBe(201);
    folderId = ((await created.json()) as { id: string }).id;
    const sub = await fetch(`${s.base}/api/v1/collections`, {
      method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sub', parentId: folderId, serviceArea: 'finance', classification: 'OFFICIAL' }),
    });
    expect(sub.status).toBe(201);
    const upload = await fetch(`${s.base}/api/v1/collections/${folderId}/documents?name=a-template.txt`, {
      method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'text/plain' }, body: 'template',
    });
    expect(upload.status).toBe(201);
    const template = (await upload.json()) as { id: string };
    await cloneDocuments(s.vault.store.db, template.id, COUNT - 1, (i) => `file "${String(i).padStart(5, '0')}" é.txt`,
      (i) => ({ updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    names = ['a-template.txt', ...Array.from({ length: COUNT - 1 }, (_, i) => `file "${String(i).padStart(5, '0')}" é.txt`)];
  }, 300_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await s?.close();
  });

  const list = (query = '') => fetch(`${s.base}/api/v1/collections/${folderId}${query}`, { headers: { authorization: `Bearer ${user.token}` } });

  it.each([['from the start', ''], ['after a name in the second page', `documentsAfter=${encodeURIComponent('file "00600" é.txt')}`]])('answers %s with the bytes of the whole listing', async (_label, query) => {
    const paged = await list(query ? `?${query}` : '');
    expect(paged.status).toBe(200);
    expect(paged.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const whole = await list(`?includeDeleted=true${query ? `&${query}` : ''}`);
    expect(whole.status).toBe(200);
    const body = await paged.text();
    expect(body).toBe(await whole.text());
    const parsed = JSON.parse(body) as { children: { name: string }[]; documents: { name: string }[] };
    expect(parsed.children.map((c) => c.name)).toEqual(['sub']);
    expect(parsed.documents.map((d) => d.name)).toEqual(query ? names.slice(602) : names);
  });

  it('asks the repository for a page of documents at a time', async () => {
    const inCollection = vi.spyOn(DocumentsRepo.prototype, 'inCollection');
    const res = await list();
    expect(res.status).toBe(200);
    expect(((await res.json()) as { documents: unknown[] }).documents).toHaveLength(COUNT);
    expect(inCollection.mock.calls.map(([, options]) => [options?.limit, options?.after])).toEqual([
      [500, undefined], [500, names[499]], [500, names[999]],
    ]);
  });

  it('a failure in a later page cuts the connection: no whole-looking 200', async () => {
    const real = DocumentsRepo.prototype.inCollection;
    vi.spyOn(DocumentsRepo.prototype, 'inCollection').mockImplementation(function (this: DocumentsRepo, collectionId, options) {
      if (options?.after !== undefined) return Promise.reject(new Error('the database went away'));
      return real.call(this, collectionId, options);
    });
    const res = await list();
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow('terminated');
  });

  // Each page after the first is decided on the person as they are now, as a download is (its later pages
  // may hold documents filed since the listing began, and a reader decides how long it takes).
  it.each([
    ['switched off', (id: string) => s.vault.store.repos.users.update(id, { disabled: true }), 'account_disabled'],
    ['taken out of the team', (id: string) => s.vault.store.repos.users.update(id, { teams: [] }), 'not_in_team'],
  ] as const)('a person %s while their listing is under way is sent no later page', async (_label, change, reason) => {
    const leaver = await org.user({ teams: ['finance'] });
    const real = DocumentsRepo.prototype.inCollection;
    vi.spyOn(DocumentsRepo.prototype, 'inCollection').mockImplementation(async function (this: DocumentsRepo, collectionId, options) {
      if (options?.after === names[499]) await change(leaver.id);
      return real.call(this, collectionId, options);
    });
    const res = await fetch(`${s.base}/api/v1/collections/${folderId}`, { headers: { authorization: `Bearer ${leaver.token}` } });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow('terminated');
    expect((await eventsOf(s.vault, leaver.id, { deny: true })).map((e) => [e.action, e.reason])).toEqual([['collection.list', reason]]);
  });
});
