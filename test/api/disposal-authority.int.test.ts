// Who may decide disposal: only the owning organisation's records manager. A partner's records manager,
// and a host team with `manage` access to the partner's records through an arrangement, are refused
// every disposal step on the other organisation's batch (404: they are not told it exists), audited.
import { beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createPartnership, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { actorFor } from '../../src/services/identity.service.js';

const clamd = useClamd();

describe.each(DIALECTS)('disposal authority on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  let host: TestOrganisation;
  let partner: TestOrganisation;
  let partnerManager: TestUser;
  let hostManager: TestUser;
  /** Host hr staff whose team serves the partner's hr at `manage` level (and may delete its records). */
  let hostTeam: TestUser;
  let hostTeamManager: TestUser;
  let partnerBatch: string;
  let partnerDoc: string;
  let hostBatch: string;

  beforeAll(async () => {
    ({ host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'hr' }));
    for (const org of [host, partner]) await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    partnerManager = await partner.user({ roles: ['records_manager'], teams: ['hr'] });
    hostManager = await host.user({ roles: ['records_manager'], teams: ['hr'] });
    hostTeam = await host.user({ teams: ['hr'] });
    hostTeamManager = await host.user({ roles: ['records_manager'], teams: ['hr'] });
    const partnerStaff = await partner.user({ teams: ['hr'] });
    partnerDoc = (await upload(t.app, partnerStaff, partner.collections.hr!, 'partner-applicant.txt', 'partner application\n')).json().id;
    const hostDoc = (await upload(t.app, hostTeam, host.collections.hr!, 'host-applicant.txt', 'host application\n')).json().id;
    await recordEvent(t.vault, partner.id, partnerDoc, 'process_complete', yearsAgo(2));
    await recordEvent(t.vault, host.id, hostDoc, 'process_complete', yearsAgo(2));
    // The arrangement really does reach: the host team manages the partner's record.
    expect((await api(t.app, hostTeam).get(`documents/${partnerDoc}`)).statusCode).toBe(200);
    partnerBatch = (await api(t.app, partnerManager).post('disposal/batches', {})).json().id;
    hostBatch = (await api(t.app, hostManager).post('disposal/batches', {})).json().id;
    expect(partnerBatch).toBeTruthy();
    expect(hostBatch).toBeTruthy();
  });

  const outsiders = () => [
    ['the host team with manage access through the arrangement', hostTeam],
    ['a host records manager whose team serves the partner', hostTeamManager],
  ] as const;

  it.each([0, 1])('refuses outsider %i every step on the partner\'s batch with 404, and audits it', async (n) => {
    const [, who] = outsiders()[n]!;
    const as = api(t.app, who);
    expectProblem(await as.get(`disposal/batches/${partnerBatch}`), 404);
    expectProblem(await as.post(`disposal/batches/${partnerBatch}/decisions`, { items: [{ documentId: partnerDoc, decision: 'destroy' }] }), 404);
    expectProblem(await as.post(`disposal/batches/${partnerBatch}/approve`), 404);
    expectProblem(await as.get(`disposal/batches/${partnerBatch}/transfer`), 404);
    const user = (await t.vault.identity.userById(who.id))!;
    const actor = actorFor(user, { channel: 'api', clientAddress: null, requestId: null });
    await expect(t.vault.disposal.sweep(actor, partner.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await t.vault.audit.sequencer.flush();
    const denials = (await t.vault.store.repos.audit.forOrganisation(partner.id)).filter((e) => e.actorUserId === who.id && e.decision === 'deny');
    expect(denials.map((e) => e.action).sort()).toEqual(['records.dispose', 'records.dispose', 'records.dispose', 'records.dispose', 'records.read'].sort());
    expect(denials.filter((e) => e.targetIds.batchId === partnerBatch)).toHaveLength(4);
  });

  it("refuses the partner's records manager the host's batch: no view, no decision, no approval", async () => {
    const as = api(t.app, partnerManager);
    expectProblem(await as.get(`disposal/batches/${hostBatch}`), 404);
    expectProblem(await as.post(`disposal/batches/${hostBatch}/decisions`, { items: [{ documentId: partnerDoc, decision: 'destroy' }] }), 404);
    expectProblem(await as.post(`disposal/batches/${hostBatch}/approve`), 404);
    expect((await as.get('disposal/batches')).json().batches.map((b: { id: string }) => b.id)).toEqual([partnerBatch]);
  });

  it('refuses a member of the owning organisation (no records manager role), and leaves the batch undecided', async () => {
    const staff = await partner.user({ teams: ['hr'] });
    expectProblem(await api(t.app, staff).post(`disposal/batches/${partnerBatch}/decisions`, { items: [{ documentId: partnerDoc, decision: 'destroy' }] }), 404);
    expectProblem(await api(t.app, staff).post(`disposal/batches/${partnerBatch}/approve`), 404);
    expectProblem(await api(t.app, staff).post('disposal/batches', {}), 404);
    const view = (await api(t.app, partnerManager).get(`disposal/batches/${partnerBatch}`)).json();
    expect(view).toMatchObject({ status: 'review', counts: { pending: 1 } });
  });

  it('lets an auditor of the organisation read its batches but not decide', async () => {
    const auditor = await partner.user({ roles: ['auditor'] });
    expect((await api(t.app, auditor).get(`disposal/batches/${partnerBatch}`)).statusCode).toBe(200);
    expectProblem(await api(t.app, auditor).post(`disposal/batches/${partnerBatch}/approve`), 404);
  });

  it('refuses the system actor a decision: decisions are a person\'s', async () => {
    const { systemActor } = await import('../../src/services/identity.service.js');
    const error = await t.vault.disposal.decide(systemActor(), partnerBatch, [{ documentId: partnerDoc, decision: 'destroy' }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('FORBIDDEN');
  });
});
