// Legal holds in the web interface, as a records manager uses them: place a document on a new hold
// from its page, see it in the register, find the delete refused with the hold named, release the
// hold with a reason (refused without one), and the document can be deleted again.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, auth, createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('legal holds in the web interface on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  it('places, shows, refuses with the hold named, and releases only with a reason', async () => {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const manager = await addPerson(t.vault, org.slug, { roles: ['records_manager'] });
    const secret = await enrolTotp(t.vault, manager.id);
    const member = await addPerson(t.vault, org.slug, { teams: ['finance'] });
    const staff = await org.user({ teams: ['finance'] });
    const doc = (await upload(t.app, staff, org.collections.finance!, 'contract.txt', 'terms\n')).json();

    const rm = new FormClient(base);
    const home = await rm.signIn(manager.email, undefined, secret);
    expect(home).toContain('href="/holds"');
    const docPage = await rm.get(`/documents/${doc.id}`);
    expect(docPage.text).toContain(`href="/holds/place?document=${doc.id}"`);
    const form = await rm.get(`/holds/place?document=${doc.id}`);
    expect(form.status).toBe(200);
    const placed = await rm.post('/holds/place', { _csrf: FormClient.csrf(form.text), documentId: doc.id, holdId: 'new', name: 'Jones v Council', reason: 'County court claim about the contract', reference: 'CC-99' });
    expect(placed.status, placed.text.slice(0, 400)).toBe(303);
    const holdUrl = placed.location!.split('?')[0]!;
    const holdPage = await rm.get(holdUrl);
    expect(holdPage.text).toContain('Jones v Council');
    expect(holdPage.text).toContain('contract.txt');
    expect((await rm.get('/holds')).text).toContain('Jones v Council');

    // A member sees the hold on the page, is not offered Delete, and a forged delete is refused with the hold named.
    const m = new FormClient(base);
    await m.signIn(member.email);
    const memberView = await m.get(`/documents/${doc.id}`);
    expect(memberView.text).toContain('Jones v Council');
    expect(memberView.text).not.toContain(`action="/documents/${doc.id}/delete"`);
    expect(memberView.text).not.toContain('/holds/place');
    const refused = await m.post(`/documents/${doc.id}/delete`, { _csrf: FormClient.csrf(memberView.text) });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('under legal hold “Jones v Council”');
    // The register is for records managers, auditors and DPOs.
    expect((await m.get('/holds')).status).toBe(404);

    // Release: refused without a reason, then done with one.
    const noReason = await rm.post(`${holdUrl}/release`, { _csrf: FormClient.csrf(holdPage.text), reason: '' });
    expect(noReason.status).toBe(400);
    expect(noReason.text).toContain('Give the reason for releasing this hold.');
    const released = await rm.post(`${holdUrl}/release`, { _csrf: FormClient.csrf(holdPage.text), reason: 'Claim withdrawn by the claimant' });
    expect(released.status).toBe(303);
    expect((await rm.get(holdUrl)).text).toContain('Claim withdrawn by the claimant');
    const after = await m.get(`/documents/${doc.id}`);
    expect(after.text).toContain(`action="/documents/${doc.id}/delete"`);
    expect((await m.post(`/documents/${doc.id}/delete`, { _csrf: FormClient.csrf(after.text) })).status).toBe(303);
  });

  it('places no hold when what it is for is refused: the hold and what it covers are one change, on the page and over REST', async () => {
    const org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const other = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    const manager = await addPerson(t.vault, org.slug, { roles: ['records_manager'] });
    const secret = await enrolTotp(t.vault, manager.id);
    const staff = await org.user({ teams: ['finance'] });
    const doc = (await upload(t.app, staff, org.collections.finance!, 'contract.txt', 'terms\n')).json();
    const theirs = (await upload(t.app, await other.user({ teams: ['finance'] }), other.collections.finance!, 'theirs.txt', 'not ours\n')).json();

    const rm = new FormClient(base);
    await rm.signIn(manager.email, undefined, secret);
    const form = await rm.get(`/holds/place?document=${doc.id}`);
    const fields = { _csrf: FormClient.csrf(form.text), holdId: 'new', name: 'Patel v Council', reason: 'Employment tribunal claim', reference: 'ET-1' };
    // Another organisation's document, and a folder that is not there: refused as not there, and no hold is placed.
    expect((await rm.post('/holds/place', { ...fields, documentId: theirs.id })).status).toBe(404);
    expect((await rm.post('/holds/place', { ...fields, collectionId: randomUUID() })).status).toBe(404);
    expect(await t.vault.store.repos.holds.list(org.id)).toEqual([]);
    expect((await rm.get('/holds')).text).not.toContain('Patel v Council');
    // A bad reason is shown in the error summary with what was typed kept, and nothing is placed either.
    const short = await rm.post('/holds/place', { ...fields, documentId: doc.id, reason: 'Tribunal' });
    expect(short.status).toBe(400);
    expect(short.text).toContain('govuk-error-summary');
    expect(short.text).toContain('Give the reason for this hold (at least 10 characters).');
    expect(short.text).toContain('value="Patel v Council"');
    expect(await t.vault.store.repos.holds.list(org.id)).toEqual([]);

    // Over REST: a hold placed with what it covers in one request, all or nothing.
    const rest = await org.user({ roles: ['records_manager'] });
    const post = (body: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/holds', headers: { ...auth(rest), 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    expect((await post({ name: 'Patel v Council', reason: 'Employment tribunal claim', documentIds: [doc.id, theirs.id] })).statusCode).toBe(404);
    expect(await t.vault.store.repos.holds.list(org.id)).toEqual([]);

    // Allowed: placed over the document at once.
    const placed = await rm.post('/holds/place', { ...fields, documentId: doc.id });
    expect(placed.status, placed.text.slice(0, 400)).toBe(303);
    expect(placed.location).toMatch(/\/holds\/[0-9a-f-]{36}\?done=placed$/);
    const [hold] = await t.vault.store.repos.holds.list(org.id);
    expect((await t.vault.store.repos.holds.items(hold!.id)).map((i) => i.documentId)).toEqual([doc.id]);
  });
});
