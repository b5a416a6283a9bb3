// The Decision that allowed an action goes into its audit event: a partner's cross-organisation
// PROPPATCH, LOCK and UNLOCK, folder moves and deletes name the arrangement that allowed them, over
// WebDAV and REST alike. Organisation actions (creating organisations, exporting the audit trail,
// administering people) are asked of decide() too, and refusals are audited in one shape.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { personBinding } from '../../src/domain/audit/person-record.js';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { UsersAdminService } from '../../src/services/users-admin.service.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { FormClient } from '../ui/support.js';
import { DIALECTS } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer } from '../webdav/support.js';

const LOCKINFO = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>host</D:owner></D:lockinfo>';
const PROPPATCH = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:z"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe.each(DIALECTS)('decisions in audit events on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A host council whose finance team serves a partner's finance (manage level). */
  async function sharedService() {
    const host = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const partner = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const arrangement = await s.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'finance', purpose: 'Shared finance',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'manage', ceiling: 'OFFICIAL',
    }, { approve: true });
    const hostStaff = await davUser(s.vault, host, { teams: ['finance'] });
    const partnerStaff = await davUser(s.vault, partner, { teams: ['finance'] });
    return { host, partner, arrangement, hostStaff, partnerStaff };
  }

  /** The newest event of this action under this organisation. */
  async function lastEvent(action: string, organisationId: string) {
    const row = await s.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', action).where('target_organisation_id', '=', organisationId)
      .orderBy('id', 'desc').limit(1).executeTakeFirst();
    expect(row, `a ${action} event under ${organisationId}`).toBeDefined();
    return { ...row!, targetIds: JSON.parse(row!.target_ids) as Record<string, string> };
  }

  it('names the arrangement in a partner’s WebDAV PROPPATCH, LOCK and UNLOCK of another organisation’s document', async () => {
    const x = await sharedService();
    const path = `/dav/${x.partner.slug}/finance/ledger.txt`;
    expect((await dav(s.base, 'PUT', path, { user: x.partnerStaff, body: 'ledger' })).status).toBe(201);

    expect((await dav(s.base, 'PROPPATCH', path, { user: x.hostStaff, body: PROPPATCH, headers: { 'content-type': 'application/xml' } })).status).toBe(207);
    expect(await lastEvent('dav.proppatch', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id, actor_user_id: x.hostStaff.id });

    const locked = await dav(s.base, 'LOCK', path, { user: x.hostStaff, headers: { timeout: 'Second-600' }, body: LOCKINFO });
    expect(locked.status).toBe(200);
    expect(await lastEvent('dav.lock', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id });

    expect((await dav(s.base, 'UNLOCK', path, { user: x.hostStaff, headers: { 'lock-token': locked.headers.get('lock-token')! } })).status).toBe(204);
    expect(await lastEvent('dav.unlock', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id, actor_user_id: x.hostStaff.id });

    // The partner's own staff act on their own documents: no arrangement is involved.
    expect((await dav(s.base, 'PROPPATCH', path, { user: x.partnerStaff, body: PROPPATCH, headers: { 'content-type': 'application/xml' } })).status).toBe(207);
    expect(await lastEvent('dav.proppatch', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'own_team', arrangement_id: null, actor_user_id: x.partnerStaff.id });
  });

  it('names the arrangement when a lock taken over WebDAV is released over REST by its holder', async () => {
    const x = await sharedService();
    const path = `/dav/${x.partner.slug}/finance/rates.txt`;
    expect((await dav(s.base, 'PUT', path, { user: x.partnerStaff, body: 'rates' })).status).toBe(201);
    const locked = await dav(s.base, 'LOCK', path, { user: x.hostStaff, headers: { timeout: 'Second-600' }, body: LOCKINFO });
    expect(locked.status).toBe(200);
    const token = locked.headers.get('lock-token')!.replace(/^<|>$/g, '');
    expect((await api(s.app, x.hostStaff).delete(`locks/${encodeURIComponent(token)}`)).statusCode).toBe(204);
    expect(await lastEvent('dav.unlock', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id, channel: 'api' });
  });

  it('names the arrangement in a partner’s folder move and delete over WebDAV', async () => {
    const x = await sharedService();
    const folder = `/dav/${x.partner.slug}/finance/Invoices`;
    expect((await dav(s.base, 'MKCOL', folder, { user: x.partnerStaff })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `${folder}/march.txt`, { user: x.partnerStaff, body: 'march' })).status).toBe(201);

    const moved = await dav(s.base, 'MOVE', folder, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.partner.slug}/finance/Paid` } });
    expect(moved.status, moved.body).toBe(201);
    expect(await lastEvent('collection.move', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id, channel: 'webdav' });

    expect((await dav(s.base, 'DELETE', `/dav/${x.partner.slug}/finance/Paid`, { user: x.hostStaff })).status).toBe(204);
    const deleted = await lastEvent('collection.delete', x.partner.id);
    expect(deleted).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id, actor_user_id: x.hostStaff.id });
    // Each document inside was deleted through the documents service, each with its own decision.
    expect(await lastEvent('document.delete', x.partner.id)).toMatchObject({ decision: 'allow', arrangement_id: x.arrangement.id });
  });

  it('names the arrangement in a partner’s folder move over REST', async () => {
    const x = await sharedService();
    const folder = await s.vault.collectionCreation.create(actorFor(await userOf(x.partnerStaff.id), { channel: 'api', clientAddress: null, requestId: null }),
      { organisationId: x.partner.id, parentId: x.partner.collections.finance!, name: 'Budgets', serviceArea: 'finance', classification: 'OFFICIAL' });
    const res = await api(s.app, x.hostStaff).patch(`collections/${folder.id}`, { name: 'Budgets 2026' });
    expect(res.statusCode, res.body).toBe(200);
    expect(await lastEvent('collection.move', x.partner.id)).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id, channel: 'api' });
  });

  it('names the arrangement when a WebDAV COPY with Overwrite replaces a partner’s document', async () => {
    const x = await sharedService();
    expect((await dav(s.base, 'PUT', `/dav/${x.partner.slug}/finance/a.txt`, { user: x.partnerStaff, body: 'a' })).status).toBe(201);
    expect((await dav(s.base, 'PUT', `/dav/${x.partner.slug}/finance/b.txt`, { user: x.partnerStaff, body: 'b' })).status).toBe(201);
    const copied = await dav(s.base, 'COPY', `/dav/${x.partner.slug}/finance/a.txt`, { user: x.hostStaff, headers: { destination: `${s.base}/dav/${x.partner.slug}/finance/b.txt`, overwrite: 'T' } });
    expect(copied.status, copied.body).toBe(204);
    const replaced = await lastEvent('document.delete', x.partner.id);
    expect(replaced).toMatchObject({ decision: 'allow', reason: 'arrangement', arrangement_id: x.arrangement.id });
    expect(replaced.targetIds).toMatchObject({ replaced: 'true' });
  });

  it('reaches only organisations an arrangement in force opens to the person’s team', async () => {
    const x = await sharedService();
    const outsideTeam = await x.host.user({ teams: ['hr'] });
    const asUser = async (id: string) => actorFor(await userOf(id), { channel: 'api', clientAddress: null, requestId: null });
    expect(await s.vault.access.reachableOrganisations(await asUser(x.hostStaff.id))).toEqual([x.partner.id]);
    expect(await s.vault.access.reachableOrganisations(await asUser(x.partnerStaff.id))).toEqual([x.host.id]);
    // The old count of "active arrangements" put the partner on this person's pages, though nothing there is theirs to see.
    expect(await s.vault.access.reachableOrganisations(await asUser(outsideTeam.id))).toEqual([]);
    const partnerLink = `href="/organisations/${x.partner.slug}"`;
    expect(await new FormClient(s.base).signIn(x.hostStaff.email)).toContain(partnerLink);
    expect(await new FormClient(s.base).signIn(outsideTeam.email)).not.toContain(partnerLink);
    await s.vault.arrangements.suspend(systemActor(), x.arrangement.id);
    expect(await s.vault.access.reachableOrganisations(await asUser(x.hostStaff.id))).toEqual([]);
    // WebDAV's root lists the person's own organisation only.
    const root = await dav(s.base, 'PROPFIND', '/dav/', { user: x.hostStaff, headers: { depth: '1' } });
    expect(root.status).toBe(207);
    expect(root.body).toContain(`/dav/${x.host.slug}/`);
    expect(root.body).not.toContain(`/dav/${x.partner.slug}/`);
  });

  it('asks decide() before creating an organisation or exporting an audit trail, and audits a refusal', async () => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const admin = await org.user({ roles: ['org_admin'] });
    const auditor = await org.user({ roles: ['auditor'] });
    const asUser = async (id: string) => actorFor(await userOf(id), { channel: 'api', clientAddress: null, requestId: null });

    const refused = await s.vault.organisations.addOrganisation(await asUser(admin.id), { slug: `made-${org.slug}`, name: 'Made up' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect((refused as DomainError).code).toBe('NOT_FOUND');
    const denial = await s.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'organisation.create').where('actor_user_id', '=', admin.id).executeTakeFirst();
    expect(denial).toMatchObject({ decision: 'deny', reason: 'other_organisation', arrangement_id: null });
    expect(await s.vault.store.repos.organisations.bySlug(`made-${org.slug}`)).toBeUndefined();

    const byAdmin = await s.vault.audit.proofs.exportOrganisation(await asUser(admin.id), org.id).catch((e: unknown) => e);
    expect((byAdmin as DomainError).code).toBe('NOT_FOUND');
    expect(await lastEvent('audit.export', org.id)).toMatchObject({ decision: 'deny', reason: 'role', actor_user_id: admin.id });
    const other = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const elsewhere = await s.vault.audit.proofs.exportOrganisation(await asUser(auditor.id), other.id).catch((e: unknown) => e);
    expect((elsewhere as DomainError).code).toBe('NOT_FOUND');
    expect(await lastEvent('audit.export', other.id)).toMatchObject({ decision: 'deny', reason: 'other_organisation', actor_user_id: auditor.id });

    const bundle = await s.vault.audit.proofs.exportOrganisation(await asUser(auditor.id), org.id);
    expect(bundle.organisationId).toBe(org.id);
    expect(await lastEvent('audit.export', org.id)).toMatchObject({ decision: 'allow', reason: 'role', actor_user_id: auditor.id });
    const created = await s.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'organisation.create').where('target_organisation_id', '=', org.id).executeTakeFirst();
    expect(created).toMatchObject({ decision: 'allow', reason: 'system' });
  });

  it('records the org admin’s decision, and the change in the ids, when people are administered', async () => {
    const org = await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } });
    const admin = await org.user({ roles: ['org_admin'] });
    const member = await org.user({ teams: ['finance'] });
    const people = new UsersAdminService({ store: s.vault.store, clock: s.vault.clock, access: s.vault.access, identity: s.vault.identity, userCreation: s.vault.userCreation, invitationKey: randomBytes(32) });
    const asUser = async (id: string) => actorFor(await userOf(id), { channel: 'web', clientAddress: null, requestId: null });
    const found = personBinding(await userOf(member.id));
    await people.update(await asUser(admin.id), member.id, { teams: ['finance', 'hr'] });
    const event = await lastEvent('user.update', org.id);
    expect(event).toMatchObject({ decision: 'allow', reason: 'org_admin', actor_user_id: admin.id });
    // With the person's state as the change found it and as it left it (docs/audit.md).
    expect(event.targetIds).toEqual({
      userId: member.id, roles: 'member', teams: 'finance+hr', clearance: 'OFFICIAL-SENSITIVE', before: found, binding: personBinding(await userOf(member.id)),
    });
    await people.setDisabled(await asUser(admin.id), member.id, true);
    expect(await lastEvent('user.disable', org.id)).toMatchObject({ decision: 'allow', reason: 'org_admin', actor_user_id: admin.id });

    // Another organisation's admin is refused as if the person did not exist, and audited.
    const stranger = await (await createOrganisation(s.vault, { areas: { finance: 'OFFICIAL' } })).user({ roles: ['org_admin'] });
    const refused = await people.update(await asUser(stranger.id), member.id, { teams: [] }).catch((e: unknown) => e);
    expect((refused as DomainError).code).toBe('NOT_FOUND');
    expect(await lastEvent('organisation.manage-users', org.id)).toMatchObject({ decision: 'deny', reason: 'other_organisation', actor_user_id: stranger.id });
  });

  async function userOf(id: string) {
    const user = await s.vault.identity.userById(id);
    if (!user) throw new Error(`no user ${id}`);
    return user;
  }
});
