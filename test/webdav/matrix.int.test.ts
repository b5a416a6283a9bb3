// Method × permission matrix over WebDAV: own organisation, a partner through a contribute arrangement,
// a partner through a read-only arrangement, and an unrelated organisation. The policy is decide()'s,
// reached through the services; WebDAV only shapes the answers (unseen → 404, seen but refused → 403).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { DIALECTS, TEST_PASSWORD } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const clamd = useClamd();

type Place = 'own' | 'contribute' | 'read' | 'unrelated';
const PLACES: Place[] = ['own', 'contribute', 'read', 'unrelated'];

describe.each(DIALECTS)('WebDAV method × permission matrix on %s', (dialect) => {
  let s: DavServer;
  let user: DavUser;
  const slugs = {} as Record<Place, string>;
  const collectionIds = {} as Record<Place, string>;
  let n = 0;

  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const orgs = {} as Record<Place, Awaited<ReturnType<typeof createOrganisation>>>;
    for (const place of PLACES) {
      orgs[place] = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL', hr: 'OFFICIAL' } });
      slugs[place] = orgs[place].slug;
      collectionIds[place] = orgs[place].collections.finance!;
    }
    const terms = { hostOrganisationId: orgs.own.id, serviceArea: 'finance', purpose: 'Shared finance service', lawfulBasis: 'Local Government Act 1972 s.101', ceiling: 'OFFICIAL' };
    await s.vault.arrangements.propose(systemActor(), { ...terms, partnerOrganisationIds: [orgs.contribute.id], accessLevel: 'contribute' }, { approve: true });
    await s.vault.arrangements.propose(systemActor(), { ...terms, partnerOrganisationIds: [orgs.read.id], accessLevel: 'read' }, { approve: true });
    user = await davUser(s.vault, orgs.own, { teams: ['finance'] });
    // Each organisation's finance collection gets a file, put there by its own staff.
    for (const place of PLACES) {
      const local = await davUser(s.vault, orgs[place], { teams: ['finance'] });
      const put = await dav(s.base, 'PUT', `/dav/${slugs[place]}/finance/existing.txt`, { user: local, body: `existing in ${place}` });
      expect(put.status).toBe(201);
      await dav(s.base, 'MKCOL', `/dav/${slugs[place]}/finance/sub`, { user: local });
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  const p = (place: Place, rest = '') => `/dav/${slugs[place]}/finance/${rest}`;
  const fresh = () => `n${++n}.txt`;

  it('lists own and partner organisations at /dav/, never the unrelated one', async () => {
    const res = await dav(s.base, 'PROPFIND', '/dav/', { user, headers: { depth: '1' } });
    expect(res.status).toBe(207);
    expect(res.body).toContain(`/dav/${slugs.own}/`);
    expect(res.body).toContain(`/dav/${slugs.contribute}/`);
    expect(res.body).toContain(`/dav/${slugs.read}/`);
    expect(res.body).not.toContain(slugs.unrelated);
    // Inside a partner, only the arrangement's service area shows.
    const partner = await dav(s.base, 'PROPFIND', `/dav/${slugs.contribute}/`, { user, headers: { depth: '1' } });
    expect(partner.body).toContain('/finance/');
    expect(partner.body).not.toContain('/hr/');
  });

  // An unrelated organisation's folder is missing to the user: reads are 404, and writes into it are
  // 409 (RFC 4918: the parent does not exist), exactly as for an organisation that does not exist.
  const expected: Record<string, Record<Place, number>> = {
    'PROPFIND file': { own: 207, contribute: 207, read: 207, unrelated: 404 },
    'GET file': { own: 200, contribute: 200, read: 200, unrelated: 404 },
    'PUT new file': { own: 201, contribute: 201, read: 403, unrelated: 409 },
    'PUT new version': { own: 204, contribute: 204, read: 403, unrelated: 409 },
    'MKCOL': { own: 201, contribute: 201, read: 403, unrelated: 409 },
    'PROPPATCH': { own: 207, contribute: 207, read: 403, unrelated: 404 },
    'COPY own file into': { own: 201, contribute: 201, read: 403, unrelated: 409 },
    'MOVE (rename) within': { own: 201, contribute: 403, read: 403, unrelated: 404 },
    'DELETE file': { own: 204, contribute: 403, read: 403, unrelated: 404 },
    'LOCK file': { own: 200, contribute: 200, read: 403, unrelated: 409 },
  };

  async function attempt(action: string, place: Place): Promise<number> {
    const file = fresh();
    // Seed a file the user's own organisation staff or the place's staff own; for partner places we use the existing file.
    const existing = p(place, 'existing.txt');
    switch (action) {
      case 'PROPFIND file': return (await dav(s.base, 'PROPFIND', existing, { user, headers: { depth: '0' } })).status;
      case 'GET file': return (await dav(s.base, 'GET', existing, { user })).status;
      case 'PUT new file': return (await dav(s.base, 'PUT', p(place, file), { user, body: 'new' })).status;
      case 'PUT new version': return (await dav(s.base, 'PUT', existing, { user, body: `version ${file}` })).status;
      case 'MKCOL': return (await dav(s.base, 'MKCOL', p(place, file.replace('.txt', '')), { user })).status;
      case 'PROPPATCH': return (await dav(s.base, 'PROPPATCH', existing, { user, body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:colour xmlns:x="urn:test">blue</x:colour></D:prop></D:set></D:propertyupdate>' })).status;
      case 'COPY own file into': {
        const src = p('own', `src-${file}`);
        expect((await dav(s.base, 'PUT', src, { user, body: 'copy me' })).status).toBe(201);
        return (await dav(s.base, 'COPY', src, { user, headers: { destination: `${s.base}${p(place, file)}` } })).status;
      }
      case 'MOVE (rename) within': {
        const source = place === 'own' ? p('own', `mv-${file}`) : existing;
        if (place === 'own') await dav(s.base, 'PUT', source, { user, body: 'move me' });
        return (await dav(s.base, 'MOVE', source, { user, headers: { destination: `${s.base}${p(place, `moved-${file}`)}` } })).status;
      }
      case 'DELETE file': {
        const target = place === 'own' ? p('own', `del-${file}`) : existing;
        if (place === 'own') await dav(s.base, 'PUT', target, { user, body: 'delete me' });
        return (await dav(s.base, 'DELETE', target, { user })).status;
      }
      case 'LOCK file': {
        const res = await dav(s.base, 'LOCK', existing, { user, headers: { timeout: 'Second-60' }, body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' });
        const token = res.headers.get('lock-token');
        if (token) await dav(s.base, 'UNLOCK', existing, { user, headers: { 'lock-token': token } });
        return res.status;
      }
    }
    throw new Error(action);
  }

  for (const [action, byPlace] of Object.entries(expected)) {
    it.each(PLACES)(`${action} in %s organisation`, async (place) => {
      expect(await attempt(action, place)).toBe(byPlace[place]);
    });
  }

  it('a read-only partner cannot create files by COPY, and nothing is left behind', async () => {
    const src = p('own', 'ro-source.txt');
    await dav(s.base, 'PUT', src, { user, body: 'should not arrive' });
    const res = await dav(s.base, 'COPY', src, { user, headers: { destination: `${s.base}${p('read', 'ro-copy.txt')}` } });
    expect(res.status).toBe(403);
    expect((await dav(s.base, 'GET', p('read', 'ro-copy.txt'), { user })).status).toBe(404);
    expect(await s.vault.store.repos.documents.byName(collectionIds.read, 'ro-copy.txt')).toBeUndefined();
  });

  it('a contribute partner receives a COPY as a new, scanned document', async () => {
    const src = p('own', 'contrib-source.txt');
    await dav(s.base, 'PUT', src, { user, body: 'shared with the partner' });
    expect((await dav(s.base, 'COPY', src, { user, headers: { destination: `${s.base}${p('contribute', 'contrib-copy.txt')}` } })).status).toBe(201);
    const copy = await s.vault.store.repos.documents.byName(collectionIds.contribute, 'contrib-copy.txt');
    expect(copy).toMatchObject({ organisationId: expect.any(String), status: 'available' });
    const versions = await s.vault.store.repos.documents.versions(copy!.id);
    expect(versions[0]!.scanStatus).toBe('clean');
  });

  it('MOVE of a document across organisations follows the same policy (copy + delete)', async () => {
    const src = p('own', 'cross-move.txt');
    await dav(s.base, 'PUT', src, { user, body: 'moving' });
    expect((await dav(s.base, 'MOVE', src, { user, headers: { destination: `${s.base}${p('read', 'cross-move.txt')}` } })).status).toBe(403);
    expect((await dav(s.base, 'GET', src, { user })).status).toBe(200);
    expect((await dav(s.base, 'MOVE', src, { user, headers: { destination: `${s.base}${p('contribute', 'cross-move.txt')}` } })).status).toBe(201);
    expect((await dav(s.base, 'GET', src, { user })).status).toBe(404);
    expect((await dav(s.base, 'GET', p('contribute', 'cross-move.txt'), { user })).body).toBe('moving');
  });

  it('authenticates with app passwords (matching e-mail) and bearer tokens, never the account password', async () => {
    const path = p('own', 'existing.txt');
    expect((await dav(s.base, 'GET', path, { headers: { authorization: user.basic } })).status).toBe(200);
    expect((await dav(s.base, 'GET', path, { headers: { authorization: `Bearer ${user.token}` } })).status).toBe(200);
    const basic = (u: string, pw: string) => `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}`;
    const refused = [
      basic(user.email, TEST_PASSWORD),
      basic('someone.else@example.test', user.appPassword),
      basic(user.email, user.token),
      `Bearer ${user.appPassword}`,
    ];
    for (const authorization of refused) {
      const res = await dav(s.base, 'GET', path, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="Strongroom"/);
    }
    const none = await dav(s.base, 'PROPFIND', '/dav/', { headers: { depth: '0' } });
    expect(none.status).toBe(401);
    // E-mail matching ignores case.
    expect((await dav(s.base, 'GET', path, { headers: { authorization: basic(user.email.toUpperCase(), user.appPassword) } })).status).toBe(200);
  });

  it('audits WebDAV actions with channel webdav', async () => {
    await s.vault.audit.sequencer.integrate();
    const rows = await s.vault.store.db.selectFrom('audit_events').select(['action', 'channel']).where('actor_user_id', '=', user.id).execute();
    const webdav = rows.filter((r) => r.channel === 'webdav').map((r) => r.action);
    expect(webdav).toEqual(expect.arrayContaining(['document.upload', 'document.download', 'document.version', 'dav.proppatch', 'dav.lock', 'dav.unlock', 'document.delete']));
    expect(rows.every((r) => r.channel === 'webdav')).toBe(true);
  });
});
