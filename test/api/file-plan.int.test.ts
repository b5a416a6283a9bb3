// The file plan and retention over REST, on both dialects: every organisation starts with the
// retention schedule; due dates from series, triggers and recorded events (a collection's event
// reaches documents filed after it); a series change lists what it moves and never shortens silently;
// bad input answered exactly with nothing changed; nobody but the owning organisation's records
// manager edits its file plan or records its events.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { expectProblem } from '../support/http.js';
import { DIALECTS, auth, createOrganisation, createPartnership, settableClock, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

const SCHEDULE_CODES = ['FIN-01', 'FIN-02', 'HR-01', 'HR-02', 'HR-03', 'PAY-01', 'PAY-02', 'PRO-01', 'PRO-02', 'PRO-03', 'PRO-04', 'PRO-05'];

describe.each(DIALECTS)('file plan and retention on %s', (dialect) => {
  const clock = settableClock('2026-05-10T09:30:00Z');
  const t = useTestVault(dialect, clamd, { clock });

  const json = (user: TestUser) => ({ ...auth(user), 'content-type': 'application/json' });
  const get = (user: TestUser, url: string) => t.app.inject({ method: 'GET', url, headers: auth(user) });
  const send = (user: TestUser, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers: payload === undefined ? auth(user) : json(user), ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) });

  async function council(): Promise<{ org: TestOrganisation; records: TestUser; payroll: TestUser; hr: TestUser }> {
    const org = await createOrganisation(t.vault);
    return {
      org,
      records: await org.user({ roles: ['records_manager'] }),
      payroll: await org.user({ teams: ['payroll'] }),
      hr: await org.user({ teams: ['hr'] }),
    };
  }

  async function uploaded(user: TestUser, collectionId: string, name: string): Promise<string> {
    const res = await upload(t.app, user, collectionId, name, `${name} ${randomUUID()}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  const retentionOf = async (user: TestUser, documentId: string) => {
    const res = await get(user, `/api/v1/documents/${documentId}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().retention;
  };

  async function deniedEvents(userId: string, organisationId: string) {
    await t.vault.audit.sequencer.integrate();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId)).filter((e) => e.actorUserId === userId && e.decision === 'deny');
  }

  it('gives every new organisation the twelve series of the retention schedule, and seeding again keeps what is there', async () => {
    const { org, records } = await council();
    const res = await get(records, '/api/v1/series');
    expect(res.statusCode, res.body).toBe(200);
    const series = res.json().series as { code: string }[];
    expect(series.map((s) => s.code)).toEqual(SCHEDULE_CODES);
    expect(series.find((s) => s.code === 'PAY-02')).toMatchObject({
      title: 'PAYE and National Insurance records', serviceArea: 'payroll', trigger: 'financial_year_end', retainYears: 6, action: 'destroy',
      authority: 'HMRC statutory minimum 3 years; councils commonly keep 6', revision: 1,
    });
    // A records manager's change survives seeding again (init and demo run it on every start).
    expect((await send(records, 'PATCH', '/api/v1/series/HR-03', { title: 'Unsuccessful applications', reason: 'Shorter name' })).statusCode).toBe(200);
    expect(await t.vault.retention.seedAll(systemActor())).toBe(0);
    const after = (await get(records, '/api/v1/series')).json().series as { code: string; title: string; revision: number }[];
    expect(after.map((s) => s.code)).toEqual(SCHEDULE_CODES);
    expect(after.find((s) => s.code === 'HR-03')).toMatchObject({ title: 'Unsuccessful applications', revision: 2 });
    await t.vault.audit.sequencer.integrate();
    const seeded = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'records.series.seed');
    expect(seeded).toHaveLength(1);
    expect(seeded[0]!.targetIds).toEqual({ added: '12' });
  });

  it('dates a PAY-01 payslip uploaded on 10 May 2026 due on 31 March 2033 (six years after the financial year ends)', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, records, payroll } = await council();
    const filed = await send(records, 'PATCH', `/api/v1/collections/${org.collections.payroll}`, { series: 'PAY-01' });
    expect(filed.statusCode, filed.body).toBe(200);
    expect(filed.json()).toMatchObject({ id: org.collections.payroll, series: 'PAY-01' });
    const payslip = await uploaded(payroll, org.collections.payroll!, 'payslip-2026-05.csv');
    expect(await retentionOf(payroll, payslip)).toEqual({
      series: 'PAY-01', seriesTitle: 'Salary and payroll records', trigger: 'financial_year_end', triggerDate: '2026-05-10', dueAt: '2033-03-31',
      action: 'destroy', state: 'scheduled', extended: false, holds: [],
    });
    // A document's own series overrides its collection's; null files it back under the collection's.
    expect((await send(records, 'PATCH', `/api/v1/documents/${payslip}`, { series: 'HR-03' })).statusCode).toBe(200);
    expect(await retentionOf(payroll, payslip)).toMatchObject({ series: 'HR-03', trigger: 'process_complete', state: 'awaiting_event', dueAt: null });
    // From "awaiting an event" back to a date brings the due date earlier: refused until confirmed.
    expect((await send(records, 'PATCH', `/api/v1/documents/${payslip}`, { series: null })).statusCode).toBe(409);
    expect((await send(records, 'PATCH', `/api/v1/documents/${payslip}`, { series: null, confirmShorter: true })).statusCode).toBe(200);
    expect(await retentionOf(payroll, payslip)).toMatchObject({ series: 'PAY-01', dueAt: '2033-03-31' });
    // The batch facts the disposal sweep reads agree, holds included.
    const facts = await t.vault.retention.retentionFacts([payslip, randomUUID()]);
    expect([...facts.keys()]).toEqual([payslip]);
    expect(facts.get(payslip)).toMatchObject({ state: 'scheduled', seriesCode: 'PAY-01', dueAt: '2033-03-31', holds: [] });
  });

  it('keeps an HR-01 file awaiting employment end until it is recorded for its collection; a file added later is covered; clearing returns to awaiting', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, records, hr } = await council();
    const created = await send(records, 'POST', '/api/v1/collections', { name: 'Personnel file JB0042', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE', series: 'HR-01' });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ series: 'HR-01' });
    const folder = created.json().id as string;
    const contract = await uploaded(hr, folder, 'contract.txt');
    expect(await retentionOf(hr, contract)).toEqual({
      series: 'HR-01', seriesTitle: 'Personnel file', trigger: 'employment_end', triggerDate: null, dueAt: null, action: 'review',
      state: 'awaiting_event', extended: false, holds: [],
    });

    clock.set('2026-10-15T12:00:00Z');
    const recorded = await send(records, 'POST', '/api/v1/retention-events', { kind: 'employment_end', date: '2026-09-30', collectionId: folder });
    expect(recorded.statusCode, recorded.body).toBe(201);
    const [event] = recorded.json().events as { id: string }[];
    expect(recorded.json().events).toEqual([expect.objectContaining({ kind: 'employment_end', date: '2026-09-30', collectionId: folder, documentId: null, recordedBy: records.id, clearedAt: null })]);
    expect(await retentionOf(hr, contract)).toMatchObject({ state: 'scheduled', triggerDate: '2026-09-30', dueAt: '2033-09-30', action: 'review' });
    const leaver = await uploaded(hr, folder, 'leaver-form.txt');
    expect(await retentionOf(hr, leaver)).toMatchObject({ state: 'scheduled', triggerDate: '2026-09-30', dueAt: '2033-09-30' });

    const cleared = await send(records, 'DELETE', `/api/v1/retention-events/${event!.id}`);
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ id: event!.id, clearedBy: records.id });
    for (const id of [contract, leaver]) expect(await retentionOf(hr, id)).toMatchObject({ state: 'awaiting_event', triggerDate: null, dueAt: null });
    expectProblem(await send(records, 'DELETE', `/api/v1/retention-events/${event!.id}`), 409);

    await t.vault.audit.sequencer.integrate();
    const actions = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.actorUserId === records.id).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['records.collection.series', 'records.event.record', 'records.event.clear']));
  });

  it('refuses an event re-dated earlier, or a clearing that falls back to an earlier one, until confirmed; later needs none; an extension holds', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, records, hr } = await council();
    const other = await council();
    const created = await send(records, 'POST', '/api/v1/collections', { name: 'Personnel file JB0077', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE', series: 'HR-01' });
    expect(created.statusCode, created.body).toBe(201);
    const folder = created.json().id as string;
    const contract = await uploaded(hr, folder, 'contract.txt');
    const appraisal = await uploaded(hr, folder, 'appraisal.txt');
    clock.set('2026-10-15T12:00:00Z');
    // Of a place's events the latest recorded wins: each is recorded a minute after the one before.
    let minute = 0;
    const record = (date: string, extra: Record<string, unknown> = {}, user = records) => {
      clock.set(new Date(Date.parse('2026-10-15T12:00:00Z') + ++minute * 60_000).toISOString());
      return send(user, 'POST', '/api/v1/retention-events', { kind: 'employment_end', date, collectionId: folder, ...extra });
    };
    const eventsHere = async () => (await t.vault.store.repos.retention.eventsFor({ documentIds: [], collectionIds: [folder] })).filter((e) => e.clearedAt === null).map((e) => e.date);
    const audited = async (action: string) => {
      await t.vault.audit.sequencer.integrate();
      return (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === action && e.actorUserId === records.id).map((e) => [e.decision, e.reason, e.targetIds]);
    };

    // The first date of records awaiting their event is not "earlier": it is what recording it is for.
    const first = await record('2026-09-30');
    expect(first.statusCode, first.body).toBe(201);
    const firstId = first.json().events[0].id as string;
    expect(await retentionOf(hr, contract)).toMatchObject({ dueAt: '2033-09-30' });
    // An extension (a minimum) keeps the appraisal to 2034-01-01 whatever the event's date.
    await t.vault.store.repos.retention.setRetainUntil(appraisal, '2034-01-01');

    const refused = expectProblem(await record('2026-06-30'), 409);
    expect(refused.detail).toBe('Recording this event brings the due date of 1 document earlier, the earliest to 2033-06-30. Check the date, then confirm the change (confirmShorter) to go ahead.');
    expect(await eventsHere()).toEqual(['2026-09-30']);
    expect(await retentionOf(hr, contract)).toMatchObject({ triggerDate: '2026-09-30', dueAt: '2033-09-30' });
    expect((await audited('records.event.record')).filter(([decision]) => decision === 'allow')).toHaveLength(1);
    expect((await audited('records.event.record')).filter(([decision]) => decision === 'deny')).toEqual([
      ['deny', 'retention_shortened', { kind: 'employment_end', date: '2026-06-30', collectionId: folder, movedEarlier: '1' }],
    ]);

    // Nobody else confirms it for them: another council's records manager, or a member of the team.
    expect(expectProblem(await record('2026-06-30', { confirmShorter: true }, other.records), 404).detail).not.toContain('earlier');
    expect((await record('2026-06-30', { confirmShorter: true }, hr)).statusCode).toBe(404);

    const later = await record('2026-10-01');
    expect(later.statusCode, later.body).toBe(201);
    const laterId = later.json().events[0].id as string;
    expect(await retentionOf(hr, contract)).toMatchObject({ dueAt: '2033-10-01' });

    const confirmed = await record('2026-06-30', { confirmShorter: true });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    const confirmedId = confirmed.json().events[0].id as string;
    expect(await retentionOf(hr, contract)).toMatchObject({ triggerDate: '2026-06-30', dueAt: '2033-06-30' });
    expect(await retentionOf(hr, appraisal)).toMatchObject({ dueAt: '2034-01-01', extended: true });
    expect((await audited('records.event.record')).filter(([decision]) => decision === 'allow').map(([, , ids]) => ids)).toEqual([
      { eventId: firstId, kind: 'employment_end', date: '2026-09-30', collectionId: folder },
      { eventId: laterId, kind: 'employment_end', date: '2026-10-01', collectionId: folder },
      { eventId: confirmedId, kind: 'employment_end', date: '2026-06-30', collectionId: folder, movedEarlier: '1', movedLater: '0', confirmShorter: 'true' },
    ]);

    // Clearing falls back to the latest other event recorded here: later (2026-10-01) needs nothing…
    expect((await send(records, 'DELETE', `/api/v1/retention-events/${confirmedId}`)).statusCode).toBe(200);
    expect(await retentionOf(hr, contract)).toMatchObject({ dueAt: '2033-10-01' });
    // …earlier (back to 2026-09-30) is refused until confirmed; back to awaiting is later.
    const clearing = expectProblem(await send(records, 'DELETE', `/api/v1/retention-events/${laterId}`), 409);
    expect(clearing.detail).toBe('Clearing this event brings the due date of 1 document earlier, the earliest to 2033-09-30. Check the date, then confirm the change (confirmShorter) to go ahead.');
    expect(await eventsHere()).toEqual(['2026-09-30', '2026-10-01']);
    expect((await send(other.records, 'DELETE', `/api/v1/retention-events/${laterId}?confirmShorter=true`)).statusCode).toBe(404);
    expect((await send(records, 'DELETE', `/api/v1/retention-events/${laterId}?confirmShorter=true`)).statusCode).toBe(200);
    expect(await retentionOf(hr, contract)).toMatchObject({ dueAt: '2033-09-30' });
    expect((await send(records, 'DELETE', `/api/v1/retention-events/${firstId}`)).statusCode).toBe(200);
    expect(await retentionOf(hr, contract)).toMatchObject({ state: 'awaiting_event', dueAt: null });
    expect(await audited('records.event.clear')).toEqual([
      ['allow', 'records_manager', { eventId: confirmedId, kind: 'employment_end' }],
      ['deny', 'retention_shortened', { eventId: laterId, kind: 'employment_end', movedEarlier: '1' }],
      ['allow', 'records_manager', { eventId: laterId, kind: 'employment_end', movedEarlier: '1', movedLater: '0', confirmShorter: 'true' }],
      ['allow', 'records_manager', { eventId: firstId, kind: 'employment_end' }],
    ]);
  });

  it('measures an event recorded after its records were cleared back to awaiting against the date they had: clearing then recording earlier is no way round confirming', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, records, hr } = await council();
    const created = await send(records, 'POST', '/api/v1/collections', { name: 'Personnel file JB0078', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE', series: 'HR-01' });
    expect(created.statusCode, created.body).toBe(201);
    const folder = created.json().id as string;
    const contract = await uploaded(hr, folder, 'contract.txt');
    const record = (at: string, date: string, extra: Record<string, unknown> = {}) => {
      clock.set(at);
      return send(records, 'POST', '/api/v1/retention-events', { kind: 'employment_end', date, collectionId: folder, ...extra });
    };
    const first = await record('2026-10-15T12:00:00Z', '2026-09-30');
    expect(first.statusCode, first.body).toBe(201);
    clock.set('2026-10-15T12:01:00Z');
    expect((await send(records, 'DELETE', `/api/v1/retention-events/${first.json().events[0].id}`)).statusCode).toBe(200);
    expect(await retentionOf(hr, contract)).toMatchObject({ state: 'awaiting_event', dueAt: null });

    const refused = expectProblem(await record('2026-10-15T12:02:00Z', '2026-06-30'), 409);
    expect(refused.detail).toBe('Recording this event brings the due date of 1 document earlier, the earliest to 2033-06-30. Check the date, then confirm the change (confirmShorter) to go ahead.');
    expect(await retentionOf(hr, contract)).toMatchObject({ state: 'awaiting_event', dueAt: null });
    // The same date again, or a later one, needs nothing; confirmed, an earlier one is recorded and says so.
    expect((await record('2026-10-15T12:03:00Z', '2026-10-01')).statusCode).toBe(201);
    const confirmed = await record('2026-10-15T12:04:00Z', '2026-06-30', { confirmShorter: true });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    expect(await retentionOf(hr, contract)).toMatchObject({ dueAt: '2033-06-30' });
    await t.vault.audit.sequencer.integrate();
    expect((await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'records.event.record').map((e) => [e.decision, e.targetIds.date, e.targetIds.confirmShorter ?? null])).toEqual([
      ['allow', '2026-09-30', null], ['deny', '2026-06-30', null], ['allow', '2026-10-01', null], ['allow', '2026-06-30', 'true'],
    ]);
  });

  it('asks to confirm a migrated record dated earlier than its upload (a date trigger); a date that moves nothing needs none', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, records, payroll } = await council();
    await t.vault.retention.setCollectionSeries(systemActor(), org.collections.payroll!, 'PAY-01');
    const migrated = await uploaded(payroll, org.collections.payroll!, 'payslips-2025-06.csv');
    const recent = await uploaded(payroll, org.collections.payroll!, 'payslips-2026-05.csv');
    clock.set('2026-10-15T12:00:00Z');
    // 1 June 2025 is in the year ending 31 March 2026: due 2032, not 2033. 1 May 2026 moves nothing.
    const refused = expectProblem(await send(records, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2025-06-01', documentIds: [migrated] }), 409);
    expect(refused.detail).toBe('Recording this event brings the due date of 1 document earlier, the earliest to 2032-03-31. Check the date, then confirm the change (confirmShorter) to go ahead.');
    expect(await t.vault.store.repos.retention.eventsFor({ documentIds: [migrated, recent], collectionIds: [] })).toEqual([]);
    expect((await send(records, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2026-05-01', documentIds: [recent] })).statusCode).toBe(201);
    const confirmed = await send(records, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2025-06-01', documentIds: [migrated], confirmShorter: true });
    expect(confirmed.statusCode, confirmed.body).toBe(201);
    expect(await retentionOf(payroll, migrated)).toMatchObject({ triggerDate: '2025-06-01', dueAt: '2032-03-31' });
    // Clearing it goes back to the upload date: later, so no confirmation.
    expect((await send(records, 'DELETE', `/api/v1/retention-events/${confirmed.json().events[0].id}`)).statusCode).toBe(200);
    expect(await retentionOf(payroll, migrated)).toMatchObject({ triggerDate: '2026-05-10', dueAt: '2033-03-31' });
  });

  it('lists the documents a series change moves, and refuses to bring due dates earlier until confirmed', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, payroll } = await council();
    const records = await org.user({ roles: ['records_manager'] });
    // A records manager cleared only for OFFICIAL sees the moved documents' ids, not their names.
    const officialRecords = await org.user({ roles: ['records_manager'], clearance: 'OFFICIAL' });
    await t.vault.retention.setCollectionSeries(systemActor(), org.collections.payroll!, 'PAY-01');
    const a = await uploaded(payroll, org.collections.payroll!, 'payslips-a.csv');
    const b = await uploaded(payroll, org.collections.payroll!, 'payslips-b.csv');

    const longer = await send(records, 'PATCH', '/api/v1/series/PAY-01', { retainYears: 8, reason: 'Pension disputes need longer' });
    expect(longer.statusCode, longer.body).toBe(200);
    expect(longer.json()).toMatchObject({ series: { code: 'PAY-01', retainYears: 8, revision: 2 }, earlier: 0, later: 2 });
    expect(longer.json().moved).toEqual(expect.arrayContaining([
      { id: a, name: 'payslips-a.csv', oldDueAt: '2033-03-31', newDueAt: '2035-03-31', direction: 'later' },
      { id: b, name: 'payslips-b.csv', oldDueAt: '2033-03-31', newDueAt: '2035-03-31', direction: 'later' },
    ]));
    expect(await retentionOf(payroll, a)).toMatchObject({ dueAt: '2035-03-31' });

    const shorter = expectProblem(await send(records, 'PATCH', '/api/v1/series/PAY-01', { retainYears: 3, reason: 'HMRC minimum' }), 409);
    expect(shorter.detail).toContain('brings the due date of 2 documents earlier');
    expect((await get(records, '/api/v1/series/PAY-01')).json()).toMatchObject({ retainYears: 8, revision: 2 });
    expect(await retentionOf(payroll, a)).toMatchObject({ dueAt: '2035-03-31' });

    const preview = await send(officialRecords, 'PATCH', '/api/v1/series/PAY-01', { retainYears: 3, dryRun: true });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({ earlier: 2, later: 0, series: { retainYears: 3, revision: 2 } });
    expect(preview.json().moved).toEqual(expect.arrayContaining([{ id: a, name: null, oldDueAt: '2035-03-31', newDueAt: '2030-03-31', direction: 'earlier' }]));
    expect((await get(records, '/api/v1/series/PAY-01')).json()).toMatchObject({ retainYears: 8, revision: 2 });

    const confirmed = await send(records, 'PATCH', '/api/v1/series/PAY-01', { retainYears: 3, reason: 'HMRC minimum', confirmShorter: true });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json()).toMatchObject({ earlier: 2, later: 0, series: { retainYears: 3, revision: 3 } });
    expect(await retentionOf(payroll, b)).toMatchObject({ dueAt: '2030-03-31' });

    const shown = (await get(records, '/api/v1/series/PAY-01')).json();
    expect(shown.revisions.map((r: { revision: number; reason: string; changedBy: string | null }) => [r.revision, r.reason, r.changedBy])).toEqual([
      [1, 'From the retention schedule', null], [2, 'Pension disputes need longer', records.id], [3, 'HMRC minimum', records.id],
    ]);
    expect(shown.revisions[1].snapshot).toMatchObject({ retainYears: 8 });
    await t.vault.audit.sequencer.integrate();
    const updates = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'records.series.update');
    expect(updates.map((e) => e.targetIds)).toEqual([
      { seriesCode: 'PAY-01', revision: '2', movedEarlier: '0', movedLater: '2' },
      { seriesCode: 'PAY-01', revision: '3', movedEarlier: '2', movedLater: '0' },
    ]);
  });

  it('does a PATCH that refiles and renames or moves all or nothing: a move refused leaves the series as it was; allowed, both are done', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, payroll } = await council();
    const recordsPayroll = await org.user({ roles: ['records_manager'], teams: ['payroll'] });
    const payslip = await uploaded(payroll, org.collections.payroll!, 'payslip.txt');
    await uploaded(payroll, org.collections.payroll!, 'taken.txt');
    const seriesOf = async (id: string) => (await t.vault.store.db.selectFrom('documents').select('series_code').where('id', '=', id).executeTakeFirstOrThrow()).series_code;

    // The name is taken (409); the destination is one the records manager may not add to (above their clearance: 404).
    expectProblem(await send(recordsPayroll, 'PATCH', `/api/v1/documents/${payslip}`, { series: 'PAY-01', name: 'taken.txt' }), 409);
    expect(await seriesOf(payslip)).toBeNull();
    expect(await retentionOf(payroll, payslip)).toMatchObject({ series: null, state: 'unfiled' });
    const finance = await org.user({ teams: ['finance'] });
    const recordsOfficial = await org.user({ roles: ['records_manager'], teams: ['finance'], clearance: 'OFFICIAL' });
    const invoice = await uploaded(finance, org.collections.finance!, 'invoice.txt');
    expectProblem(await send(recordsOfficial, 'PATCH', `/api/v1/documents/${invoice}`, { series: 'FIN-01', collectionId: org.collections.payroll }), 404);
    expect(await seriesOf(invoice)).toBeNull();
    // A collection's too: renamed over its sibling's name.
    const folderIn = (name: string) => t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: org.collections.payroll!, name, serviceArea: 'payroll', classification: 'OFFICIAL-SENSITIVE' });
    const monthly = (await folderIn('Monthly')).id;
    await folderIn('Weekly');
    expectProblem(await send(recordsPayroll, 'PATCH', `/api/v1/collections/${monthly}`, { series: 'PAY-01', name: 'Weekly' }), 409);
    expect(await t.vault.store.repos.retention.collectionSeries(monthly)).toBeNull();
    await t.vault.audit.sequencer.integrate();
    const seriesEvents = async () => (await t.vault.store.repos.audit.forOrganisation(org.id))
      .filter((e) => (e.action === 'records.document.series' || e.action === 'records.collection.series') && e.decision === 'allow');
    expect(await seriesEvents()).toEqual([]);

    // Allowed, both are done, each with its event.
    const renamed = await send(recordsPayroll, 'PATCH', `/api/v1/documents/${payslip}`, { series: 'PAY-01', name: 'payslip-may.txt' });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'payslip-may.txt' });
    expect(await seriesOf(payslip)).toBe('PAY-01');
    const folder = await send(recordsPayroll, 'PATCH', `/api/v1/collections/${monthly}`, { series: 'PAY-02', name: 'Monthly payslips' });
    expect(folder.statusCode, folder.body).toBe(200);
    expect(folder.json()).toMatchObject({ name: 'Monthly payslips' });
    expect(await t.vault.store.repos.retention.collectionSeries(monthly)).toBe('PAY-02');
    await t.vault.audit.sequencer.integrate();
    expect((await seriesEvents()).map((e) => [e.action, e.targetIds])).toEqual([
      ['records.document.series', { documentId: payslip, seriesCode: 'PAY-01' }],
      ['records.collection.series', { collectionId: monthly, seriesCode: 'PAY-02' }],
    ]);
  });

  it('answers bad input with an exact 4xx a records manager understands, and changes nothing', async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { org, records, hr } = await council();
    await t.vault.retention.setCollectionSeries(systemActor(), org.collections.hr!, 'HR-03');
    const application = await uploaded(hr, org.collections.hr!, 'application-1.txt');
    const orgName = `Test ${org.slug}`;

    const cases: [string, 'POST' | 'PATCH', string, unknown, number, string][] = [
      ['unknown series on a collection', 'PATCH', `/api/v1/collections/${org.collections.hr}`, { series: 'PAY-99' }, 400, `There is no record series PAY-99 in ${orgName}'s file plan.`],
      ['unknown series on a document', 'PATCH', `/api/v1/documents/${application}`, { series: 'PAY-99' }, 400, `There is no record series PAY-99 in ${orgName}'s file plan.`],
      ['unknown series for a new collection', 'POST', '/api/v1/collections', { name: 'Never made', serviceArea: 'hr', classification: 'OFFICIAL', series: 'PAY-99' }, 400, `There is no record series PAY-99 in ${orgName}'s file plan.`],
      ['impossible date', 'POST', '/api/v1/retention-events', { kind: 'process_complete', date: '2026-02-30', documentIds: [application] }, 400, '"2026-02-30" is not a date'],
      ['not YYYY-MM-DD', 'POST', '/api/v1/retention-events', { kind: 'process_complete', date: '30/04/2026', documentIds: [application] }, 400, '"30/04/2026" is not a date'],
      ['future date', 'POST', '/api/v1/retention-events', { kind: 'process_complete', date: '2026-05-11', documentIds: [application] }, 400, '2026-05-11 is in the future'],
      ['kind not the series\' trigger', 'POST', '/api/v1/retention-events', { kind: 'contract_end', date: '2026-04-30', documentIds: [application] }, 400, 'HR-03 is triggered by process_complete, not contract_end'],
      ['kind not a trigger of the collection', 'POST', '/api/v1/retention-events', { kind: 'contract_end', date: '2026-04-30', collectionId: org.collections.hr }, 400, 'HR-03 is triggered by process_complete, not contract_end'],
      ['event for an unfiled collection', 'POST', '/api/v1/retention-events', { kind: 'contract_end', date: '2026-04-30', collectionId: org.collections.finance }, 400, 'is filed under a record series, so no event applies'],
      ['neither documents nor collection', 'POST', '/api/v1/retention-events', { kind: 'process_complete', date: '2026-04-30' }, 400, 'Give either documentIds or collectionId'],
      ['unknown document', 'POST', '/api/v1/retention-events', { kind: 'process_complete', date: '2026-04-30', documentIds: [randomUUID()] }, 404, 'No document with that id exists'],
      ['bad series terms', 'POST', '/api/v1/series', { code: 'pay 1', title: ' ', serviceArea: 'zoo', trigger: 'Bad Trigger', retainYears: 151, action: 'burn', authority: '' }, 400, '"pay 1" is not a series code'],
      ['taken code', 'POST', '/api/v1/series', { code: 'HR-01', title: 'Again', serviceArea: 'hr', trigger: 'created', retainYears: 1, action: 'destroy', authority: 'None' }, 409, `There is already a series HR-01 in ${orgName}'s file plan.`],
      ['period out of range', 'PATCH', '/api/v1/series/HR-03', { retainYears: 151 }, 400, 'The retention period must be a whole number of years from 0 to 150'],
      ['unknown trigger shape', 'PATCH', '/api/v1/series/HR-03', { trigger: 'Case Closed!' }, 400, '"Case Closed!" is not a trigger'],
      ['change of nothing', 'PATCH', '/api/v1/series/HR-03', { reason: 'no change' }, 400, 'This changes nothing in HR-03'],
      ['unknown series code', 'PATCH', '/api/v1/series/PAY-99', { retainYears: 2 }, 404, 'No record series with that id exists'],
    ];
    for (const [name, method, url, body, status, message] of cases) {
      const problem = expectProblem(await send(records, method, url, body), status);
      expect(problem.detail, name).toContain(message);
    }
    const all = expectProblem(await send(records, 'POST', '/api/v1/series', { code: 'pay 1', title: ' ', serviceArea: 'zoo', trigger: 'Bad Trigger', retainYears: 151, action: 'burn', authority: '' }), 400);
    for (const part of ['needs a title', '"zoo" is not a service area', '"Bad Trigger" is not a trigger', 'from 0 to 150', 'destroy, review, transfer', 'needs its authority']) expect(all.detail).toContain(part);

    // Nothing changed: no events, the folders and the document filed as before, the plan as seeded.
    expect(await t.vault.store.repos.retention.eventsFor({ documentIds: [application], collectionIds: Object.values(org.collections) })).toEqual([]);
    expect(await t.vault.store.repos.retention.collectionSeries(org.collections.hr!)).toBe('HR-03');
    expect(await retentionOf(hr, application)).toMatchObject({ series: 'HR-03', state: 'awaiting_event' });
    const plan = (await get(records, '/api/v1/series')).json().series as { code: string; revision: number }[];
    expect(plan.map((s) => s.code)).toEqual(SCHEDULE_CODES);
    expect(plan.every((s) => s.revision === 1)).toBe(true);
    expect((await t.vault.collections.roots(systemActor(), org.id)).map((c) => c.name)).not.toContain('Never made');
    // The refusals above are about shape, not permission: none is recorded as a denial.
    expect(await deniedEvents(records.id, org.id)).toEqual([]);
  });

  it("refuses a partner's records manager and a host team with manage access anything in another organisation's file plan (404, audited)", async () => {
    clock.set('2026-05-10T09:30:00Z');
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'payroll' });
    const hostPayroll = await host.user({ teams: ['payroll'] });
    const hostRecords = await host.user({ roles: ['records_manager'], teams: ['payroll'] });
    const partnerPayroll = await partner.user({ teams: ['payroll'] });
    const partnerRecords = await partner.user({ roles: ['records_manager'], teams: ['payroll'] });
    for (const org of [host, partner]) await t.vault.retention.setCollectionSeries(systemActor(), org.collections.payroll!, 'PAY-01');
    const hostDoc = await uploaded(hostPayroll, host.collections.payroll!, 'host-payslips.csv');
    const partnerDoc = await uploaded(partnerPayroll, partner.collections.payroll!, 'partner-payslips.csv');
    // The host's payroll team reads and manages the partner's payroll documents through the arrangement…
    expect((await get(hostPayroll, `/api/v1/documents/${partnerDoc}`)).statusCode).toBe(200);

    const attempts: [TestUser, 'GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown][] = [
      // …but neither it nor the host's own records manager touches the partner's file plan or events,
      [hostPayroll, 'PATCH', `/api/v1/series/PAY-01?organisation=${partner.slug}`, { retainYears: 1, confirmShorter: true }],
      [hostRecords, 'PATCH', `/api/v1/series/PAY-01?organisation=${partner.slug}`, { retainYears: 1, confirmShorter: true }],
      [hostRecords, 'POST', `/api/v1/series?organisation=${partner.slug}`, { code: 'X-01', title: 'X', serviceArea: 'payroll', trigger: 'created', retainYears: 1, action: 'destroy', authority: 'X' }],
      [hostRecords, 'GET', `/api/v1/series?organisation=${partner.slug}`, undefined],
      [hostRecords, 'PATCH', `/api/v1/documents/${partnerDoc}`, { series: 'PAY-02' }],
      [hostPayroll, 'PATCH', `/api/v1/documents/${partnerDoc}`, { series: 'PAY-02' }],
      [hostRecords, 'PATCH', `/api/v1/collections/${partner.collections.payroll}`, { series: 'PAY-02' }],
      [hostRecords, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2026-03-31', documentIds: [partnerDoc] }],
      [hostRecords, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2026-03-31', collectionId: partner.collections.payroll }],
      // and the partner's records manager, whatever the arrangement, never reaches the host's.
      [partnerRecords, 'PATCH', `/api/v1/series/PAY-01?organisation=${host.slug}`, { retainYears: 1, confirmShorter: true }],
      [partnerRecords, 'GET', `/api/v1/series/PAY-01?organisation=${host.slug}`, undefined],
      [partnerRecords, 'PATCH', `/api/v1/documents/${hostDoc}`, { series: 'PAY-02' }],
      [partnerRecords, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2026-03-31', documentIds: [hostDoc] }],
      // A member of the council's own payroll team is not its records manager either.
      [partnerPayroll, 'PATCH', `/api/v1/series/PAY-01`, { retainYears: 1, confirmShorter: true }],
      [partnerPayroll, 'POST', '/api/v1/retention-events', { kind: 'financial_year_end', date: '2026-03-31', documentIds: [partnerDoc] }],
    ];
    for (const [user, method, url, body] of attempts) {
      const res = method === 'GET' ? await get(user, url) : await send(user, method, url, body);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
    }
    // Nothing changed, and each refusal is in the log as the records action it was.
    for (const org of [host, partner]) {
      expect((await t.vault.retention.listSeries(systemActor(), org.id)).find((s) => s.code === 'PAY-01')).toMatchObject({ retainYears: 6, revision: 1 });
      expect(await t.vault.store.repos.retention.collectionSeries(org.collections.payroll!)).toBe('PAY-01');
    }
    expect(await t.vault.store.repos.retention.eventsFor({ documentIds: [hostDoc, partnerDoc], collectionIds: [host.collections.payroll!, partner.collections.payroll!] })).toEqual([]);
    expect((await t.vault.retention.retentionFacts([hostDoc, partnerDoc])).get(partnerDoc)).toMatchObject({ seriesCode: 'PAY-01', dueAt: '2033-03-31' });
    const hostRefusals = await deniedEvents(hostRecords.id, partner.id);
    expect(hostRefusals.map((e) => [e.action, e.reason])).toEqual(expect.arrayContaining([['records.file-plan', 'other_organisation'], ['records.read', 'other_organisation']]));
    expect((await deniedEvents(hostPayroll.id, partner.id)).map((e) => [e.action, e.reason])).toEqual([['records.file-plan', 'other_organisation'], ['records.file-plan', 'other_organisation']]);
    expect((await deniedEvents(partnerRecords.id, host.id)).map((e) => e.reason)).toEqual(['other_organisation', 'other_organisation', 'other_organisation', 'other_organisation']);
    expect((await deniedEvents(partnerPayroll.id, partner.id)).map((e) => [e.action, e.reason])).toEqual([['records.file-plan', 'role'], ['records.file-plan', 'role']]);
  });
});
