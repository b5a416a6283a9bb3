// Read-only API tokens and WebDAV app passwords (CredentialScope 'read'): a payroll or reporting system that
// only pulls documents lists, reads, downloads and searches with one; everything that changes something
// (an upload, a new version, a rename, a move, a deletion, an arrangement step, switching someone off, making
// another credential, recording a retention event; over WebDAV PUT, DELETE, MOVE, MKCOL, PROPPATCH, LOCK) is
// refused by decide(), 403 with reason `credential_scope`, each refusal audited once, nothing changed. A
// full token of the same person does all of it, as every token made before scopes does. A database
// administrator who writes 'full' over a read token's scope (or 'read' over a full one's) breaks its seal: it
// signs nobody in, answered like an unknown token and audited `secrets_not_sealed`, as other tampered rows are.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/domain/audit/event.js';
import { systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd } from '../support/fixture.js';
import { fileCollectionUnder } from '../support/records.js';
import { DIALECTS, createPartnership, upload, type TestUser } from '../support/vault.js';
import { FormClient } from '../ui/support.js';
import { PROPFIND_ALL, createOrganisation, dav, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('read-only credentials on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  /** A read-only API token for the person, made as the CLI makes one. */
  async function readToken(user: TestUser): Promise<TestUser> {
    const { secret } = await s.vault.credentials.createCredential(systemActor(), user.id, 'api_token', 'reporting', 'read');
    return { ...user, token: secret };
  }

  const withAppPassword = (user: TestUser, appPassword: string): DavUser => ({ ...user, appPassword, basic: `Basic ${Buffer.from(`${user.email}:${appPassword}`).toString('base64')}` });

  const call = (user: { token: string }, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    s.app.inject({ method: method as 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${user.token}`, ...headers }, ...(payload === undefined ? {} : { payload: payload as string }) });

  /** The person's `credential_scope` refusals written since `before` (a count of all their events). */
  async function scopeRefusals(userId: string, before: number): Promise<Pick<AuditEvent, 'action' | 'reason' | 'channel'>[]> {
    return (await eventsOf(s.vault, userId)).slice(before).filter((e) => e.decision === 'deny').map((e) => ({ action: e.action, reason: e.reason, channel: e.channel }));
  }

  function refusedForScope(res: { statusCode: number; json(): unknown; body: string }): void {
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json()).toMatchObject({ type: 'https://strongroom.local/problems/forbidden', reason: 'credential_scope', detail: expect.stringContaining('This API token can only read') });
  }

  it('a read token lists, reads, downloads and searches; every change is refused 403 credential_scope, audited once, and nothing changes', async () => {
    const org = await createOrganisation(s.vault);
    const staff = await org.user({ teams: ['payroll', 'finance'] });
    // Made over REST by the person's full token, with the scope asked for; the listing shows each one's scope.
    const made = await call(staff, 'POST', '/me/tokens', { name: 'payroll export', scope: 'read' });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json()).toMatchObject({ scope: 'read' });
    const reader: TestUser = { ...staff, token: made.json<{ secret: string }>().secret };
    const listed = (await call(staff, 'GET', '/me/credentials')).json<{ credentials: { name: string; scope: string }[] }>().credentials;
    expect(listed.map((c) => [c.name, c.scope])).toEqual([['test', 'full'], ['payroll export', 'read']]);
    // Without a scope a token is full, as before.
    expect((await call(staff, 'POST', '/me/tokens', { name: 'laptop' })).json()).toMatchObject({ scope: 'full' });
    expect((await call(staff, 'POST', '/me/tokens', { name: 'odd', scope: 'admin' })).statusCode).toBe(400);

    const doc = (await upload(s.app, staff, org.collections.payroll!, 'payslips.csv', 'name,net\n')).json<{ id: string }>();
    expect((await call(reader, 'GET', '/collections')).statusCode).toBe(200);
    expect((await call(reader, 'GET', `/collections/${org.collections.payroll}`)).statusCode).toBe(200);
    expect((await call(reader, 'GET', `/documents/${doc.id}`)).statusCode).toBe(200);
    expect((await call(reader, 'GET', `/documents/${doc.id}/versions`)).statusCode).toBe(200);
    const content = await call(reader, 'GET', `/documents/${doc.id}/content`);
    expect(content.statusCode).toBe(200);
    expect(content.body).toBe('name,net\n');
    expect((await call(reader, 'GET', '/search?q=payslips')).statusCode).toBe(200);

    const before = (await eventsOf(s.vault, staff.id)).length;
    const octets = { 'content-type': 'application/octet-stream' };
    refusedForScope(await call(reader, 'POST', `/collections/${org.collections.payroll}/documents?name=new.csv`, 'a,b\n', octets));
    refusedForScope(await call(reader, 'PUT', `/documents/${doc.id}/content`, 'changed\n', octets));
    refusedForScope(await call(reader, 'PATCH', `/documents/${doc.id}`, { name: 'renamed.csv' }));
    refusedForScope(await call(reader, 'PATCH', `/documents/${doc.id}`, { collectionId: org.collections.finance }));
    refusedForScope(await call(reader, 'DELETE', `/documents/${doc.id}`));
    refusedForScope(await call(reader, 'POST', '/collections', { name: 'Exports', parentId: org.collections.payroll, serviceArea: 'payroll', classification: 'OFFICIAL' }));
    const sub = await s.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: org.collections.payroll!, name: 'Monthly', serviceArea: 'payroll', classification: 'OFFICIAL' });
    refusedForScope(await call(reader, 'PATCH', `/collections/${sub.id}`, { name: 'Renamed' }));
    // Making another credential from a read-only one would be an escalation.
    refusedForScope(await call(reader, 'POST', '/me/tokens', { name: 'escalated', scope: 'full' }));
    refusedForScope(await call(reader, 'POST', '/me/app-passwords', { name: 'escalated' }));

    expect(await scopeRefusals(staff.id, before)).toEqual([
      'document.create', 'document.version', 'document.rename', 'document.rename', 'document.delete', 'collection.create', 'document.delete' /* a folder's rename needs the level of deleting in it */,
      'person.manage-credentials', 'person.manage-credentials',
    ].map((action) => ({ action, reason: 'credential_scope', channel: 'api' })));
    const after = (await call(staff, 'GET', `/documents/${doc.id}`)).json<{ name: string; collectionId: string; version: number; deletedAt: string | null }>();
    expect(after).toMatchObject({ name: 'payslips.csv', collectionId: org.collections.payroll, version: 1, deletedAt: null });
    expect(await s.vault.store.db.selectFrom('documents').select('id').where('collection_id', '=', org.collections.payroll!).execute()).toEqual([{ id: doc.id }]);
    expect((await call(staff, 'GET', '/me/credentials')).json<{ credentials: unknown[] }>().credentials).toHaveLength(3);

    // The same person's full token does what the read one was refused.
    expect((await call(staff, 'PATCH', `/documents/${doc.id}`, { name: 'renamed.csv' })).statusCode).toBe(200);
    expect((await call(staff, 'DELETE', `/documents/${doc.id}`)).statusCode).toBe(204);
  });

  it('an org admin\'s or records manager\'s read token switches nobody off, steps no arrangement, records no retention event; their full tokens do', async () => {
    const { host, arrangement } = await createPartnership(s.vault, { accessLevel: 'read', ceiling: 'OFFICIAL' });
    const admin = await host.user({ roles: ['member', 'org_admin'], teams: ['payroll'] });
    const manager = await host.user({ roles: ['member', 'records_manager'], teams: ['payroll'] });
    const colleague = await host.user({ teams: ['payroll'] });
    const [adminReader, managerReader] = [await readToken(admin), await readToken(manager)];
    await fileCollectionUnder(s.vault, host.id, host.collections.payroll!, { code: `PAY-${randomUUID().slice(0, 6)}`, trigger: 'employment_end', retainYears: 6, serviceArea: 'payroll' });
    const doc = (await upload(s.app, colleague, host.collections.payroll!, 'leaver.txt', 'leaver\n')).json<{ id: string }>();
    const event = { kind: 'employment_end', date: '2025-09-30', documentIds: [doc.id] };

    const [adminBefore, managerBefore] = [(await eventsOf(s.vault, admin.id)).length, (await eventsOf(s.vault, manager.id)).length];
    refusedForScope(await call(adminReader, 'POST', `/users/${colleague.id}/disable`));
    refusedForScope(await call(adminReader, 'POST', `/arrangements/${arrangement.id}/suspend`));
    refusedForScope(await call(managerReader, 'POST', '/retention-events', event));
    expect(await scopeRefusals(admin.id, adminBefore)).toEqual([
      { action: 'organisation.manage-users', reason: 'credential_scope', channel: 'api' },
      { action: 'arrangement.suspend', reason: 'credential_scope', channel: 'api' },
    ]);
    expect(await scopeRefusals(manager.id, managerBefore)).toEqual([{ action: 'records.file-plan', reason: 'credential_scope', channel: 'api' }]);
    expect((await s.vault.identity.userById(colleague.id))!.disabled).toBe(false);
    expect((await s.vault.store.repos.arrangements.byId(arrangement.id))!.status).toBe('active');
    expect(await s.vault.store.repos.retention.eventsFor({ documentIds: [doc.id], collectionIds: [] })).toEqual([]);
    // Reading what their roles open still works.
    expect((await call(adminReader, 'GET', `/arrangements/${arrangement.id}`)).statusCode).toBe(200);

    expect((await call(managerReader, 'POST', '/retention-events', event)).statusCode).toBe(403);
    expect((await call(manager, 'POST', '/retention-events', event)).statusCode).toBe(201);
    expect((await call(admin, 'POST', `/arrangements/${arrangement.id}/suspend`)).statusCode).toBe(200);
    expect((await call(admin, 'POST', `/users/${colleague.id}/disable`)).statusCode).toBe(204);
  });

  it('a read-only app password GETs and PROPFINDs over WebDAV; PUT, DELETE, MOVE, COPY, MKCOL, PROPPATCH and LOCK are refused 403, audited once, nothing stored', async () => {
    const org = await createOrganisation(s.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const { secret } = await s.vault.credentials.createCredential(systemActor(), staff.id, 'app_password', 'payroll system', 'read');
    const reader = withAppPassword(staff, secret);
    await upload(s.app, staff, org.collections.payroll!, 'payslips.csv', 'name,net\n');
    const base = `/dav/${org.slug}/payroll`;
    const as = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => dav(s.base, method, path, { user: reader, headers, ...(body === undefined ? {} : { body }) });

    expect((await as('OPTIONS', `${base}/`)).status).toBe(200);
    expect((await as('PROPFIND', `${base}/`, { depth: '1', 'content-type': 'application/xml' }, PROPFIND_ALL)).status).toBe(207);
    const got = await as('GET', `${base}/payslips.csv`);
    expect(got.status).toBe(200);
    expect(got.body).toBe('name,net\n');

    const before = (await eventsOf(s.vault, staff.id)).length;
    const refused: [string, string, Record<string, string>, string?][] = [
      ['PUT', `${base}/new.csv`, {}, 'a,b\n'],
      ['PUT', `${base}/payslips.csv`, {}, 'changed\n'],
      ['DELETE', `${base}/payslips.csv`, {}],
      ['MOVE', `${base}/payslips.csv`, { destination: `${s.base}${base}/moved.csv` }],
      ['COPY', `${base}/payslips.csv`, { destination: `${s.base}${base}/copied.csv` }],
      ['MKCOL', `${base}/new-folder`, {}],
      ['PROPPATCH', `${base}/payslips.csv`, { 'content-type': 'application/xml' }, '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set><D:prop><Z:note>x</Z:note></D:prop></D:set></D:propertyupdate>'],
      ['LOCK', `${base}/payslips.csv`, { 'content-type': 'application/xml' }, '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>'],
    ];
    for (const [method, path, headers, body] of refused) {
      const res = await as(method, path, headers, body);
      expect(res.status, `${method} ${path}: ${res.body}`).toBe(403);
      expect(res.body, method).toContain('This app password can only read');
    }
    const refusals = await scopeRefusals(staff.id, before);
    expect(refusals).toHaveLength(refused.length);
    expect(refusals.every((r) => r.reason === 'credential_scope' && r.channel === 'webdav')).toBe(true);

    // A lock its person took with a full app password is neither refreshed nor released with the read-only one.
    await upload(s.app, staff, org.collections.payroll!, 'locked.csv', 'x\n');
    const fullPassword = (await s.vault.credentials.createCredential(systemActor(), staff.id, 'app_password', 'desktop')).secret;
    const writer = withAppPassword(staff, fullPassword);
    const locked = await dav(s.base, 'LOCK', `${base}/locked.csv`, { user: writer, headers: { 'content-type': 'application/xml' }, body: refused[7]![3]! });
    expect(locked.status).toBe(200);
    const lockToken = locked.headers.get('lock-token')!;
    const lockBefore = (await eventsOf(s.vault, staff.id)).length;
    const unlock = await as('UNLOCK', `${base}/locked.csv`, { 'lock-token': lockToken });
    expect(unlock.status, unlock.body).toBe(403);
    const refresh = await as('LOCK', `${base}/locked.csv`, { if: `(${lockToken})`, timeout: 'Second-60' });
    expect(refresh.status, refresh.body).toBe(403);
    expect(await scopeRefusals(staff.id, lockBefore)).toEqual([
      { action: 'document.version', reason: 'credential_scope', channel: 'webdav' },
      { action: 'document.version', reason: 'credential_scope', channel: 'webdav' },
    ]);
    expect((await dav(s.base, 'UNLOCK', `${base}/locked.csv`, { user: writer, headers: { 'lock-token': lockToken } })).status).toBe(204);

    const listing = await as('PROPFIND', `${base}/`, { depth: '1', 'content-type': 'application/xml' }, PROPFIND_ALL);
    expect(listing.body).not.toMatch(/new\.csv|moved\.csv|copied\.csv|new-folder/);
    expect((await as('GET', `${base}/payslips.csv`)).body).toBe('name,net\n');
    expect((await as('PROPFIND', `${base}/payslips.csv`, { depth: '0', 'content-type': 'application/xml' }, PROPFIND_ALL)).body).not.toContain('urn:x');
  });

  it('the account page offers the scope as radios (full unless chosen), makes a read-only token, and lists each one\'s access', async () => {
    const org = await createOrganisation(s.vault);
    const staff = await org.user({ teams: ['payroll'] });
    const browser = new FormClient(s.base);
    await browser.signIn(staff.email);
    const page = (await browser.get('/account')).text;
    expect(page).toMatch(/<input class="govuk-radios__input" id="scope" name="scope" type="radio" value="full" checked/);
    expect(page).toMatch(/name="scope" type="radio" value="read"/);
    const created = await browser.post('/account/credentials', { _csrf: FormClient.csrf(page), kind: 'api_token', scope: 'read', name: 'reporting' });
    expect(created.status).toBe(200);
    expect(created.text).toContain('Your new read-only API token "reporting"');
    const secret = /id="new-secret">([^<]+)</.exec(created.text)![1]!;
    const rows = [...(await browser.get('/account')).text.matchAll(/<td class="govuk-table__cell">([^<]+)<\/td><td class="govuk-table__cell">(API token|App password \(WebDAV\))<\/td>\s*<td class="govuk-table__cell">(Full|Read only)<\/td>/g)].map((m) => [m[1], m[3]]);
    expect(rows).toEqual([['test', 'Full'], ['reporting', 'Read only']]);
    expect((await call({ token: secret }, 'GET', '/me')).statusCode).toBe(200);
    refusedForScope(await call({ token: secret }, 'POST', '/me/tokens', { name: 'escalated' }));

    // A scope the page does not offer is refused on the form (400), as the API refuses it, never made full.
    for (const odd of ['Read', 'read-only', 'admin']) {
      const refused = await browser.post('/account/credentials', { _csrf: FormClient.csrf(page), kind: 'api_token', scope: odd, name: 'scripted' });
      expect(refused.status, odd).toBe(400);
      expect(refused.text).toContain('The scope must be one of full, read.');
    }
    const listed = await s.vault.credentials.listCredentials(systemActor(), staff.id);
    expect(listed.map((c) => [c.name, c.scope])).toEqual([['test', 'full'], ['reporting', 'read']]);
    // Without one (a form from before scopes) it is full, the default.
    const unscoped = await browser.post('/account/credentials', { _csrf: FormClient.csrf(page), kind: 'api_token', name: 'laptop' });
    expect(unscoped.status).toBe(200);
    expect(unscoped.text).toContain('Your new API token "laptop"');
  });

  it('a scope written in the database by hand breaks the credential\'s seal: it signs nobody in, like an unknown token, until put back', async () => {
    const org = await createOrganisation(s.vault);
    const admin = await org.user({ roles: ['member', 'org_admin'], teams: ['payroll'] });
    const reader = await readToken(admin);
    const db = s.vault.store.db;
    const me = (user: { token: string }) => call(user, 'GET', '/me');
    const unknown = await me({ token: 'srt_never-issued-to-anyone' });
    expect(unknown.statusCode).toBe(401);
    expect((await me(reader)).statusCode).toBe(200);
    const rows = await db.selectFrom('credentials').select(['id', 'scope']).where('user_id', '=', admin.id).orderBy('created_at').execute();
    expect(rows.map((r) => r.scope)).toEqual(['full', 'read']);
    const [full, read] = [rows[0]!, rows[1]!];
    const readSeal = (await db.selectFrom('credentials').select('seal').where('id', '=', read.id).executeTakeFirstOrThrow()).seal;

    // Read-only upgraded to full by the database administrator: no longer a credential at all.
    await db.updateTable('credentials').set({ scope: 'full' }).where('id', '=', read.id).execute();
    const upgraded = await me(reader);
    expect([upgraded.statusCode, upgraded.headers['www-authenticate']]).toEqual([unknown.statusCode, unknown.headers['www-authenticate']]);
    expect((await call(reader, 'POST', `/users/${admin.id}/disable`)).statusCode).toBe(401);
    // With the full token's seal copied over as well (what a full row's seal looks like): still no.
    const fullSeal = (await db.selectFrom('credentials').select('seal').where('id', '=', full.id).executeTakeFirstOrThrow()).seal;
    await db.updateTable('credentials').set({ seal: fullSeal }).where('id', '=', read.id).execute();
    expect((await me(reader)).statusCode).toBe(401);
    // A scope Strongroom never writes, with either seal, is no credential either (and would be taken as read).
    for (const odd of ['FULL', 'full ', 'Read', 'admin', '']) {
      for (const seal of [readSeal, fullSeal]) {
        await db.updateTable('credentials').set({ scope: odd, seal }).where('id', '=', read.id).execute();
        expect((await me(reader)).statusCode, JSON.stringify(odd)).toBe(401);
      }
    }
    // A full token written down to read is no longer sealed either.
    await db.updateTable('credentials').set({ scope: 'read' }).where('id', '=', full.id).execute();
    expect((await me(admin)).statusCode).toBe(401);
    const sealRefusals = (await db.selectFrom('audit_events').select(['reason', 'target_ids']).where('action', '=', 'auth.credential').where('decision', '=', 'deny').execute())
      .filter((e) => (JSON.parse(e.target_ids) as Record<string, string>).userId === admin.id).map((e) => e.reason);
    expect(sealRefusals).toEqual(Array(14).fill('secrets_not_sealed'));

    // Put back as Strongroom wrote them, both work again.
    await db.updateTable('credentials').set({ scope: 'full' }).where('id', '=', full.id).execute();
    expect((await me(admin)).statusCode).toBe(200);
    await db.updateTable('credentials').set({ scope: 'read', seal: readSeal }).where('id', '=', read.id).execute();
    expect((await me(reader)).statusCode).toBe(200);
  });
});
