// Attack review of RetentionEventsService (split out of RetentionService) as the CLI's --as reaches it: a
// host's records manager, whose payroll team serves a partner under an arrangement (`manage`), records or
// clears nothing on the partner's collection or documents (alone, or hidden in a batch with their own),
// each refusal audited; more than 1,000 ids are refused before anything is decided; a switched-off records
// manager is refused by actingAs. These pass: they pin what was found sound.
import { describe, expect, it } from 'vitest';
import { actingAs } from '../../src/cli/acting-as.js';
import { fileCollectionUnder } from '../support/records.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('retention events attacked on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('the host\'s records manager, whose team serves a partner, records and clears nothing of the partner\'s, alone or in a batch with their own', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const ownerManager = await partner.user({ roles: ['records_manager'] });
    const ownerStaff = await partner.user({ teams: ['payroll'] });
    const servingManager = await host.user({ roles: ['member', 'records_manager'], teams: ['payroll'] });
    const servingStaff = await host.user({ teams: ['payroll'] });
    const series = { code: 'ATTACK-PAY', trigger: 'employment_end' as const, retainYears: 6, serviceArea: 'payroll' };
    await fileCollectionUnder(t.vault, partner.id, partner.collections.payroll!, series);
    await fileCollectionUnder(t.vault, host.id, host.collections.payroll!, series);
    const theirDoc = (await upload(t.app, ownerStaff, partner.collections.payroll!, 'payslips.txt', 'partner\n')).json();
    const ownDoc = (await upload(t.app, servingStaff, host.collections.payroll!, 'own.txt', 'own\n')).json();
    // The serving records manager (payroll team) does reach the partner's document through the arrangement.
    const reached = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${theirDoc.id}/content`, headers: { authorization: `Bearer ${servingManager.token}` } });
    expect(reached.statusCode, reached.body).toBe(200);

    const asServing = await actingAs(t.vault, servingManager.email, 'records.event.record');
    const event = { kind: 'employment_end', date: '2025-09-30' };
    for (const input of [{ collectionId: partner.collections.payroll! }, { documentIds: [theirDoc.id] }, { documentIds: [ownDoc.id, theirDoc.id] }]) {
      await expect(t.vault.retentionEvents.recordEvent(asServing, { ...event, ...input }, { confirmShorter: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(await t.vault.store.repos.retention.eventsFor({ documentIds: [theirDoc.id, ownDoc.id], collectionIds: [host.collections.payroll!, partner.collections.payroll!] })).toEqual([]);

    const [theirEvent] = await t.vault.retentionEvents.recordEvent(await actingAs(t.vault, ownerManager.email, 'records.event.record'), { ...event, documentIds: [theirDoc.id] });
    await expect(t.vault.retentionEvents.clearEvent(asServing, theirEvent!.id, { confirmShorter: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await t.vault.store.repos.retention.event(theirEvent!.id))!.clearedAt).toBeNull();

    await t.vault.audit.sequencer.integrate();
    const refusals = (await t.vault.store.repos.audit.forOrganisation(partner.id)).filter((e) => e.actorUserId === servingManager.id && e.decision === 'deny')
      .map((e) => [e.action, e.reason, e.targetOrganisationId]);
    expect(refusals).toEqual(Array(4).fill(['records.file-plan', 'other_organisation', partner.id]));
  });

  it('refuses 1,001 documents at once before deciding any, and a switched-off records manager before anything', async () => {
    const { host } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL' });
    const manager = await host.user({ roles: ['records_manager'] });
    const admin = await host.user({ roles: ['member', 'org_admin'] });
    const ids = Array.from({ length: 1001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    await expect(t.vault.retentionEvents.recordEvent(await actingAs(t.vault, manager.email, 'records.event.record'), { kind: 'employment_end', date: '2025-09-30', documentIds: ids }))
      .rejects.toMatchObject({ code: 'INVALID', details: { field: 'documentIds' } });
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/users/${manager.id}/disable`, headers: { authorization: `Bearer ${admin.token}` } })).statusCode).toBe(204);
    await expect(actingAs(t.vault, manager.email, 'records.event.record')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
