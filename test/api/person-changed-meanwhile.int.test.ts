// A change decided before its transaction is decided again inside it on the person as that transaction reads them
// (AccessService.requireWithin): a team taken away, clearance lowered, the person switched off, or the API token or
// app password they came with revoked between the request's first decision and its transaction refuses the change.
// Each case: the change to the person lands in that moment (test/support/meanwhile.ts; for a copy, just after its
// own re-reading of the person, before its transaction); the answer is exact (404 as for an unknown id once their
// access is gone, 401 once they no longer stand), the refusal is their only deny event, and nothing changed.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Classification } from '../../src/domain/types.js';
import { actorFor, hashSecret, systemActor } from '../../src/services/identity.service.js';
import { eventsOf } from '../support/audit-log.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { beforeNextTransaction, changePerson } from '../support/meanwhile.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { dav, davUser } from '../webdav/support.js';

const clamd = useClamd();
const WEB = { channel: 'web' as const, clientAddress: null, requestId: null };

describe.each(DIALECTS)('a change decided again on its person as the transaction reads them, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  const base = () => `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  afterEach(() => vi.restoreAllMocks());

  /** A council with two OFFICIAL-SENSITIVE areas, an org admin, and a member of both teams. */
  async function council(): Promise<{ org: TestOrganisation; admin: TestUser; person: TestUser }> {
    const org = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL-SENSITIVE', finance: 'OFFICIAL-SENSITIVE' } });
    const admin = await org.user({ roles: ['org_admin'] });
    const person = await org.user({ teams: ['hr', 'finance'], clearance: 'OFFICIAL-SENSITIVE' });
    return { org, admin, person };
  }

  async function file(user: TestUser, collectionId: string, name: string): Promise<string> {
    const res = await upload(t.app, user, collectionId, name, `${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  /** What an org admin changes of `person`, as an admin would. */
  async function adminChanges(adminId: string, personId: string, change: { teams?: string[]; clearance?: Classification }): Promise<void> {
    await t.vault.people.update(actorFor((await t.vault.identity.userById(adminId))!, WEB), personId, change);
  }

  /** The person revokes the credential whose secret is `secret`, as they would on their account page. */
  async function revoke(personId: string, secret: string): Promise<void> {
    const found = await t.vault.store.repos.users.credentialBySecretHash(hashSecret(secret));
    await t.vault.credentials.revokeCredential(actorFor((await t.vault.identity.userById(personId))!, WEB), found!.credential.id);
  }

  const denials = async (userId: string) =>
    (await eventsOf(t.vault, userId, { deny: true })).map((e) => ({ action: e.action, reason: e.reason, ids: e.targetIds }));

  it('refuses a document move by a person whose team that allowed it was taken away (404), audited once, the document not moved', async () => {
    const { org, admin, person } = await council();
    const documentId = await file(person, org.collections.hr!, 'contract.txt');
    const meanwhile = beforeNextTransaction(t.vault.store, () => adminChanges(admin.id, person.id, { teams: ['finance'] }));
    const res = await api(t.app, person).patch(`documents/${documentId}`, { collectionId: org.collections.finance! });
    expect(meanwhile.ran()).toBe(true);
    expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 404, detail: 'No document with that id exists, or you do not have access to it.' });
    expect((await t.vault.store.repos.documents.byId(documentId))?.collectionId).toBe(org.collections.hr);
    expect(await denials(person.id)).toEqual([{ action: 'document.rename', reason: 'not_in_team', ids: { documentId } }]);
  });

  it('refuses a rename by a person whose clearance was lowered below the document’s (404), audited once, the name kept', async () => {
    const { org, admin, person } = await council();
    const documentId = await file(person, org.collections.hr!, 'grievance.txt');
    const meanwhile = beforeNextTransaction(t.vault.store, () => adminChanges(admin.id, person.id, { clearance: 'OFFICIAL' }));
    const res = await api(t.app, person).patch(`documents/${documentId}`, { name: 'renamed.txt' });
    expect(meanwhile.ran()).toBe(true);
    expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 404, detail: 'No document with that id exists, or you do not have access to it.' });
    expect((await t.vault.store.repos.documents.byId(documentId))?.name).toBe('grievance.txt');
    expect(await denials(person.id)).toEqual([{ action: 'document.rename', reason: 'clearance', ids: { documentId } }]);
  });

  it('refuses a folder move by a person switched off (401, account_disabled), the folder not moved', async () => {
    const { org, admin, person } = await council();
    const made = await api(t.app, person).post('collections', { parentId: org.collections.hr!, name: 'Cases 2026', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' });
    expect(made.statusCode, made.body).toBe(201);
    const folderId = made.json().id as string;
    const archive = await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: org.collections.hr!, name: 'Archive', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' });
    const meanwhile = beforeNextTransaction(t.vault.store, () => changePerson(t.vault, admin.id, person.id, 'switched off'));
    const res = await api(t.app, person).patch(`collections/${folderId}`, { parentId: archive.id });
    expect(meanwhile.ran(), res.body).toBe(true);
    expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 401, detail: 'Your account was switched off while this was being sent, so nothing was saved.' });
    expect((await t.vault.store.repos.collections.byId(folderId))?.parentId).toBe(org.collections.hr);
    expect(await denials(person.id)).toEqual([{ action: 'collection.move', reason: 'account_disabled', ids: { collectionId: folderId, insideCollectionId: folderId } }]);
  });

  it('stores no copy for a person whose API token was revoked after the copy last read them (401): no document, no blob', async () => {
    const { org, person } = await council();
    const documentId = await file(person, org.collections.hr!, 'payslip.txt');
    const blobsBefore = await blobFilesUnder(join(t.dataDir, 'blobs'));
    // Just after the copy read the person again (actorNow, once its bytes were read), before its transaction.
    const actorNow = t.vault.identity.actorNow.bind(t.vault.identity);
    let revoked = false;
    vi.spyOn(t.vault.identity, 'actorNow').mockImplementation(async (...args) => {
      const now = await actorNow(...args);
      await revoke(person.id, person.token);
      revoked = true;
      return now;
    });
    const res = await api(t.app, person).post(`documents/${documentId}/copy`, { collectionId: org.collections.finance! });
    expect(revoked).toBe(true);
    expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 401, detail: 'The API token this was sent with was revoked while it was being sent, so nothing was saved.' });
    expect(await t.vault.store.db.selectFrom('documents').select('id').where('collection_id', '=', org.collections.finance!).execute()).toEqual([]);
    expect(await blobFilesUnder(join(t.dataDir, 'blobs'))).toBe(blobsBefore);
    expect(await denials(person.id)).toEqual([{ action: 'document.download', reason: 'credential_revoked', ids: { documentId } }]);
  });

  it('refuses a WebDAV MOVE by a person whose app password was revoked (401), the document where it was', async () => {
    const { org } = await council();
    const person = await davUser(t.vault, org, { teams: ['hr', 'finance'], clearance: 'OFFICIAL-SENSITIVE' });
    const documentId = await file(person, org.collections.hr!, 'minutes.txt');
    const root = `/dav/${org.slug}`;
    const meanwhile = beforeNextTransaction(t.vault.store, () => revoke(person.id, person.appPassword));
    const res = await dav(base(), 'MOVE', `${root}/hr/minutes.txt`, { user: person, headers: { destination: `${base()}${root}/finance/minutes.txt` } });
    expect(meanwhile.ran()).toBe(true);
    expect({ status: res.status, body: res.body }).toEqual({ status: 401, body: 'The app password this was sent with was revoked while it was being sent, so nothing was saved.\n' });
    expect((await t.vault.store.repos.documents.byId(documentId))?.collectionId).toBe(org.collections.hr);
    expect(await denials(person.id)).toEqual([{ action: 'document.rename', reason: 'credential_revoked', ids: { documentId } }]);
  });
});
