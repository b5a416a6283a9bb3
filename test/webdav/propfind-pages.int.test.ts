// A PROPFIND Depth 1 of a folder larger than one page (PROPFIND_PAGE, 500 documents) is read, decided
// and sent a page at a time: the answer is the same bytes as every member's own Depth 0 answer put
// together, the repository is never asked for more than a page, and a failure after the first page
// cuts the connection instead of ending a 207 that looks whole, as does a person switched off or taken
// out of the team while the listing is under way.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { MULTISTATUS_CLOSE, MULTISTATUS_OPEN } from '../../src/webdav/properties.js';
import { eventsOf } from '../support/audit-log.js';
import { cloneDocuments } from '../support/cloned-documents.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS } from '../support/vault.js';
import { PROPFIND_ALL, createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

/** Two full pages and part of a third. */
const COUNT = 1_100;
const NAMED = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><D:getcontenttype/><D:displayname/></D:prop></D:propfind>';
const DEAD = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:test"><D:prop><D:getetag/><Z:colour/></D:prop></D:propfind>';

describe.each(DIALECTS)('PROPFIND of a folder of several pages on %s', (dialect) => {
  let s: DavServer;
  let user: DavUser;
  let org: Awaited<ReturnType<typeof createOrganisation>>;
  let folder: string;
  let names: string[];
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    user = await davUser(s.vault, org, { teams: ['finance'] });
    folder = `/dav/${org.slug}/finance/big/`;
    expect((await dav(s.base, 'MKCOL', folder, { user })).status).toBe(201);
    expect((await dav(s.base, 'MKCOL', `${folder}sub`, { user })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${folder}a-template.txt`, { user, body: 'template' })).status).toBe(201);
    // The template's rows cloned straight into the database (test/support/cloned-documents.ts). Names that need
    // escaping and percent-encoding, and dates that differ, so every page renders something of its own.
    const template = await s.vault.store.db.selectFrom('documents').select('id').where('name', '=', 'a-template.txt').where('organisation_id', '=', org.id).executeTakeFirstOrThrow();
    await cloneDocuments(s.vault.store.db, template.id, COUNT - 1, (i) => `file ${String(i).padStart(5, '0')} & <co>.txt`,
      (i) => ({ updated_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    names = ['a-template.txt', ...Array.from({ length: COUNT - 1 }, (_, i) => `file ${String(i).padStart(5, '0')} & <co>.txt`)];
    // Dead properties on documents in the first and the third page.
    for (const name of [names[3]!, names[1_050]!]) {
      const body = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:test"><D:set><D:prop><Z:colour>${name.length}</Z:colour></D:prop></D:set></D:propertyupdate>`;
      expect((await dav(s.base, 'PROPPATCH', `${folder}${encodeURIComponent(name)}`, { user, body })).status).toBe(207);
    }
  }, 300_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await s?.close();
  });

  /** The one DAV:response of a Depth 0 PROPFIND. */
  async function own(path: string, body: string): Promise<string> {
    const res = await dav(s.base, 'PROPFIND', path, { user, headers: { depth: '0' }, body });
    expect(res.status).toBe(207);
    expect(res.body.startsWith(MULTISTATUS_OPEN) && res.body.endsWith(MULTISTATUS_CLOSE)).toBe(true);
    return res.body.slice(MULTISTATUS_OPEN.length, -MULTISTATUS_CLOSE.length);
  }

  it.each([['named live properties', NAMED], ['allprop', PROPFIND_ALL], ['a dead property', DEAD]])('answers with %s exactly what each member answers alone, in order', async (_label, body) => {
    const res = await dav(s.base, 'PROPFIND', folder, { user, headers: { depth: '1' }, body });
    expect(res.status).toBe(207);
    expect(res.headers.get('content-type')).toBe('application/xml; charset=utf-8');
    const paths = [folder, `${folder}sub/`, ...names.map((n) => `${folder}${encodeURIComponent(n)}`)];
    const parts: string[] = [];
    for (let i = 0; i < paths.length; i += 20) parts.push(...(await Promise.all(paths.slice(i, i + 20).map((p) => own(p, body)))));
    expect(res.body).toBe(`${MULTISTATUS_OPEN}${parts.join('')}${MULTISTATUS_CLOSE}`);
    expect(res.body.match(/<x:colour xmlns:x="urn:test">/g)?.length ?? 0).toBe(body === NAMED ? 0 : 2);
  }, 120_000);

  it('asks the repository for a page of documents at a time', async () => {
    const inCollection = vi.spyOn(DocumentsRepo.prototype, 'inCollection');
    const res = await dav(s.base, 'PROPFIND', folder, { user, headers: { depth: '1' }, body: NAMED });
    expect(res.status).toBe(207);
    expect(res.body.match(/<D:response>/g)?.length).toBe(COUNT + 2);
    expect(inCollection.mock.calls.map(([, options]) => [options?.limit, options?.after])).toEqual([
      [500, undefined], [500, names[499]], [500, names[999]],
    ]);
  });

  it('sends no later page before what it read is on disk', async () => {
    const durable = vi.spyOn(s.vault, 'durable');
    const res = await dav(s.base, 'PROPFIND', folder, { user, headers: { depth: '1' }, body: NAMED });
    expect(res.status).toBe(207);
    // Once in the onSend hook before the first page, then before each later part: two pages and the closing tag.
    expect(durable).toHaveBeenCalledTimes(4);
  });

  it('a failure in a later page cuts the connection: no whole-looking 207', async () => {
    const real = DocumentsRepo.prototype.inCollection;
    vi.spyOn(DocumentsRepo.prototype, 'inCollection').mockImplementation(function (this: DocumentsRepo, collectionId, options) {
      if (options?.after !== undefined) return Promise.reject(new Error('the database went away'));
      return real.call(this, collectionId, options);
    });
    const res = await fetch(`${s.base}${folder}`, { method: 'PROPFIND', headers: { authorization: user.basic, depth: '1' }, body: NAMED });
    expect(res.status).toBe(207);
    await expect(res.text()).rejects.toThrow('terminated');
  });

  it('a failure in the first page answers 500 before any of the listing is sent', async () => {
    vi.spyOn(DocumentsRepo.prototype, 'inCollection').mockRejectedValue(new Error('the database went away'));
    const res = await dav(s.base, 'PROPFIND', folder, { user, headers: { depth: '1' }, body: NAMED });
    expect(res.status).toBe(500);
    expect(res.body).not.toContain('multistatus');
  });

  // A reader may stop reading and hold a listing open as long as they like, and a later page holds documents
  // filed since it began: each page after the first is decided on the person as they are now, as a download is.
  it.each([
    ['switched off', (id: string) => s.vault.store.repos.users.update(id, { disabled: true }), 'account_disabled'],
    ['taken out of the team', (id: string) => s.vault.store.repos.users.update(id, { teams: [] }), 'not_in_team'],
  ] as const)('a person %s while their listing is under way is sent no later page', async (_label, change, reason) => {
    const leaver = await davUser(s.vault, org, { teams: ['finance'] });
    const real = DocumentsRepo.prototype.inCollection;
    vi.spyOn(DocumentsRepo.prototype, 'inCollection').mockImplementation(async function (this: DocumentsRepo, collectionId, options) {
      if (options?.after === names[499]) await change(leaver.id);
      return real.call(this, collectionId, options);
    });
    const res = await fetch(`${s.base}${folder}`, { method: 'PROPFIND', headers: { authorization: leaver.basic, depth: '1' }, body: NAMED });
    expect(res.status).toBe(207);
    await expect(res.text()).rejects.toThrow('terminated');
    expect((await eventsOf(s.vault, leaver.id, { deny: true })).map((e) => [e.action, e.reason])).toEqual([['collection.list', reason]]);
  });
});
