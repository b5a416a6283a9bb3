// `strongroom retention event record|clear` as a named records manager: a later date is recorded, an
// earlier one is refused (nothing recorded, audited) with what to type next, a member of the team cannot
// clear one even confirming, and the records manager's confirmed clearing falls back to the earlier event.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { fileCollectionUnder } from '../support/records.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('retention event commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-events-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('records a later event, refuses an earlier one without --confirm-shorter, and clears only for the records manager who confirms', { timeout: 300_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault, { areas: { hr: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const member = await org.user({ teams: ['hr'] });
    const folder = org.collections.hr!;
    await fileCollectionUnder(v.vault, org.id, folder, { code: 'HR-01', trigger: 'employment_end', retainYears: 7, action: 'review' });
    const doc = (await upload(v.app, member, folder, 'contract.txt', 'contract\n')).json();
    // Employment ended on 30 September 2025, as recorded before.
    const firstId = randomUUID();
    await v.vault.store.repos.retention.insertEvent({
      id: firstId, organisationId: org.id, kind: 'employment_end', date: '2025-09-30', documentId: null, collectionId: folder,
      recordedBy: manager.id, recordedAt: new Date(Date.now() - 60_000).toISOString(), clearedAt: null, clearedBy: null,
    });
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, 'retention', 'event', ...args], { env: place.env });

    const later = await run(['record', '--kind', 'employment_end', '--date', '2025-10-31', '--collection', folder, '--as', manager.email]);
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(later.stderr).toBe(`Recorded employment_end on 2025-10-31 for collection ${folder}.\n`);
    const laterId = later.stdout.trim();

    const earlier = await run(['record', '--kind', 'employment_end', '--date', '2025-06-30', '--collection', folder, '--as', manager.email]);
    expect(earlier.code).toBe(1);
    expect(earlier.stdout).toBe('');
    expect(earlier.stderr).toBe('strongroom: Recording this event would bring the due date of 1 document earlier, the earliest to 2032-06-30. '
      + 'Nothing was recorded. Check the date, then re-run with --confirm-shorter to go ahead.\n');

    const byMember = await run(['clear', laterId, '--confirm-shorter', '--as', member.email]);
    expect(byMember.code).toBe(1);
    expect(byMember.stderr).toBe('strongroom: No retention event with that id exists, or you do not have access to it.\n');

    const cleared = await run(['clear', laterId, '--confirm-shorter', '--as', manager.email]);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stderr).toBe('Cleared the employment_end event of 2025-10-31.\n');

    v = await place.open();
    try {
      const events = await v.vault.store.repos.retention.eventsFor({ documentIds: [], collectionIds: [folder] });
      expect(events.map((e) => [e.id, e.date, e.clearedBy]).sort()).toEqual([[firstId, '2025-09-30', null], [laterId, '2025-10-31', manager.id]].sort());
      expect((await v.vault.retention.retentionFacts([doc.id])).get(doc.id)).toMatchObject({ state: 'scheduled', dueAt: '2032-09-30' });
      await v.vault.audit.integrate();
      const audited = (await v.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action.startsWith('records.event.') || e.action === 'records.file-plan')
        .map((e) => [e.action, e.decision, e.reason, e.channel, e.actorUserId, e.targetIds]);
      expect(audited).toEqual([
        ['records.event.record', 'allow', 'records_manager', 'cli', manager.id, { eventId: laterId, kind: 'employment_end', date: '2025-10-31', collectionId: folder }],
        ['records.event.record', 'deny', 'retention_shortened', 'cli', manager.id, { kind: 'employment_end', date: '2025-06-30', collectionId: folder, movedEarlier: '1' }],
        // The policy's refusal, audited as the records action it asked for.
        ['records.file-plan', 'deny', 'role', 'cli', member.id, { eventId: laterId }],
        ['records.event.clear', 'allow', 'records_manager', 'cli', manager.id, { eventId: laterId, kind: 'employment_end', movedEarlier: '1', movedLater: '0', confirmShorter: 'true' }],
      ]);
    } finally {
      await closeKeepingData(v);
    }
  });
});
