// An attack review of read-only credentials: the read-only API token of a person who holds every role of
// their organisation (org admin, security admin, records manager, auditor, DPO) is sent to every REST route that
// changes something, each with a body that would be accepted from the same person's full token, and every
// WebDAV method that writes, the lock-null LOCK and a write with an If header among them. Each is refused
// 403 `credential_scope` and nothing changes: no document, collection, hold, series, arrangement, request,
// batch, lock, credential or person. What only reads (the audit log, the register, the quarantine list)
// still works.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { fileCollectionUnder } from '../support/records.js';
import * as samples from '../support/samples.js';
import { DIALECTS, createPartnership, upload, type TestUser } from '../support/vault.js';
import { PROPFIND_ALL, dav, openDavServer, type DavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();
const EVERY_ROLE = ['member', 'org_admin', 'security_admin', 'records_manager', 'auditor', 'dpo'];
const LOCKINFO = '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';

describe.each(DIALECTS)('a read-only credential of someone with every role on %s', (dialect) => {
  let s: DavServer;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
  });
  afterAll(async () => {
    await s?.close();
  });

  const call = (user: { token: string }, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    s.app.inject({ method: method as 'GET', url: `/api/v1${url}`, headers: { authorization: `Bearer ${user.token}`, ...headers }, ...(payload === undefined ? {} : { payload: payload as string }) });

  /** Every row of the tables a change would touch, so "nothing changed" is checked whole. */
  async function state(): Promise<string> {
    const db = s.vault.store.db;
    const tables = ['documents', 'versions', 'collections', 'legal_holds', 'legal_hold_items', 'record_series', 'retention_events', 'arrangements', 'subject_access_requests',
      'disposal_batches', 'disposal_items', 'resource_locks', 'credentials', 'users', 'dead_properties', 'group_mappings', 'subject_access_parts',
      'subject_access_items', 'arrangement_parties', 'arrangement_revisions', 'disposal_certificates', 'jobs', 'notifications', 'sessions', 'invitations', 'scim_tokens',
      'identity_providers', 'organisation_email_domains', 'mail_preferences', 'upload_slots', 'orphan_blob_candidates', 'account_notices'] as const;
    const out: Record<string, unknown> = {};
    for (const table of tables) out[table] = await db.selectFrom(table as 'documents').selectAll().execute();
    return JSON.stringify(out);
  }

  it('is refused every change over REST, 403 credential_scope, and nothing changes', async () => {
    const { host, partner, arrangement } = await createPartnership(s.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', areas: { payroll: 'OFFICIAL', finance: 'OFFICIAL', hr: 'OFFICIAL' } });
    const boss = await host.user({ roles: EVERY_ROLE, teams: ['payroll', 'finance', 'hr'] });
    const colleague = await host.user({ teams: ['payroll'] });
    const { secret } = await s.vault.credentials.createCredential(systemActor(), boss.id, 'api_token', 'reporting', 'read');
    const reader: TestUser = { ...boss, token: secret };
    const fullId = (await call(boss, 'GET', '/me/credentials')).json<{ credentials: { id: string; name: string }[] }>().credentials.find((c) => c.name === 'test')!.id;

    // What the changes would act on, made with the full token.
    await fileCollectionUnder(s.vault, host.id, host.collections.hr!, { code: `HR-${randomUUID().slice(0, 6)}`, trigger: 'created', retainYears: 0, action: 'destroy', serviceArea: 'hr' });
    const doc = (await upload(s.app, boss, host.collections.finance!, 'budget.csv', 'a,b\n')).json<{ id: string }>();
    const binned = (await upload(s.app, boss, host.collections.finance!, 'old.csv', 'x\n')).json<{ id: string }>();
    expect((await call(boss, 'DELETE', `/documents/${binned.id}`)).statusCode).toBe(204);
    const due = (await upload(s.app, boss, host.collections.hr!, 'applicant.txt', 'cv\n')).json<{ id: string }>();
    const infected = await upload(s.app, boss, host.collections.finance!, 'eicar.com.txt', samples.eicar());
    const hold = (await call(boss, 'POST', '/holds', { name: 'Smith v Council', reason: 'Employment tribunal claim' })).json<{ id: string }>();
    expect(hold.id).toBeTruthy();
    const batch = await call(boss, 'POST', '/disposal/batches', {});
    expect(batch.statusCode, batch.body).toBe(201);
    const batchId = batch.json<{ id: string }>().id;
    await fileCollectionUnder(s.vault, host.id, host.collections.payroll!, { code: `PAY-${randomUUID().slice(0, 6)}`, trigger: 'employment_end', retainYears: 6, serviceArea: 'payroll' });
    const leaver = (await upload(s.app, boss, host.collections.payroll!, 'leaver.txt', 'leaver\n')).json<{ id: string }>();
    const event = await call(boss, 'POST', '/retention-events', { kind: 'employment_end', date: '2025-09-30', documentIds: [leaver.id] });
    expect(event.statusCode, event.body).toBe(201);
    const eventId = event.json<{ events: { id: string }[] }>().events[0]!.id;
    const sar = await call(boss, 'POST', '/subject-access', { subjectName: 'A Person', receivedOn: '2026-11-02' });
    expect(sar.statusCode, sar.body).toBe(201);
    const sarId = sar.json<{ id: string }>().id;
    const series = (await call(boss, 'GET', '/series')).json<{ series: { code: string }[] }>().series[0]!.code;
    const draft = await call(boss, 'POST', '/arrangements', {
      partners: [partner.slug], serviceArea: 'finance', purpose: 'Shared finance', lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    expect(draft.statusCode, draft.body).toBe(201);
    const draftId = draft.json<{ id: string }>().id;

    // Quarantine reads work; releasing and destroying do not.
    const quarantine = await call(reader, 'GET', '/quarantine');
    expect(quarantine.statusCode, quarantine.body).toBe(200);
    const versionId = quarantine.json<{ items: { versionId: string }[] }>().items[0]?.versionId ?? infected.json<{ versionId?: string }>().versionId ?? 'none';
    expect((await call(reader, 'GET', '/audit/events')).statusCode).toBe(200);
    expect((await call(reader, 'GET', `/arrangements/${arrangement.id}`)).statusCode).toBe(200);
    expect((await call(reader, 'GET', '/holds')).statusCode).toBe(200);
    expect((await call(reader, 'GET', `/disposal/batches/${batchId}`)).statusCode).toBe(200);

    const before = await state();
    const refused: [string, string, unknown?][] = [
      ['POST', `/documents/${doc.id}/copy`, { collectionId: host.collections.payroll }],
      ['POST', `/documents/${doc.id}/classification`, { classification: 'OFFICIAL-SENSITIVE', reason: 'It names people' }],
      ['POST', `/documents/${binned.id}/restore`],
      ['DELETE', `/me/credentials/${fullId}`],
      ['POST', '/holds', { name: 'Jones v Council', reason: 'Another tribunal claim' }],
      ['POST', `/holds/${hold.id}/items`, { documentIds: [doc.id] }],
      ['POST', `/holds/${hold.id}/release`, { reason: 'The claim was settled' }],
      ['POST', `/users/${colleague.id}/disable`],
      ['POST', `/users/${colleague.id}/reset-mfa`],
      ['POST', '/subject-access', { subjectName: 'B Person', receivedOn: '2026-11-02' }],
      ['POST', `/subject-access/${sarId}/items`, { documentIds: [doc.id] }],
      ['POST', `/subject-access/${sarId}/searched`, { searched: true }],
      ['POST', `/subject-access/${sarId}/extend`, { reason: 'The request is complex' }],
      ['POST', `/subject-access/${sarId}/close`, { outcome: 'withdrawn', note: 'The person withdrew it' }],
      ['POST', '/arrangements', { partners: [partner.slug], serviceArea: 'hr', purpose: 'Shared HR', lawfulBasis: 'LGA 1972 s.101', accessLevel: 'read', ceiling: 'OFFICIAL' }],
      ['PATCH', `/arrangements/${draftId}`, { purpose: 'Changed' }],
      ['POST', `/arrangements/${arrangement.id}/end`],
      ['POST', `/arrangements/${arrangement.id}/workspace`, { name: 'Joint' }],
      ['POST', '/series', { code: 'NEW-1', title: 'New', serviceArea: 'hr', trigger: 'created', retainYears: 1, action: 'destroy', authority: 'Test' }],
      ['PATCH', `/series/${series}`, { retainYears: 99, reason: 'Longer' }],
      ['PUT', `/organisations/${host.slug}/group-mappings`, { mappings: [] }],
      ['POST', `/quarantine/${versionId}/release`, { reason: 'It is a test file, not a virus' }],
      ['POST', `/quarantine/${versionId}/destroy`],
      ['POST', '/disposal/batches', {}],
      ['POST', `/disposal/batches/${batchId}/decisions`, { items: [{ documentId: due.id, decision: 'destroy' }] }],
      ['POST', `/disposal/batches/${batchId}/approve`],
      ['POST', '/collections', { name: 'Exports', serviceArea: 'finance', classification: 'OFFICIAL' }],
      ['POST', '/retention-events', { kind: 'employment_end', date: '2025-10-31', documentIds: [leaver.id] }],
      ['DELETE', `/retention-events/${eventId}`],
    ];
    const answers: string[] = [];
    for (const [method, url, body] of refused) {
      const res = await call(reader, method, url, body);
      const reason = res.statusCode === 403 ? (res.json<{ reason?: string }>().reason ?? '') : '';
      answers.push(`${method} ${url.replace(/[0-9a-f-]{36}/g, ':id')} ${res.statusCode} ${reason}${res.statusCode === 403 ? '' : ` ${res.body.slice(0, 200)}`}`);
    }
    expect(answers.filter((a) => !/ 403 credential_scope$/.test(a))).toEqual([]);
    expect(await state()).toBe(before);
  });

  it('is refused every WebDAV write, the lock-null LOCK, a PUT with its person\'s lock in an If header, folder COPY, MOVE and DELETE among them, and nothing changes', async () => {
    const { host } = await createPartnership(s.vault, { accessLevel: 'read', ceiling: 'OFFICIAL' });
    const boss = await host.user({ roles: EVERY_ROLE, teams: ['payroll', 'finance', 'hr'] });
    const basic = (secret: string): DavUser => ({ ...boss, appPassword: secret, basic: `Basic ${Buffer.from(`${boss.email}:${secret}`).toString('base64')}` });
    const reader = basic((await s.vault.credentials.createCredential(systemActor(), boss.id, 'app_password', 'sync', 'read')).secret);
    const writer = basic((await s.vault.credentials.createCredential(systemActor(), boss.id, 'app_password', 'desktop')).secret);
    await upload(s.app, boss, host.collections.payroll!, 'payslips.csv', 'name,net\n');
    await upload(s.app, boss, host.collections.payroll!, 'other.csv', 'other\n');
    await s.vault.collectionCreation.create(systemActor(), { organisationId: host.id, parentId: host.collections.payroll!, name: 'Monthly', serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' });
    const base = `/dav/${host.slug}`;
    const locked = await dav(s.base, 'LOCK', `${base}/payroll/payslips.csv`, { user: writer, headers: { 'content-type': 'application/xml' }, body: LOCKINFO });
    expect(locked.status).toBe(200);
    const token = locked.headers.get('lock-token')!;
    const xml = { 'content-type': 'application/xml' };
    const proppatch = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x"><D:set><D:prop><Z:note>x</Z:note></D:prop></D:set></D:propertyupdate>';

    expect((await dav(s.base, 'PROPFIND', `${base}/payroll/`, { user: reader, headers: { depth: '1', ...xml }, body: PROPFIND_ALL })).status).toBe(207);
    const before = await state();
    const refused: [string, string, Record<string, string>, string?][] = [
      ['LOCK', `${base}/payroll/new-name.csv`, xml, LOCKINFO],
      ['PUT', `${base}/payroll/payslips.csv`, { if: `(${token})` }, 'changed\n'],
      ['PUT', `${base}/payroll/Monthly/new.csv`, {}, 'new\n'],
      ['COPY', `${base}/payroll/payslips.csv`, { destination: `${s.base}${base}/finance/payslips.csv` }],
      ['COPY', `${base}/payroll/Monthly/`, { destination: `${s.base}${base}/payroll/Monthly%20copy/`, depth: 'infinity' }],
      ['MOVE', `${base}/payroll/Monthly/`, { destination: `${s.base}${base}/payroll/Renamed/` }],
      ['MOVE', `${base}/payroll/other.csv`, { destination: `${s.base}${base}/payroll/payslips.csv`, overwrite: 'T', if: `<${s.base}${base}/payroll/payslips.csv> (${token})` }],
      ['DELETE', `${base}/payroll/Monthly/`, {}],
      ['MKCOL', `${base}/payroll/Monthly/Sub`, {}],
      ['MKCOL', `${base}/top-level`, {}],
      ['PROPPATCH', `${base}/payroll/Monthly/`, xml, proppatch],
      ['LOCK', `${base}/payroll/Monthly/`, { ...xml, depth: 'infinity' }, LOCKINFO],
      ['LOCK', `${base}/payroll/payslips.csv`, { if: `(${token})`, timeout: 'Second-60' }],
      ['UNLOCK', `${base}/payroll/payslips.csv`, { 'lock-token': token }],
    ];
    const answers: string[] = [];
    for (const [method, path, headers, body] of refused) {
      const res = await dav(s.base, method, path, { user: reader, headers, ...(body === undefined ? {} : { body }) });
      answers.push(`${method} ${path} ${res.status}${res.status === 403 && res.body.includes('This app password can only read') ? '' : ` ${res.body.slice(0, 200)}`}`);
    }
    expect(answers.filter((a) => !/ 403$/.test(a))).toEqual([]);
    expect(await state()).toBe(before);
    expect((await dav(s.base, 'UNLOCK', `${base}/payroll/payslips.csv`, { user: writer, headers: { 'lock-token': token } })).status).toBe(204);
  });
});
