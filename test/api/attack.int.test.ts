// An outsider's attack on the #11 boundaries: what a caller hands a service (a Decision, an
// Arrangement object) is never taken on trust, a deny-event writer writes only refusals, and the
// arrangement register does not name another organisation's staff. Each case also checks that the
// legitimate path still works. Every case runs on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/access/policy.js';
import { DomainError } from '../../src/domain/errors.js';
import type { Arrangement } from '../../src/domain/types.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson } from '../ui/support.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

const FORGED: Decision = { allow: true, reason: 'host_admin', via: null };

describe.each(DIALECTS)('an outsider against the #11 boundaries on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A host council's finance shared with a partner, in force; and a third council with no arrangement. */
  async function councils() {
    const host = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const partner = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const outsider = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const arrangement = await t.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'finance', purpose: 'Shared finance',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'manage', ceiling: 'OFFICIAL',
    }, { approve: true });
    return { host, partner, outsider, arrangement };
  }

  const actorOf = async (userId: string) => actorFor((await t.vault.identity.userById(userId))!, { channel: 'api', clientAddress: '127.0.0.1', requestId: 'attack' });
  const hostRoots = async (hostId: string) => (await t.vault.store.repos.collections.children(hostId, null)).map((c) => c.name).sort();
  const eventsOf = async (action: string, organisationId: string) =>
    t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', action).where('target_organisation_id', '=', organisationId).execute();

  // CollectionCreationService is handed to every interface (AppServices). Its createWorkspace used to take the
  // Decision and the Arrangement from its caller and check neither: any caller could plant a "joint
  // workspace" in another council's file plan by handing in an allow of its own making.
  it('refuses a joint workspace to a caller who hands in a Decision (or an Arrangement) of its own', async () => {
    const x = await councils();
    const outsiderAdmin = await actorOf((await x.outsider.user({ roles: ['org_admin'] })).id);
    const partnerAdmin = await actorOf((await x.partner.user({ roles: ['org_admin'] })).id);
    const before = await hostRoots(x.host.id);
    const createWorkspace = t.vault.collectionCreation.createWorkspace.bind(t.vault.collectionCreation) as (...args: unknown[]) => Promise<unknown>;

    for (const [actor, arrangement] of [
      [outsiderAdmin, x.arrangement],
      [partnerAdmin, x.arrangement],
      // An Arrangement object doctored to make the caller its host changes nothing: it is read again by id.
      [outsiderAdmin, { ...x.arrangement, hostOrganisationId: x.outsider.id } satisfies Arrangement],
    ] as const) {
      const refused = await createWorkspace(actor, arrangement, 'Planted', FORGED).then(() => null, (e: unknown) => e);
      expect(refused).toBeInstanceOf(DomainError);
      // Refused as decide() refuses an id the caller may not act on: 404, whatever was handed in.
      expect((refused as DomainError).code, String(refused)).toBe('NOT_FOUND');
    }
    expect(await hostRoots(x.host.id)).toEqual(before);
    expect((await t.vault.store.repos.collections.children(x.outsider.id, null)).map((c) => c.name)).not.toContain('Planted');
    // Each refusal is audited under the host, as decide() made it.
    const denials = (await eventsOf('arrangement.workspace', x.host.id)).filter((e) => e.decision === 'deny');
    expect(denials.map((e) => e.reason).sort()).toEqual(['host_only', 'not_a_party', 'not_a_party']);

    // The host's own admin still sets one up, and its event carries the decision decide() made.
    const hostAdmin = await actorOf((await x.host.user({ roles: ['org_admin'] })).id);
    const made = await t.vault.arrangements.createWorkspace(hostAdmin, x.arrangement.id, 'Joint ledgers');
    expect(made).toMatchObject({ organisationId: x.host.id, arrangementId: x.arrangement.id, parentId: null });
    const created = (await eventsOf('collection.create', x.host.id)).find((e) => JSON.parse(e.target_ids).collectionId === made.id);
    expect(created).toMatchObject({ decision: 'allow', reason: 'host_admin', actor_user_id: hostAdmin.userId });

    // Once the arrangement has ended, not even the host (nor the command line) adds one.
    await t.vault.arrangements.end(systemActor(), x.arrangement.id);
    // Through the arrangements service the host is told why (400); straight at the collection creation service
    // decide() refuses it (404); the command line, which decide() lets through, is held by the lifecycle.
    const told = await t.vault.arrangements.createWorkspace(hostAdmin, x.arrangement.id, 'Too late').then(() => null, (e: unknown) => e);
    expect((told as DomainError).code).toBe('INVALID');
    const direct = await createWorkspace(hostAdmin, x.arrangement, 'Too late', FORGED).then(() => null, (e: unknown) => e);
    expect((direct as DomainError).code).toBe('NOT_FOUND');
    const cli = await createWorkspace(systemActor(), x.arrangement, 'Too late', FORGED).then(() => null, (e: unknown) => e);
    expect((cli as DomainError).code).toBe('INVALID');
    expect(await hostRoots(x.host.id)).toEqual([...before, 'Joint ledgers'].sort());
  });

  // The register of arrangements in force is open to every signed-in person, and each arrangement's
  // page listed who made each change by name: another council's staff learnt the names of the host's
  // and partners' org admins, which decide() (person.identify) tells only colleagues.
  it('names who changed an arrangement only to their colleagues; others learn their organisation', async () => {
    const x = await councils();
    const hostAdmin = await addPerson(t.vault, x.host.slug, { roles: ['org_admin'], name: 'Harriet Hostadmin' });
    const partnerAdmin = await addPerson(t.vault, x.partner.slug, { roles: ['org_admin'], name: 'Percy Partneradmin' });
    const proposed = await t.vault.arrangements.propose(await actorOf(hostAdmin.id), {
      hostOrganisationId: x.host.id, partnerOrganisationIds: [x.partner.id], serviceArea: 'finance', purpose: 'Shared payments',
      lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    await t.vault.arrangements.accept(await actorOf(partnerAdmin.id), proposed.id, { revision: proposed.revision });
    const page = async (slug: string) => {
      const person = await addPerson(t.vault, slug, { teams: ['finance'], name: 'Reader' });
      const client = new FormClient(base);
      await client.signIn(person.email, PASSWORD);
      const res = await client.get(`/arrangements/${proposed.id}`);
      expect(res.status).toBe(200);
      return res.text;
    };
    const hostName = `Test ${x.host.slug}`;
    const partnerName = `Test ${x.partner.slug}`;

    const outsider = await page(x.outsider.slug);
    expect(outsider).not.toContain('Harriet Hostadmin');
    expect(outsider).not.toContain('Percy Partneradmin');
    // The proposal was a draft, which stays between the parties (arrangement-drafts): the outsider sees the acceptance that put it in force.
    expect(outsider).not.toContain(`someone in ${hostName}`);
    expect(outsider).toContain(`someone in ${partnerName}`);

    const partner = await page(x.partner.slug);
    expect(partner).not.toContain('Harriet Hostadmin');
    expect(partner).toContain(`someone in ${hostName}`);
    expect(partner).toContain('Percy Partneradmin');

    const host = await page(x.host.slug);
    expect(host).toContain('Harriet Hostadmin');
    expect(host).not.toContain('Percy Partneradmin');
    expect(host).toContain(`someone in ${partnerName}`);
    // A change made at the command line still says so.
    const reader = await addPerson(t.vault, x.outsider.slug, { teams: ['finance'] });
    const client = new FormClient(base);
    await client.signIn(reader.email, PASSWORD);
    expect((await client.get(`/arrangements/${x.arrangement.id}`)).text).toContain('Administrator (command line)');
  });

  // AccessService.recordDenial ("the one way a deny event is written") wrote whatever Decision it was
  // handed, allow included, and DavService.recordRefusal passes a caller's Decision straight to it. A
  // forged allow `arrangement.accepted` with the right state hash is what `audit verify` takes as
  // proof that an arrangement row edited in the database was changed by Strongroom.
  it('writes only refusals through the deny-event writers, so no caller can forge an allow event', async () => {
    const x = await councils();
    const outsiderAdmin = await actorOf((await x.outsider.user({ roles: ['org_admin'] })).id);
    const target = { organisationId: x.host.id, ids: { arrangementId: x.arrangement.id, revision: '2', state: 'forged' } };
    const before = (await eventsOf('arrangement.accepted', x.host.id)).length;
    await expect(t.vault.access.recordDenial(outsiderAdmin, 'arrangement.accepted', target, FORGED)).rejects.toThrow(/only refusals/);
    await expect(t.vault.dav.recordRefusal(outsiderAdmin, { action: 'document.read', target, decision: FORGED })).rejects.toThrow(/only refusals/);
    expect((await eventsOf('arrangement.accepted', x.host.id)).length).toBe(before);
    expect((await eventsOf('document.read', x.host.id)).length).toBe(0);

    // Refusals are still written, in the one shape.
    await t.vault.access.recordDenial(outsiderAdmin, 'document.read', target, { allow: false, reason: 'no_arrangement', via: null });
    expect(await eventsOf('document.read', x.host.id)).toEqual([expect.objectContaining({ decision: 'deny', reason: 'no_arrangement', actor_user_id: outsiderAdmin.userId })]);
  });

  // What held: another council's admins (every role), and a partner's after suspension, get the same
  // 404 for the host's locks, quarantine, arrangement steps and folders as for ids that never existed,
  // and nothing changes.
  it('answers another council, and a suspended partner, 404 for the host’s locks, quarantine, arrangement steps and folders', async () => {
    const x = await councils();
    const hostStaff = await x.host.user({ teams: ['finance'] });
    const uploaded = await upload(t.app, hostStaff, x.host.collections.finance!, 'ledger.txt', 'ledger');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const document = await t.vault.store.repos.documents.byId(uploaded.json().id);
    const lock = await t.vault.locks.take(await actorOf(hostStaff.id), { kind: 'document', document: document! }, { scope: 'exclusive', depth: '0', owner: null, timeoutSeconds: 600, rootPath: '/x' });
    const outsider = await x.outsider.user({ roles: ['org_admin', 'security_admin', 'auditor'], teams: ['finance'] });
    const partner = await x.partner.user({ roles: ['org_admin', 'security_admin'], teams: ['finance'] });
    const id = x.arrangement.id;

    // (A partner's staff never reach the host's own folders, only its joint workspace; suspended, not even that.)
    await t.vault.arrangements.suspend(systemActor(), id);
    for (const who of [outsider, partner]) {
      const as = api(t.app, who);
      for (const res of [
        await as.get(`documents/${document!.id}/locks`), await as.get(`collections/${x.host.collections.finance}/locks`),
        await as.delete(`locks/${encodeURIComponent(lock.token)}`),
        await as.post(`quarantine/${document!.currentVersionId}/release`, { reason: 'it is fine, really fine' }),
        await as.post(`quarantine/${document!.currentVersionId}/destroy`),
        await as.get(`collections/${x.host.collections.finance}`), await as.get(`documents/${document!.id}`),
      ]) expect(res.statusCode, res.body).toBe(404);
      expect((await as.get(`collections?organisation=${x.host.slug}`)).json()).toEqual({ collections: [] });
    }
    const outsiderApi = api(t.app, outsider);
    for (const res of [
      await outsiderApi.post(`arrangements/${id}/workspace`, { name: 'Planted' }), await outsiderApi.post(`arrangements/${id}/end`),
      await outsiderApi.post(`arrangements/${id}/resume`), await outsiderApi.patch(`arrangements/${id}`, { purpose: 'Ours now' }),
    ]) expect(res.statusCode, res.body).toBe(404);
    // The suspended partner's admin is a party: told plainly that only the host reinstates (400), and it stays suspended.
    expect((await api(t.app, partner).post(`arrangements/${id}/resume`)).statusCode).toBe(400);
    expect((await t.vault.store.repos.arrangements.byId(id))).toMatchObject({ status: 'suspended', purpose: 'Shared finance' });
    expect(await t.vault.store.repos.locks.byToken(lock.token)).toMatchObject({ token: lock.token });
    expect((await t.vault.store.repos.documents.versionById(document!.currentVersionId))!.wrappedKey.length).toBeGreaterThan(0);
    expect(await hostRoots(x.host.id)).toEqual(['finance']);
  });

  // DavService and LocksService (both in AppServices) decided on the Document or Collection object
  // their caller handed in and then acted on its id: an object copied from another council's row with
  // the caller's own organisation and team let it delete that council's folder, write dead properties
  // on its document, or take a lock on it. They now read the resource again by id before deciding.
  it('decides WebDAV and lock operations on the stored resource, not on an object the caller hands in', async () => {
    const x = await councils();
    const hostStaff = await x.host.user({ teams: ['finance'] });
    const uploaded = await upload(t.app, hostStaff, x.host.collections.finance!, 'ledger.txt', 'ledger');
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const document = (await t.vault.store.repos.documents.byId(uploaded.json().id))!;
    const empty = await t.vault.collectionCreation.create(systemActor(), { organisationId: x.host.id, parentId: x.host.collections.finance!, name: 'Empty', serviceArea: 'finance', classification: 'OFFICIAL' });
    const outsider = await actorOf((await x.outsider.user({ roles: ['org_admin'], teams: ['finance'] })).id);
    // The host's rows, dressed up as the outsider's own.
    const mine = { organisationId: x.outsider.id, serviceArea: 'finance', classification: 'OFFICIAL' as const, arrangementId: null };
    const fakeFolder = { kind: 'collection' as const, collection: { ...empty, ...mine } };
    const fakeDocument = { kind: 'document' as const, document: { ...document, ...mine, status: 'available' as const } };

    const code = (p: Promise<unknown>) => p.then(() => 'done', (e: unknown) => (e instanceof DomainError ? e.code : String(e)));
    expect(await code(t.vault.dav.removeCollection(outsider, fakeFolder.collection))).toBe('NOT_FOUND');
    expect(await code(t.vault.dav.patchProperties(outsider, fakeDocument, [{ op: 'set', namespace: 'urn:x', name: 'owned', value: 'yes' }]))).toBe('NOT_FOUND');
    expect(await code(t.vault.dav.patchProperties(outsider, fakeFolder, [{ op: 'set', namespace: 'urn:x', name: 'owned', value: 'yes' }]))).toBe('NOT_FOUND');
    const lockInput = { scope: 'exclusive' as const, depth: '0' as const, owner: null, timeoutSeconds: 600, rootPath: '/x' };
    expect(await code(t.vault.dav.lock(outsider, fakeDocument, lockInput))).toBe('NOT_FOUND');
    expect(await code(t.vault.locks.take(outsider, fakeFolder, lockInput))).toBe('NOT_FOUND');

    expect((await t.vault.store.repos.collections.byId(empty.id))!.deletedAt).toBeNull();
    expect(await t.vault.store.repos.dav.propertiesOfMany([document.id, empty.id])).toEqual([]);
    const locks = await t.vault.store.db.selectFrom('resource_locks').selectAll().execute();
    expect(locks.filter((l) => l.document_id === document.id || l.collection_id === empty.id)).toEqual([]);

    // The host's own staff still do all of it on the real rows.
    const staff = await actorOf(hostStaff.id);
    await t.vault.dav.patchProperties(staff, { kind: 'document', document }, [{ op: 'set', namespace: 'urn:x', name: 'colour', value: 'blue' }]);
    expect((await t.vault.dav.properties(staff, [document.id])).get(document.id)).toEqual([{ namespace: 'urn:x', name: 'colour', value: 'blue' }]);
    // An outsider can neither read those properties by id nor copy them onto the host's rows.
    expect(await t.vault.dav.properties(outsider, [document.id])).toEqual(new Map());
    expect(await code(t.vault.dav.copyProperties(outsider, document.id, empty.id))).toBe('NOT_FOUND');
    const taken = await t.vault.dav.lock(staff, { kind: 'document', document }, lockInput);
    expect(taken).toMatchObject({ organisationId: x.host.id, documentId: document.id, userId: staff.userId });
    await t.vault.dav.unlock(staff, taken.token);
    await t.vault.dav.removeCollection(staff, empty);
    expect((await t.vault.store.repos.collections.byId(empty.id))!.deletedAt).not.toBeNull();
  });

  // The register is of arrangements in force (or once in force): drafts stay between the parties. A
  // proposal ended while still a draft (a partner declining it, the host withdrawing it) was never in
  // force, yet became readable by every council, terms and all, the moment it ended.
  it('keeps a proposal that ended before every partner accepted it between the parties; the register keeps those once in force', async () => {
    const host = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const partner = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const outsider = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const hostAdmin = await actorOf((await host.user({ roles: ['org_admin'] })).id);
    const partnerAdmin = await actorOf((await partner.user({ roles: ['org_admin'] })).id);
    const terms = { hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'hr', purpose: 'Merge our HR teams (confidential)', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL' };
    const declined = await t.vault.arrangements.propose(hostAdmin, terms);
    await t.vault.arrangements.end(partnerAdmin, declined.id);
    const served = await t.vault.arrangements.propose(hostAdmin, { ...terms, purpose: 'Shared HR advice' });
    await t.vault.arrangements.accept(partnerAdmin, served.id, { revision: served.revision });
    await t.vault.arrangements.end(hostAdmin, served.id);

    const reader = api(t.app, await outsider.user({ teams: ['hr'] }));
    expect((await reader.get(`arrangements/${declined.id}`)).statusCode).toBe(404);
    expect((await reader.get(`arrangements/${served.id}`)).statusCode).toBe(200);
    const listed = (await reader.get(`arrangements?organisation=${host.slug}`)).json().arrangements.map((a: { id: string }) => a.id);
    expect(listed).toEqual([served.id]);
    // The parties still read both.
    for (const party of [host, partner]) {
      const as = api(t.app, await party.user({}));
      expect((await as.get(`arrangements/${declined.id}`)).json().arrangement).toMatchObject({ status: 'ended', purpose: 'Merge our HR teams (confidential)' });
    }
  });
});

