// Legal holds end to end on both dialects: the register (place, extend, release with a reason), the
// freeze decide() applies to held documents and collections for everyone (members, records managers,
// the system's own jobs), the hold named in every refusal, the scan verdict still reaching a held
// upload, and the authority matrix (a partner's records manager, a host team with manage access).
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { documentResource } from '../../src/services/access.service.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { heldFragment, placeHold } from '../support/holds.js';
import { api, expectProblem } from '../support/http.js';
import { TEST_SAMPLE_MARKER } from '../support/samples.js';
import { DIALECTS, createOrganisation, createPartnership, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { dav, davUser } from '../webdav/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('legal holds on %s', (dialect) => {
  // Files over 64 bytes are scanned by the (unstarted) worker, so a held upload can be left pending.
  const t = useTestVault(dialect, clamd, { listen: true, env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '64' } });

  async function council() {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL', hr: 'OFFICIAL' } });
    const member = await org.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const manager = await org.user({ roles: ['records_manager'], clearance: 'OFFICIAL' });
    return { org, member, manager };
  }

  async function file(org: TestOrganisation, user: TestUser, collectionId = org.collections.finance!, body = 'minutes\n'): Promise<string> {
    const res = await upload(t.app, user, collectionId, `doc-${Math.random().toString(36).slice(2)}.txt`, body);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  async function denials(documentId: string, action: string) {
    return t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', action).where('decision', '=', 'deny').execute()
      .then((rows) => rows.filter((r) => JSON.stringify(r.target_ids).includes(documentId)));
  }

  it('places a hold through the API, and a collection hold covers a document added after it', async () => {
    const { org, member, manager } = await council();
    const created = await api(t.app, manager).post('holds', { name: 'Smith v Council', reason: 'Employment tribunal claim 2401', reference: 'ET/2401' });
    expect(created.statusCode, created.body).toBe(201);
    const hold = created.json();
    expect(hold).toMatchObject({ name: 'Smith v Council', reference: 'ET/2401', active: true, organisationId: org.id });
    const added = await api(t.app, manager).post(`holds/${hold.id}/items`, { collectionIds: [org.collections.finance] });
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json()).toMatchObject({ added: 1, counts: { collections: 1, documents: 0 } });
    // Added after the hold: covered all the same.
    const later = await file(org, member);
    const refused = expectProblem(await api(t.app, member).delete(`documents/${later}`), 409);
    expect(refused.detail).toBe(`This document is ${heldFragment(hold)}; it cannot be deleted, changed or disposed of until the hold is released.`);
    const [event] = await denials(later, 'document.delete');
    expect(event).toMatchObject({ reason: 'legal_hold' });
    expect(JSON.stringify(event!.target_ids)).toContain(hold.id);
    // The register lists it, with counts; the detail names what it covers.
    const register = await api(t.app, manager).get('holds');
    expect(register.statusCode).toBe(200);
    expect(register.json().holds.map((h: { id: string }) => h.id)).toContain(hold.id);
    const detail = (await api(t.app, manager).get(`holds/${hold.id}`)).json();
    expect(detail.items).toEqual([expect.objectContaining({ kind: 'collection', collectionId: org.collections.finance, name: 'finance' })]);
    // Auditors read the register but place nothing; a DPO places holds (subject access requests); a member does neither.
    const auditor = await org.user({ roles: ['auditor'], clearance: 'OFFICIAL' });
    expect((await api(t.app, auditor).get(`holds/${hold.id}`)).statusCode).toBe(200);
    expectProblem(await api(t.app, auditor).post('holds', { name: 'Auditor hold', reason: 'Auditors do not place holds' }), 404);
    expectProblem(await api(t.app, auditor).post(`holds/${hold.id}/release`, { reason: 'Auditors do not release holds' }), 404);
    const dpo = await org.user({ roles: ['dpo'], clearance: 'OFFICIAL' });
    expect((await api(t.app, dpo).post('holds', { name: 'SAR 2026-001', reason: 'Open subject access request' })).statusCode).toBe(201);
    expectProblem(await api(t.app, member).get('holds'), 404);
    // Audited: create and add.
    const ownEvents = await t.vault.store.db.selectFrom('audit_events').select(['action']).where('action', 'in', ['records.hold.create', 'records.hold.add']).execute();
    expect(ownEvents.map((e) => e.action)).toEqual(expect.arrayContaining(['records.hold.create', 'records.hold.add']));
  });

  it('refuses member and records manager delete, new version, rename, move and reclassify of a held document, naming the hold', async () => {
    const { org, member, manager } = await council();
    const id = await file(org, member);
    const hold = await placeHold(t.vault, org.id, { documentIds: [id] });
    const other = await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: org.collections.finance!, name: `sub-${id.slice(0, 6)}`, serviceArea: 'finance', classification: 'OFFICIAL' });
    for (const user of [member, manager]) {
      const attempts = [
        await api(t.app, user).delete(`documents/${id}`),
        await api(t.app, user).put(`documents/${id}/content`, 'a new version\n'),
        await api(t.app, user).patch(`documents/${id}`, { name: 'renamed.txt' }),
        await api(t.app, user).patch(`documents/${id}`, { collectionId: other.id }),
        await api(t.app, user).post(`documents/${id}/classification`, { classification: 'OFFICIAL', reason: 'reclassify it' }),
      ];
      for (const res of attempts) expect(expectProblem(res, 409).detail).toContain(heldFragment(hold));
    }
    const document = (await t.vault.store.repos.documents.byId(id))!;
    expect(document).toMatchObject({ currentVersion: 1, deletedAt: null, collectionId: org.collections.finance });
    expect(document.name).toMatch(/^doc-/);
    // Reading stays open.
    expect((await api(t.app, member).get(`documents/${id}/content`)).statusCode).toBe(200);
  });

  it('refuses the system actor too, in the services: delete, version, rename, move, classify, dispose and purge', async () => {
    const { org, member } = await council();
    const id = await file(org, member);
    const hold = await placeHold(t.vault, org.id, { documentIds: [id] });
    const system = systemActor();
    const other = await t.vault.collectionCreation.create(system, { organisationId: org.id, parentId: org.collections.finance!, name: `sys-${id.slice(0, 6)}`, serviceArea: 'finance', classification: 'OFFICIAL' });
    const document = (await t.vault.store.repos.documents.byId(id))!;
    const attempts: [string, () => Promise<unknown>][] = [
      ['delete', () => t.vault.documents.remove(system, id)],
      ['version', () => t.vault.documents.uploadVersion(system, id, { body: Readable.from([Buffer.from('system version')]) })],
      ['rename', () => t.vault.filing.move(system, id, { name: 'system.txt' })],
      ['move', () => t.vault.filing.move(system, id, { collectionId: other.id })],
      ['classify', () => t.vault.documents.classify(system, id, 'OFFICIAL', 'system change')],
      ['dispose', () => t.vault.access.require(system, 'document.dispose', documentResource(document), { organisationId: org.id, ids: { documentId: id } })],
      ['purge', () => t.vault.access.require(system, 'document.purge', documentResource(document), { organisationId: org.id, ids: { documentId: id } })],
    ];
    for (const [what, attempt] of attempts) {
      const error = await attempt().then(() => null, (e: unknown) => e);
      expect(error, what).toBeInstanceOf(DomainError);
      expect((error as DomainError).code, what).toBe('CONFLICT');
      expect((error as DomainError).message, what).toContain(heldFragment(hold));
    }
    expect((await denials(id, 'document.purge'))[0]).toMatchObject({ reason: 'legal_hold', decision: 'deny' });
  });

  it('lets a hold placed while a new version is arriving win: refused, nothing stored', async () => {
    const { org, member } = await council();
    const id = await file(org, member);
    const actor = actorFor((await t.vault.identity.userById(member.id))!, { channel: 'api', clientAddress: null, requestId: null });
    let hold: Awaited<ReturnType<typeof placeHold>> | undefined;
    async function* body() {
      yield Buffer.from('first half, ');
      hold = await placeHold(t.vault, org.id, { documentIds: [id] });
      yield Buffer.from('second half\n');
    }
    const error = await t.vault.documents.uploadVersion(actor, id, { body: body() }).then(() => null, (e: unknown) => e);
    expect((error as DomainError).code).toBe('CONFLICT');
    expect((error as DomainError).message).toContain(heldFragment(hold!));
    expect((await t.vault.store.repos.documents.versions(id)).map((v) => v.number)).toEqual([1]);
  });

  it('refuses moving a collection with a held document inside (a deleted one included) or under a hold itself; restoring from the bin is allowed', async () => {
    const { org, member, manager } = await council();
    const system = systemActor();
    const box = await t.vault.collectionCreation.create(system, { organisationId: org.id, parentId: org.collections.finance!, name: `box-${Date.now()}`, serviceArea: 'finance', classification: 'OFFICIAL' });
    const inner = await t.vault.collectionCreation.create(system, { organisationId: org.id, parentId: box.id, name: 'inner', serviceArea: 'finance', classification: 'OFFICIAL' });
    const target = await t.vault.collectionCreation.create(system, { organisationId: org.id, parentId: org.collections.finance!, name: `target-${Date.now()}`, serviceArea: 'finance', classification: 'OFFICIAL' });
    const id = await file(org, member, inner.id);
    expect((await api(t.app, member).delete(`documents/${id}`)).statusCode).toBe(204);
    const hold = await placeHold(t.vault, org.id, { documentIds: [id] });
    const moved = expectProblem(await api(t.app, manager).patch(`collections/${box.id}`, { parentId: target.id }), 409);
    expect(moved.detail).toBe(`This collection has something inside it that is ${heldFragment(hold)}; it cannot be deleted, changed or disposed of until the hold is released.`);
    expect((await t.vault.store.repos.collections.byId(box.id))!.parentId).toBe(org.collections.finance);
    // The bin preserves: a held document may come back.
    expect((await api(t.app, member).post(`documents/${id}/restore`)).statusCode).toBe(200);
    // A hold over the collection itself (or above it) refuses moving it and any collection below it.
    const boxHold = await placeHold(t.vault, org.id, { collectionIds: [box.id] });
    expect(expectProblem(await api(t.app, manager).patch(`collections/${inner.id}`, { parentId: target.id }), 409).detail).toContain(heldFragment(boxHold));
    // Adding to a held collection stays open.
    await file(org, member, inner.id);
  });

  it('refuses a release without a reason (400, nothing changed); after release the actions work again', async () => {
    const { org, member, manager } = await council();
    const id = await file(org, member);
    const hold = (await api(t.app, manager).post('holds', { name: 'SAR 2026-117', reason: 'Open subject access request' })).json();
    expect((await api(t.app, manager).post(`holds/${hold.id}/items`, { documentIds: [id] })).statusCode).toBe(200);
    for (const body of [{}, { reason: '' }, { reason: 'too short' }]) {
      expect(expectProblem(await api(t.app, manager).post(`holds/${hold.id}/release`, body), 400).detail).toBe('Give the reason for releasing this hold.');
    }
    expect((await api(t.app, manager).get(`holds/${hold.id}`)).json()).toMatchObject({ active: true, releasedAt: null });
    expect(expectProblem(await api(t.app, member).delete(`documents/${id}`), 409).detail).toContain(heldFragment(hold));
    const released = await api(t.app, manager).post(`holds/${hold.id}/release`, { reason: 'Request answered and closed on 1 Dec' });
    expect(released.statusCode, released.body).toBe(200);
    expect(released.json()).toMatchObject({ active: false, releaseReason: 'Request answered and closed on 1 Dec', releasedBy: manager.id });
    expect(expectProblem(await api(t.app, manager).post(`holds/${hold.id}/release`, { reason: 'Request answered and closed' }), 409).detail).toContain('already released');
    expect((await api(t.app, member).put(`documents/${id}/content`, 'v2\n')).statusCode).toBe(200);
    expect((await api(t.app, member).delete(`documents/${id}`)).statusCode).toBe(204);
    const events = await t.vault.store.db.selectFrom('audit_events').select(['action', 'decision']).where('action', '=', 'records.hold.release').execute();
    expect(events).toContainEqual({ action: 'records.hold.release', decision: 'allow' });
  });

  it('still gives a held upload its scan verdict, and refuses a security admin destroying a held quarantined file', async () => {
    const { org, member } = await council();
    const id = await file(org, member, org.collections.finance!, 'a file long enough to be scanned by the worker, not inline\n'.repeat(3));
    const document = (await t.vault.store.repos.documents.byId(id))!;
    expect(document.status).toBe('pending_scan');
    const hold = await placeHold(t.vault, org.id, { documentIds: [id] });
    expect(await t.vault.quarantine.scanPending(document.currentVersionId)).toBe('clean');
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('available');
    // Quarantine destroy: the hold wins.
    const security = await org.user({ roles: ['security_admin'], clearance: 'OFFICIAL' });
    await t.vault.store.repos.documents.updateVersionScan(document.currentVersionId, { status: 'infected', detail: 'Test.Sample', engine: 'ClamAV', at: new Date().toISOString() });
    expect(expectProblem(await api(t.app, security).post(`quarantine/${document.currentVersionId}/destroy`), 409).detail).toContain(heldFragment(hold));
    expect((await t.vault.store.repos.documents.versionById(document.currentVersionId))!.wrappedKey.length).toBeGreaterThan(0);
  });

  it('refuses a security admin releasing a quarantined later version of a held document (409, hold named, audited): the held record keeps its content', async () => {
    const { org, member } = await council();
    const id = await file(org, member, org.collections.finance!, 'the signed contract\n');
    // Version 2 is found infected as it arrives (small enough to be scanned inline): quarantined, never current.
    expect((await api(t.app, member).put(`documents/${id}/content`, `${TEST_SAMPLE_MARKER}\n`)).statusCode).toBe(422);
    const v2 = (await t.vault.store.repos.documents.version(id, 2))!;
    expect(v2.scanStatus).toBe('infected');
    const hold = await placeHold(t.vault, org.id, { documentIds: [id] });
    const security = await org.user({ roles: ['security_admin'], clearance: 'OFFICIAL' });
    // The quarantine list offers no release of it (asked of the same decide()), and the release is refused, naming the hold.
    const listed = (await api(t.app, security).get('quarantine')).json().items.find((i: { versionId: string }) => i.versionId === v2.id);
    expect(listed.may).toEqual({ release: false, destroy: false });
    const refused = expectProblem(await api(t.app, security).post(`quarantine/${v2.id}/release`, { reason: 'Vendor says the file is a test string' }), 409);
    expect(refused.detail).toContain(heldFragment(hold));
    expect(refused.holdId).toBe(hold.id);
    // Nothing changed: version 1 is still the held record's content, version 2 still in quarantine.
    const after = (await t.vault.store.repos.documents.byId(id))!;
    expect({ currentVersion: after.currentVersion, status: after.status }).toEqual({ currentVersion: 1, status: 'available' });
    expect((await t.vault.store.repos.documents.versionById(v2.id))!.scanStatus).toBe('infected');
    await t.vault.audit.sequencer.flush();
    const refusals = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'quarantine.release' && e.decision === 'deny');
    expect(refusals.map((e) => ({ reason: e.reason, ids: e.targetIds }))).toEqual([{ reason: 'legal_hold', ids: { documentId: id, versionId: v2.id, holdId: hold.id } }]);
  });

  it('refuses WebDAV DELETE, PUT, MOVE and LOCK on a held document, and DELETE and MOVE of a folder holding one, with 409 and the hold named', async () => {
    const { org } = await council();
    const user = await davUser(t.vault, org, { teams: ['finance'], clearance: 'OFFICIAL' });
    const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const path = `/dav/${org.slug}/finance/held-${Date.now()}.txt`;
    expect((await dav(base, 'PUT', path, { user, body: 'held\n' })).status).toBe(201);
    const id = (await t.vault.collections.get(systemActor(), org.collections.finance!)).documents[0]!.id;
    const hold = await placeHold(t.vault, org.id, { documentIds: [id] });
    const lockBody = '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
    const refusals = [
      await dav(base, 'DELETE', path, { user }),
      await dav(base, 'PUT', path, { user, body: 'overwrite\n' }),
      await dav(base, 'MOVE', path, { user, headers: { destination: `${base}/dav/${org.slug}/finance/moved.txt` } }),
      await dav(base, 'LOCK', path, { user, headers: { 'content-type': 'application/xml' }, body: lockBody }),
    ];
    for (const res of refusals) {
      expect(res.status).toBe(409);
      expect(res.body).toContain(heldFragment(hold));
    }
    expect((await dav(base, 'GET', path, { user })).body).toBe('held\n');
    // A folder with a held document inside: neither deleted nor moved, the hold named.
    const manager = await davUser(t.vault, org, { roles: ['records_manager'], clearance: 'OFFICIAL' });
    expect((await dav(base, 'MKCOL', `/dav/${org.slug}/finance/Case`, { user })).status).toBe(201);
    expect((await dav(base, 'PUT', `/dav/${org.slug}/finance/Case/evidence.txt`, { user, body: 'evidence\n' })).status).toBe(201);
    const caseFolder = (await t.vault.collections.get(systemActor(), org.collections.finance!)).children.find((c) => c.name === 'Case')!;
    const evidence = (await t.vault.collections.get(systemActor(), caseFolder.id)).documents[0]!;
    const caseHold = await placeHold(t.vault, org.id, { documentIds: [evidence.id] });
    for (const who of [user, manager]) {
      const folderRefusals = [
        await dav(base, 'DELETE', `/dav/${org.slug}/finance/Case`, { user: who }),
        await dav(base, 'MOVE', `/dav/${org.slug}/finance/Case`, { user: who, headers: { destination: `${base}/dav/${org.slug}/finance/Elsewhere` } }),
      ];
      for (const res of folderRefusals) {
        expect(res.status).toBe(409);
        expect(res.body).toContain(heldFragment(caseHold));
      }
    }
    expect((await dav(base, 'GET', `/dav/${org.slug}/finance/Case/evidence.txt`, { user })).body).toBe('evidence\n');
  });

  it('describes the hold endpoints in the OpenAPI document', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    for (const [p, method] of [['/api/v1/holds', 'post'], ['/api/v1/holds', 'get'], ['/api/v1/holds/{id}', 'get'], ['/api/v1/holds/{id}/items', 'post'], ['/api/v1/holds/{id}/release', 'post']] as const) {
      expect(doc.paths[p]?.[method], `${method.toUpperCase()} ${p}`).toBeDefined();
    }
  });

  describe('authority: only the owning organisation places and releases holds', () => {
    it('refuses a partner\'s records manager and a host team with manage access (404, audited), and nothing changes', async () => {
      const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'finance' });
      const hostManager = await host.user({ roles: ['records_manager'], teams: ['finance'] });
      const hostTeam = await host.user({ teams: ['finance'] });
      const partnerManager = await partner.user({ roles: ['records_manager'], teams: ['finance'] });
      const partnerStaff = await partner.user({ teams: ['finance'] });
      const partnerDoc = await file(partner, partnerStaff);
      // The host's team reaches the partner's document through the arrangement (manage)...
      expect((await api(t.app, hostTeam).get(`documents/${partnerDoc}`)).statusCode).toBe(200);
      const partnerHold = (await api(t.app, partnerManager).post('holds', { name: 'Partner inquiry', reason: 'Ombudsman inquiry 77' })).json();
      const hostHold = (await api(t.app, hostManager).post('holds', { name: 'Host case', reason: 'Host litigation 2026' })).json();
      // ...but holds are the owning organisation's: neither the host team nor its records manager touches the partner's.
      for (const user of [hostTeam, hostManager]) {
        expectProblem(await api(t.app, user).post(`holds/${partnerHold.id}/items`, { documentIds: [partnerDoc] }), 404);
        expectProblem(await api(t.app, user).post(`holds/${partnerHold.id}/release`, { reason: 'Not ours to release at all' }), 404);
        expectProblem(await api(t.app, user).get(`holds/${partnerHold.id}`), 404);
        expectProblem(await api(t.app, user).get(`holds?organisation=${partner.slug}`), 404);
      }
      // Nor can the host put the partner's document under its own hold.
      expectProblem(await api(t.app, hostManager).post(`holds/${hostHold.id}/items`, { documentIds: [partnerDoc] }), 404);
      // A host team member is no records manager: no hold of their own either.
      expectProblem(await api(t.app, hostTeam).post('holds', { name: 'Mine', reason: 'I would like a hold' }), 404);
      // The partner's records manager cannot hold or release the host's.
      expectProblem(await api(t.app, partnerManager).post(`holds/${hostHold.id}/items`, { documentIds: [partnerDoc] }), 404);
      expectProblem(await api(t.app, partnerManager).post(`holds/${hostHold.id}/release`, { reason: 'Not ours to release at all' }), 404);
      // Nothing changed, and every refusal was audited.
      expect(await t.vault.store.repos.holds.items(partnerHold.id)).toEqual([]);
      expect(await t.vault.store.repos.holds.items(hostHold.id)).toEqual([]);
      expect((await t.vault.store.repos.holds.byId(partnerHold.id))!.releasedAt).toBeNull();
      expect((await t.vault.store.repos.holds.byId(hostHold.id))!.releasedAt).toBeNull();
      const refusals = await t.vault.store.db.selectFrom('audit_events').select(['action', 'reason']).where('decision', '=', 'deny')
        .where('action', 'in', ['records.hold', 'records.read', 'records.hold.add']).where('actor_user_id', 'in', [hostTeam.id, hostManager.id, partnerManager.id]).execute();
      expect(refusals.length).toBeGreaterThanOrEqual(12);
      // The partner's own records manager may.
      expect((await api(t.app, partnerManager).post(`holds/${partnerHold.id}/items`, { documentIds: [partnerDoc] })).statusCode).toBe(200);
    });
  });
  it('tells a partner who meets a hold that one is in force, never its name (the owning organisation\'s to know)', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', areas: { payroll: 'OFFICIAL' } });
    const owner = await partner.user({ teams: ['payroll'] });
    const serving = await host.user({ teams: ['payroll'] });
    const held = await file(partner, owner, partner.collections['payroll']!);
    const hold = await placeHold(t.vault, partner.id, { documentIds: [held] }, 'Smith v Council 2401');
    // The host's team manages the partner's payroll through the arrangement: refused by the hold, not told its name.
    const refused = expectProblem(await api(t.app, serving).delete(`documents/${held}`), 409);
    expect(refused.detail).toBe(`This document is under a legal hold of the organisation that owns it (hold ${hold.id}); it cannot be deleted, changed or disposed of until the hold is released.`);
    const seen = await api(t.app, serving).get(`documents/${held}`);
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.json().retention.holds).toEqual([{ id: hold.id, name: 'Legal hold (named only to the owning organisation)' }]);
    expect(seen.body).not.toContain('Smith v Council');
    // The owning organisation's own staff are told which hold.
    const own = expectProblem(await api(t.app, owner).delete(`documents/${held}`), 409);
    expect(own.detail).toContain(heldFragment(hold));
    expect((await api(t.app, owner).get(`documents/${held}`)).json().retention.holds).toEqual([{ id: hold.id, name: hold.name }]);
  });
});
