// The disposal review pages: a records manager runs a sweep, decides each record (a bad extension is
// shown as a GOV.UK error and changes nothing), and approves; others are not offered the pages. A records
// manager proposes a binned record for early destruction from its page; nobody else is offered the button.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../src/domain/types.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { HR_03, fileCollectionUnder, placeHold, recordEvent, releaseHold, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('disposal review pages on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  /** A second records manager of the organisation is offered the batch's approval on its page, and approves it. */
  async function expectApprovedByAnother(slug: string, batchUrl: string): Promise<void> {
    const second = await addPerson(t.vault, slug, { roles: ['records_manager'], teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(second.email, undefined, await enrolTotp(t.vault, second.id));
    const theirs = await client.get(batchUrl);
    expect(theirs.text).toContain('Approve this batch');
    expect(theirs.text).not.toContain('Another records manager must approve');
    expect((await client.post(`${batchUrl}/approve`, { _csrf: FormClient.csrf(theirs.text) })).status).toBe(303);
    expect((await t.vault.store.repos.disposal.batch(batchUrl.slice('/disposal/'.length)))).toMatchObject({ status: 'approved', approvedBy: second.id });
  }

  it('lets the records manager sweep, decide and approve through the pages; a member is not offered them', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const staff = await org.user({ teams: ['hr'] });
    const name = `applicant-${Date.now()}.txt`;
    const id = (await upload(t.app, staff, org.collections.hr!, name, 'application\n')).json().id as string;
    await recordEvent(t.vault, org.id, id, 'process_complete', yearsAgo(2));
    const manager = await addPerson(t.vault, org.slug, { roles: ['records_manager'], teams: ['hr'] });
    const secret = await enrolTotp(t.vault, manager.id);
    const client = new FormClient(base);
    const home = await client.signIn(manager.email, undefined, secret);
    expect(home).toContain('href="/disposal"');

    const list = await client.get('/disposal');
    expect(list.status).toBe(200);
    expect(list.text).toContain('No batches yet');
    const swept = await client.post('/disposal/sweep', { _csrf: FormClient.csrf(list.text) });
    expect(swept.status).toBe(303);
    const batchUrl = swept.location!;
    expect(batchUrl).toMatch(/^\/disposal\/[0-9a-f-]{36}$/);
    const page = await client.get(batchUrl);
    expect(page.status).toBe(200);
    expect(page.text).toContain(name);
    expect(page.text).toContain('Series HR-03');
    expect(page.text).toContain('Approve this batch');

    const csrf = FormClient.csrf(page.text);
    const bad = await client.post(`${batchUrl}/decisions`, { _csrf: csrf, documentId: id, decision: 'extend', extendTo: '2020-01-01', reason: 'Appeal' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('govuk-error-summary');
    expect(bad.text).toContain('The new due date must be after today');
    expect(bad.text).toContain(`href="#extendTo-${id}"`);
    const early = await client.post(`${batchUrl}/approve`, { _csrf: csrf });
    expect(early.status).toBe(400);
    expect(early.text).toContain('1 item still needs a decision');

    // A hold placed since the sweep refuses the decision on the page too: 409, the hold named in the error summary.
    const holdId = await placeHold(t.vault, org.id, { documentId: id }, 'Grievance 2026/12');
    const held = await client.post(`${batchUrl}/decisions`, { _csrf: csrf, documentId: id, decision: 'destroy' });
    expect(held.status).toBe(409);
    expect(held.text).toContain('govuk-error-summary');
    expect(held.text).toContain(`under legal hold “Grievance 2026/12” (hold ${holdId})`);
    await releaseHold(t.vault, holdId);

    expect((await client.post(`${batchUrl}/decisions`, { _csrf: csrf, documentId: id, decision: 'destroy' })).status).toBe(303);
    const approved = await client.post(`${batchUrl}/approve`, { _csrf: csrf });
    expect(approved.status).toBe(303);
    const after = await client.get(approved.location!);
    expect(after.text).toContain('The batch was approved');
    expect(after.text).not.toContain('Approve this batch');
    const listed = await client.get('/disposal');
    expect(listed.text).toContain(batchUrl);

    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const memberClient = new FormClient(base);
    expect(await memberClient.signIn(member.email)).not.toContain('href="/disposal"');
    expect((await memberClient.get('/disposal')).status).toBe(404);
    expect((await memberClient.get(batchUrl)).status).toBe(404);
  });

  it('offers a records manager early destruction of a binned record on its page (a reason required), and nobody else, nor for a live record', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const staff = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const uploader = await org.user({ teams: ['hr'] });
    const name = `wrong-council-${Date.now()}.txt`;
    const id = (await upload(t.app, uploader, org.collections.hr!, name, 'payslip\n')).json().id as string;
    const live = (await upload(t.app, uploader, org.collections.hr!, `live-${Date.now()}.txt`, 'payslip\n')).json().id as string;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${id}`, headers: { authorization: `Bearer ${uploader.token}` } })).statusCode).toBe(204);
    const manager = await addPerson(t.vault, org.slug, { roles: ['records_manager'], teams: ['hr'] });
    const secret = await enrolTotp(t.vault, manager.id);
    const client = new FormClient(base);
    await client.signIn(manager.email, undefined, secret);
    expect((await client.get(`/documents/${live}`)).text).not.toContain('Propose for early destruction');
    const page = await client.get(`/documents/${id}`);
    expect(page.text).toContain('Propose for early destruction');
    const csrf = FormClient.csrf(page.text);
    const bare = await client.post(`/documents/${id}/dispose-early`, { _csrf: csrf, reason: '' });
    expect(bare.status).toBe(400);
    expect(bare.text).toContain('govuk-error-summary');
    expect(bare.text).toContain('Give the reason for destroying these records before their retention ends');
    expect(await t.vault.store.repos.disposal.batches(org.id)).toEqual([]);
    const proposed = await client.post(`/documents/${id}/dispose-early`, { _csrf: csrf, reason: 'Payslip of another council: breach DB-7' });
    expect(proposed.status).toBe(303);
    expect(proposed.location).toMatch(/^\/disposal\/[0-9a-f-]{36}$/);
    const batch = await client.get(proposed.location!);
    expect(batch.text).toContain('Early destruction: these records are in the bin');
    expect(batch.text).toContain(name);

    const memberClient = new FormClient(base);
    await memberClient.signIn(staff.email);
    expect((await memberClient.get(`/documents/${id}`)).text).not.toContain('Propose for early destruction');
  });

  it('offers an early batch\'s approval to another records manager and not to its proposer, who is told why (and refused, 403, if they post it anyway)', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const uploader = await org.user({ teams: ['hr'] });
    const id = (await upload(t.app, uploader, org.collections.hr!, `wrong-council-${Date.now()}.txt`, 'payslip\n')).json().id as string;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${id}`, headers: { authorization: `Bearer ${uploader.token}` } })).statusCode).toBe(204);
    const proposer = await addPerson(t.vault, org.slug, { roles: ['records_manager'], teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(proposer.email, undefined, await enrolTotp(t.vault, proposer.id));
    const proposed = await client.post(`/documents/${id}/dispose-early`, { _csrf: FormClient.csrf((await client.get(`/documents/${id}`)).text), reason: 'Payslip of another council: breach DB-7' });
    expect(proposed.status).toBe(303);
    const batchUrl = proposed.location!;
    const csrf = FormClient.csrf((await client.get(batchUrl)).text);
    expect((await client.post(`${batchUrl}/decisions`, { _csrf: csrf, documentId: id, decision: 'destroy' })).status).toBe(303);

    const own = await client.get(batchUrl);
    expect(own.text).not.toContain('Approve this batch');
    expect(own.text).toContain('Another records manager must approve this early destruction: you proposed it.');
    const refused = await client.post(`${batchUrl}/approve`, { _csrf: csrf });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('govuk-error-summary');
    expect(refused.text).toContain('You proposed this early destruction, so another records manager must approve it.');
    expect(refused.text).not.toContain('Approve this batch');

    await expectApprovedByAnother(org.slug, batchUrl);
  });

  it('offers a due batch\'s approval to another records manager and not to the one who brought its records\' due dates forward, who is told why (and refused, 403, if they post it anyway)', async () => {
    const org = await createOrganisation(t.vault);
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, { code: 'HR-06', trigger: 'created', retainYears: 6 });
    const uploader = await org.user({ teams: ['hr'] });
    const id = (await upload(t.app, uploader, org.collections.hr!, `personnel-${Date.now()}.txt`, 'personnel file\n')).json().id as string;
    const manager = await addPerson(t.vault, org.slug, { roles: ['records_manager'], teams: ['hr'] });
    const asManager: Actor = { kind: 'user', userId: manager.id, organisationId: org.id, roles: ['records_manager'], teams: ['hr'], clearance: 'OFFICIAL', channel: 'web', clientAddress: null, requestId: null };
    // The manager shortens the series to 0 years (confirmed): the record is due today.
    await t.vault.retention.updateSeries(asManager, org.id, 'HR-06', { retainYears: 0 }, { reason: 'Shorter', confirmShorter: true });
    const client = new FormClient(base);
    await client.signIn(manager.email, undefined, await enrolTotp(t.vault, manager.id));
    const swept = await client.post('/disposal/sweep', { _csrf: FormClient.csrf((await client.get('/disposal')).text) });
    expect(swept.status).toBe(303);
    const batchUrl = swept.location!;
    const csrf = FormClient.csrf((await client.get(batchUrl)).text);
    expect((await client.post(`${batchUrl}/decisions`, { _csrf: csrf, documentId: id, decision: 'destroy' })).status).toBe(303);

    const own = await client.get(batchUrl);
    expect(own.text).not.toContain('Approve this batch');
    expect(own.text).toContain('Another records manager must approve this batch: you brought forward when some of its records fall due.');
    const refused = await client.post(`${batchUrl}/approve`, { _csrf: csrf });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('You brought forward when some of these records fall due, so another records manager must approve their destruction.');
    expect(refused.text).not.toContain('Approve this batch');

    await expectApprovedByAnother(org.slug, batchUrl);
  });
});
