// The file plan in the web interface: the records manager's File plan page (a change shows the
// documents whose due date moves, and one bringing any earlier is saved only once confirmed), the
// document page's retention panel and the collection page's forms; a member sees the facts, not the forms.
// The events that reach a collection or a document (inherited ones too) are listed for its records people only.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { addYears, financialYearEnd, ukDate } from '../../src/domain/records/retention.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('file plan pages on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  async function world() {
    const org = await createOrganisation(t.vault);
    const recordsPerson = await addPerson(t.vault, org.slug, { roles: ['records_manager'] });
    const secret = await enrolTotp(t.vault, recordsPerson.id);
    const records = new FormClient(base);
    await records.signIn(recordsPerson.email, undefined, secret);
    const memberPerson = await addPerson(t.vault, org.slug, { teams: ['payroll', 'hr'] });
    const member = new FormClient(base);
    await member.signIn(memberPerson.email);
    const staff = await org.user({ teams: ['payroll', 'hr'] });
    return { org, records, member, staff };
  }

  it('shows a document its retention; a records manager files it and records its event, a member only reads', async () => {
    const { org, records, member, staff } = await world();
    await t.vault.retention.setCollectionSeries(systemActor(), org.collections.payroll!, 'PAY-01');
    const payslip = (await upload(t.app, staff, org.collections.payroll!, 'payslip.csv', 'ref,net\n1,100\n')).json().id as string;
    const due = addYears(financialYearEnd(ukDate(new Date())), 6);

    const seen = await member.get(`/documents/${payslip}`);
    expect(seen.status).toBe(200);
    expect(seen.text).toContain('id="retention-facts"');
    expect(seen.text).toContain('PAY-01 Salary and payroll records');
    expect(seen.text).toContain(due);
    expect(seen.text).not.toContain(`action="/documents/${payslip}/series"`);
    expect(seen.text).not.toContain('href="/file-plan"');
    expect((await member.get('/file-plan')).status).toBe(404);
    // A member's post is refused as the records action it is, and changes nothing.
    expect((await member.post(`/documents/${payslip}/series`, { _csrf: FormClient.csrf(seen.text), series: 'HR-01' })).status).toBe(404);

    const page = await records.get(`/documents/${payslip}`);
    expect(page.text).toContain(`action="/documents/${payslip}/series"`);
    expect(page.text).toContain('href="/file-plan"');
    const filed = await records.post(`/documents/${payslip}/series`, { _csrf: FormClient.csrf(page.text), series: 'HR-01' });
    expect(filed.status).toBe(303);
    const awaiting = await records.get(`/documents/${payslip}`);
    expect(awaiting.text).toContain('Awaiting event: employment end');
    const future = await records.post(`/documents/${payslip}/retention-event`, { _csrf: FormClient.csrf(awaiting.text), kind: 'employment_end', date: '2999-01-01' });
    expect(future.status).toBe(400);
    expect(future.text).toContain('2999-01-01 is in the future');
    const recorded = await records.post(`/documents/${payslip}/retention-event`, { _csrf: FormClient.csrf(awaiting.text), kind: 'employment_end', date: '2020-02-29' });
    expect(recorded.status).toBe(303);
    const scheduled = await records.get(`/documents/${payslip}`);
    // Seven years from 29 February 2020 is 28 February 2027 (no 29th that year).
    expect(scheduled.text).toContain('2027-02-28');
    expect((await member.get(`/documents/${payslip}`)).text).toContain('2027-02-28');
  });

  it('asks to confirm an event re-dated earlier on a page of its own, and records it only once confirmed', async () => {
    const { org, records, member, staff } = await world();
    await t.vault.retention.setCollectionSeries(systemActor(), org.collections.hr!, 'HR-01');
    const file = (await upload(t.app, staff, org.collections.hr!, 'contract.txt', 'contract\n')).json().id as string;
    const page = await records.get(`/documents/${file}`);
    expect((await records.post(`/documents/${file}/retention-event`, { _csrf: FormClient.csrf(page.text), kind: 'employment_end', date: '2020-02-29' })).status).toBe(303);
    expect((await records.get(`/documents/${file}`)).text).toContain('2027-02-28');

    const refused = await records.post(`/documents/${file}/retention-event`, { _csrf: FormClient.csrf(page.text), kind: 'employment_end', date: '2019-01-31' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Recording this event brings the due date of 1 document earlier, the earliest to 2026-01-31.');
    expect(refused.text).toContain(`<form method="post" action="/documents/${file}/retention-event" novalidate id="confirm-shorter">`);
    expect(refused.text).toContain('<input type="hidden" name="date" value="2019-01-31">');
    expect(refused.text).toContain('name="confirmShorter"');
    expect((await records.get(`/documents/${file}`)).text).toContain('2027-02-28');
    // A member sending the confirmation is refused as the records action it is.
    const seen = await member.get(`/documents/${file}`);
    expect((await member.post(`/documents/${file}/retention-event`, { _csrf: FormClient.csrf(seen.text), kind: 'employment_end', date: '2019-01-31', confirmShorter: 'yes' })).status).toBe(404);

    const confirmed = await records.post(`/documents/${file}/retention-event`, { _csrf: FormClient.csrf(refused.text), kind: 'employment_end', date: '2019-01-31', confirmShorter: 'yes' });
    expect(confirmed.status).toBe(303);
    expect((await records.get(`/documents/${file}`)).text).toContain('2026-01-31');
  });

  it('records an event for a whole collection from its page, and clears it', async () => {
    const { org, records, staff } = await world();
    const page = await records.get(`/collections/${org.collections.hr}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Not filed under a record series.');
    expect((await records.post(`/collections/${org.collections.hr}/series`, { _csrf: FormClient.csrf(page.text), series: 'PAY-99' })).text).toContain('There is no record series PAY-99');
    expect((await records.post(`/collections/${org.collections.hr}/series`, { _csrf: FormClient.csrf(page.text), series: 'HR-01' })).status).toBe(303);
    const filed = await records.get(`/collections/${org.collections.hr}`);
    expect(filed.text).toContain('Filed under <strong>HR-01 Personnel file</strong>');
    expect((await records.post(`/collections/${org.collections.hr}/retention-event`, { _csrf: FormClient.csrf(filed.text), kind: 'employment_end', date: '2026-09-30' })).status).toBe(303);
    const doc = (await upload(t.app, staff, org.collections.hr!, 'leaver.txt', 'leaver\n')).json().id as string;
    expect((await records.get(`/documents/${doc}`)).text).toContain('2033-09-30');
    const withEvent = await records.get(`/collections/${org.collections.hr}`);
    const clear = /action="(\/collections\/[^"]+\/retention-events\/[^"]+\/clear)"/.exec(withEvent.text);
    expect(clear).not.toBeNull();
    expect((await records.post(clear![1]!, { _csrf: FormClient.csrf(withEvent.text) })).status).toBe(303);
    expect((await records.get(`/documents/${doc}`)).text).toContain('Awaiting event: employment end');
  });

  it('lists the events that reach a collection and a document, inherited ones marked, to the records manager and not to a member', async () => {
    const { org, records, member, staff } = await world();
    const top = org.collections.hr!;
    const folder = (await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name: 'Leavers', serviceArea: 'hr', classification: 'OFFICIAL' })).id;
    await t.vault.retention.setCollectionSeries(systemActor(), top, 'HR-01');
    const doc = (await upload(t.app, staff, folder, 'leaver.txt', 'leaver\n')).json().id as string;
    const [topEvent] = await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-09-30', collectionId: top });
    const [ownEvent] = await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-10-31', documentIds: [doc] });
    const rowsOf = (html: string) => [...(/<table class="govuk-table" id="retention-events">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '').matchAll(/<tr class="govuk-table__row">([\s\S]*?)<\/tr>/g)]
      .slice(1).map((m) => [...m[1]!.matchAll(/<td class="govuk-table__cell">([\s\S]*?)<\/td>/g)].slice(0, 5).map((c) => c[1]!.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim()));

    const docPage = await records.get(`/documents/${doc}`);
    expect(rowsOf(docPage.text)).toEqual([
      ['employment end', '2025-10-31', 'this document', 'Yes', 'the system'],
      ['employment end', '2025-09-30', `collection ${top} above`, 'No', 'the system'],
    ]);
    const folderPage = await records.get(`/collections/${folder}`);
    expect(rowsOf(folderPage.text)).toEqual([['employment end', '2025-09-30', `collection ${top} above`, 'Yes', 'the system']]);
    // An inherited event is cleared where it was recorded, not from below.
    expect(folderPage.text).not.toContain(`/retention-events/${topEvent!.id}/clear`);
    expect(docPage.text).not.toContain(`/retention-events/${topEvent!.id}/clear`);
    expect((await records.get(`/collections/${top}`)).text).toContain(`action="/collections/${top}/retention-events/${topEvent!.id}/clear"`);

    for (const url of [`/documents/${doc}`, `/collections/${folder}`, `/collections/${top}`]) {
      const seen = await member.get(url);
      expect(seen.status).toBe(200);
      // The document's facts still show its trigger date; who recorded what, where, is records management's.
      expect(seen.text).not.toContain('id="retention-events"');
      expect(seen.text).not.toContain('Recorded for');
    }
    // The member cannot clear the document's own event either (404, as recording); the records manager can, from the document page.
    const clearOwn = `/documents/${doc}/retention-events/${ownEvent!.id}/clear`;
    expect(docPage.text).toContain(`action="${clearOwn}"`);
    expect((await member.post(clearOwn, { _csrf: FormClient.csrf((await member.get(`/documents/${doc}`)).text), confirmShorter: 'yes' })).status).toBe(404);
    // Falling back to the collection's earlier date: confirmed, as on the collection page.
    const cleared = await records.post(clearOwn, { _csrf: FormClient.csrf(docPage.text), confirmShorter: 'yes' });
    expect([cleared.status, cleared.location]).toEqual([303, `/documents/${doc}?notice=retention`]);
    expect(rowsOf((await records.get(`/documents/${doc}`)).text)).toEqual([['employment end', '2025-09-30', `collection ${top} above`, 'Yes', 'the system']]);
  });

  it('clears from a page only an event recorded for that page\'s document or collection: one recorded elsewhere answers as an unknown id, nothing cleared', async () => {
    const { org, records, staff } = await world();
    const top = org.collections.hr!;
    const folder = (await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name: 'Leavers', serviceArea: 'hr', classification: 'OFFICIAL' })).id;
    await t.vault.retention.setCollectionSeries(systemActor(), top, 'HR-01');
    const docA = (await upload(t.app, staff, folder, 'a.txt', 'a\n')).json().id as string;
    const docB = (await upload(t.app, staff, folder, 'b.txt', 'b\n')).json().id as string;
    const [topEvent] = await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-09-30', collectionId: top });
    const [eventA, eventB] = await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-10-31', documentIds: [docA, docB] });
    const csrf = FormClient.csrf((await records.get(`/documents/${docA}`)).text);
    const unknown = await records.post(`/documents/${docA}/retention-events/${randomUUID()}/clear`, { _csrf: csrf, confirmShorter: 'yes' });
    expect(unknown.status).toBe(404);
    // Another document's event through this document's page, a collection's through a document's, an inherited one from below, a document's from its collection.
    for (const url of [`/documents/${docA}/retention-events/${eventB!.id}/clear`, `/documents/${docA}/retention-events/${topEvent!.id}/clear`,
      `/collections/${folder}/retention-events/${topEvent!.id}/clear`, `/collections/${folder}/retention-events/${eventA!.id}/clear`]) {
      const refused = await records.post(url, { _csrf: csrf, confirmShorter: 'yes' });
      expect([url, refused.status, refused.text.includes('No retention event with that id exists')]).toEqual([url, 404, true]);
    }
    for (const e of [topEvent!, eventA!, eventB!]) expect((await t.vault.store.repos.retention.event(e.id))?.clearedAt).toBeNull();
    // From the page it was recorded for, it is cleared.
    const cleared = await records.post(`/documents/${docB}/retention-events/${eventB!.id}/clear`, { _csrf: csrf, confirmShorter: 'yes' });
    expect([cleared.status, cleared.location]).toEqual([303, `/documents/${docB}?notice=retention`]);
    expect((await records.post(`/collections/${top}/retention-events/${topEvent!.id}/clear`, { _csrf: csrf, confirmShorter: 'yes' })).status).toBe(303);
  });

  it('lists the file plan, previews a shorter period with the documents it moves, and saves it only once confirmed', async () => {
    const { org, records, staff } = await world();
    await t.vault.retention.setCollectionSeries(systemActor(), org.collections.payroll!, 'PAY-01');
    await upload(t.app, staff, org.collections.payroll!, 'payslips-a.csv', 'a\n');
    const plan = await records.get('/file-plan');
    expect(plan.status).toBe(200);
    for (const code of ['FIN-01', 'HR-03', 'PAY-01', 'PRO-05']) expect(plan.text).toContain(`href="/file-plan/${code}"`);
    const series = await records.get('/file-plan/PAY-01');
    expect(series.text).toContain('id="change-series"');
    const form = {
      _csrf: FormClient.csrf(series.text), title: 'Salary and payroll records', serviceArea: 'payroll', trigger: 'financial_year_end', retainYears: '3',
      action: 'destroy', authority: 'HMRC', reason: 'HMRC minimum',
    };
    const checked = await records.post('/file-plan/PAY-01', { ...form, step: 'check' });
    expect(checked.status).toBe(200);
    expect(checked.text).toContain('id="moved"');
    expect(checked.text).toContain('payslips-a.csv');
    expect(checked.text).toContain('1 earlier, 0 later');
    expect(checked.text).toContain('name="confirmShorter"');
    const unconfirmed = await records.post('/file-plan/PAY-01', { ...form, step: 'save' });
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.text).toContain('brings the due date of 1 document earlier');
    expect((await t.vault.retention.series(systemActor(), org.id, 'PAY-01')).series).toMatchObject({ retainYears: 6, revision: 1 });
    const saved = await records.post('/file-plan/PAY-01', { ...form, step: 'save', confirmShorter: 'yes' });
    expect(saved.status).toBe(303);
    const after = await t.vault.retention.series(systemActor(), org.id, 'PAY-01');
    expect(after.series).toMatchObject({ retainYears: 3, authority: 'HMRC', revision: 2 });
    expect(after.revisions.at(-1)).toMatchObject({ reason: 'HMRC minimum' });

    const added = await records.post('/file-plan', {
      _csrf: FormClient.csrf(plan.text), code: 'LEG-01', title: 'Case files', serviceArea: 'legal', trigger: 'case_closed', retainYears: '15', action: 'review', authority: 'Limitation Act 1980',
    });
    expect(added.status).toBe(303);
    expect((await records.get('/file-plan')).text).toContain('href="/file-plan/LEG-01"');
    const bad = await records.post('/file-plan', { _csrf: FormClient.csrf(plan.text), code: 'LEG-01', title: 'Again', serviceArea: 'legal', trigger: 'created', retainYears: '1', action: 'destroy', authority: 'X' });
    expect(bad.status).toBe(409);
    expect(bad.text).toContain('govuk-error-summary');
  });
});
