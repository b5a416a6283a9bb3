// Attack review of listing retention events (GET /collections|documents/{id}/retention-events). These pass:
// they pin what was found sound. A document moved to another collection lists the events of its new place,
// not its old one (as its due date counts them); a host's records manager whose team served a partner under an
// arrangement since ended gets what an unknown id gets; a binned document's events are still its records
// people's (it is still a record, as recording an event for it is); a switched-off records manager's token
// lists nothing.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { fileCollectionUnder } from '../support/records.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { expectProblem } from '../support/http.js';
import { DIALECTS, auth, createOrganisation, createPartnership, upload, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('retention event listing attacked on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  const get = (user: TestUser, url: string) => t.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth(user) });
  const eventsOf = async (user: TestUser, url: string) => {
    const res = await get(user, url);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json().events as { id: string; inherited: boolean; inForce: boolean }[]).map((e) => [e.id, e.inherited, e.inForce]);
  };

  it('lists a moved document\'s events from its new place, and still lists a binned document\'s to its records people', async () => {
    const org = await createOrganisation(t.vault, { areas: { hr: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const staff = await org.user({ teams: ['hr'] });
    const top = org.collections.hr!;
    const [from, to] = await Promise.all(['Leavers 2024', 'Leavers 2025'].map(async (name) => (await t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name, serviceArea: 'hr', classification: 'OFFICIAL' })).id));
    await fileCollectionUnder(t.vault, org.id, top, { code: 'MOVE-HR', trigger: 'employment_end', retainYears: 7 });
    const doc = (await upload(t.app, staff, from!, 'leaver.txt', 'leaver\n')).json().id as string;
    const [fromEvent] = await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-09-30', collectionId: from! });
    const [toEvent] = await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-10-31', collectionId: to! });
    expect(await eventsOf(manager, `/documents/${doc}/retention-events`)).toEqual([[fromEvent!.id, true, true]]);

    await t.vault.filing.move(systemActor(), doc, { collectionId: to! });
    expect(await eventsOf(manager, `/documents/${doc}/retention-events`)).toEqual([[toEvent!.id, true, true]]);
    expect((await t.vault.retention.retentionFacts([doc])).get(doc)).toMatchObject({ triggerDate: '2025-10-31' });

    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${doc}`, headers: auth(staff) })).statusCode).toBe(204);
    expect(await eventsOf(manager, `/documents/${doc}/retention-events`)).toEqual([[toEvent!.id, true, true]]);
  });

  it('answers a host\'s records manager whose arrangement ended, and a switched-off records manager, as an unknown id', async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const ownerManager = await partner.user({ roles: ['records_manager'] });
    const ownerStaff = await partner.user({ teams: ['payroll'] });
    const servingManager = await host.user({ roles: ['member', 'records_manager'], teams: ['payroll'] });
    const admin = await partner.user({ roles: ['member', 'org_admin'] });
    const folder = partner.collections.payroll!;
    await fileCollectionUnder(t.vault, partner.id, folder, { code: 'END-PAY', trigger: 'employment_end', retainYears: 6, serviceArea: 'payroll' });
    const doc = (await upload(t.app, ownerStaff, folder, 'payslips.txt', 'partner\n')).json().id as string;
    await t.vault.retentionEvents.recordEvent(systemActor(), { kind: 'employment_end', date: '2025-09-30', collectionId: folder });
    const unknown = {
      collection: expectProblem(await get(ownerManager, `/collections/${randomUUID()}/retention-events`), 404).detail,
      document: expectProblem(await get(ownerManager, `/documents/${randomUUID()}/retention-events`), 404).detail,
    };
    await t.vault.arrangements.end(systemActor(), arrangement.id);
    expect(expectProblem(await get(servingManager, `/collections/${folder}/retention-events`), 404).detail).toBe(unknown.collection);
    expect(expectProblem(await get(servingManager, `/documents/${doc}/retention-events`), 404).detail).toBe(unknown.document);

    expect(await eventsOf(ownerManager, `/documents/${doc}/retention-events`)).toHaveLength(1);
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/users/${ownerManager.id}/disable`, headers: auth(admin) })).statusCode).toBe(204);
    expect((await get(ownerManager, `/documents/${doc}/retention-events`)).statusCode).toBe(401);
  });
});
