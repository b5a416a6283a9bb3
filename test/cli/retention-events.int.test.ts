// `strongroom retention event record|clear|list` as a named records manager: a later date is recorded, an
// earlier one is refused (nothing recorded, audited) with what to type next, a member of the team cannot
// clear one even confirming, and the records manager's confirmed clearing falls back to the earlier event.
// `list` shows a collection's or a document's events, inherited ones included, as a table or JSON; to
// another council's records manager, to a member, and to a records manager cleared below the folder or the
// record it answers what an unknown id gets.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { fileCollectionUnder } from '../support/records.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { systemActor } from '../../src/services/identity.service.js';
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
      await v.vault.audit.sequencer.integrate();
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

  it('lists the events that reach a collection or a document, inherited ones marked, and answers anyone but its records people as an unknown id', { timeout: 300_000 }, async () => {
    const v = await place.open();
    const org = await createOrganisation(v.vault, { areas: { hr: 'OFFICIAL' } });
    const other = await createOrganisation(v.vault, { areas: { hr: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const member = await org.user({ teams: ['hr'] });
    const otherManager = await other.user({ roles: ['records_manager'] });
    const lowManager = await org.user({ roles: ['records_manager'], clearance: 'OFFICIAL' });
    const top = org.collections.hr!;
    const folder = (await v.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name: 'Leavers', serviceArea: 'hr', classification: 'OFFICIAL' })).id;
    const grievances = (await v.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId: top, name: 'Grievances', serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).id;
    await fileCollectionUnder(v.vault, org.id, top, { code: 'HR-LIST', trigger: 'employment_end', retainYears: 7, action: 'review' });
    const doc = (await upload(v.app, member, folder, 'leaver.txt', 'leaver\n')).json().id as string;
    const grievance = (await upload(v.app, member, grievances, 'grievance.txt', 'grievance\n')).json().id as string;
    const event = (id: string, date: string, recordedAt: string, place: { documentId: string } | { collectionId: string }) => v.vault.store.repos.retention.insertEvent({
      id, organisationId: org.id, kind: 'employment_end', date, documentId: null, collectionId: null, ...place, recordedBy: manager.id, recordedAt, clearedAt: null, clearedBy: null,
    });
    const [topId, folderId] = [randomUUID(), randomUUID()];
    await event(topId, '2025-09-30', '2026-01-05T09:00:00.000Z', { collectionId: top });
    await event(folderId, '2025-10-31', '2026-01-06T09:00:00.000Z', { collectionId: folder });
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, 'retention', 'event', 'list', ...args], { env: place.env });

    const table = await run(['--document', doc, '--as', manager.email]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stderr).toBe('');
    const pad = (cells: string[], widths: number[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    const rows = [
      ['id', 'kind', 'date', 'recorded for', 'reach', 'in force', 'recorded by', 'recorded at'],
      [folderId, 'employment_end', '2025-10-31', `collection ${folder}`, 'inherited', 'yes', manager.email, '2026-01-06T09:00:00.000Z'],
      [topId, 'employment_end', '2025-09-30', `collection ${top}`, 'inherited', 'no', manager.email, '2026-01-05T09:00:00.000Z'],
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    expect(table.stdout).toBe(rows.map((r) => `${pad(r, widths)}\n`).join(''));

    const json = await run(['--collection', folder, '--as', manager.email, '--json']);
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { id: string; inherited: boolean; inForce: boolean; recordedByEmail: string }[]).map((e) => [e.id, e.inherited, e.inForce, e.recordedByEmail]))
      .toEqual([[folderId, false, true, manager.email], [topId, true, false, manager.email]]);

    const unknown = await run(['--collection', randomUUID(), '--as', manager.email]);
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([1, '', 'strongroom: No collection with that id exists, or you do not have access to it.\n']);
    const unknownDoc = await run(['--document', randomUUID(), '--as', manager.email]);
    expect([unknownDoc.code, unknownDoc.stdout, unknownDoc.stderr]).toEqual([1, '', 'strongroom: No document with that id exists, or you do not have access to it.\n']);
    for (const who of [otherManager.email, member.email]) {
      expect(await run(['--collection', folder, '--as', who])).toMatchObject({ code: 1, stdout: '', stderr: unknown.stderr });
      expect(await run(['--document', doc, '--as', who])).toMatchObject({ code: 1, stdout: '', stderr: unknownDoc.stderr });
    }
    // A records manager cleared below a folder or a record is not told its events either; their records manager colleague is.
    expect(await run(['--collection', grievances, '--as', lowManager.email])).toMatchObject({ code: 1, stdout: '', stderr: unknown.stderr });
    expect(await run(['--document', grievance, '--as', lowManager.email])).toMatchObject({ code: 1, stdout: '', stderr: unknownDoc.stderr });
    expect(await run(['--document', grievance, '--as', manager.email, '--json'])).toMatchObject({ code: 0, stderr: '' });
    expect(await run(['--document', doc, '--as', lowManager.email, '--json'])).toMatchObject({ code: 0, stderr: '' });
    // What recording tells the member, too.
    const recording = await runCli(['--data', place.dataDir, 'retention', 'event', 'record', '--kind', 'employment_end', '--date', '2025-11-30', '--collection', folder, '--as', member.email], { env: place.env });
    expect([recording.code, recording.stderr]).toEqual([1, unknown.stderr]);

    const neither = await run(['--as', manager.email]);
    expect([neither.code, neither.stderr]).toEqual([1, 'strongroom: Give either --collection or --document: the collection or the document whose events to list.\n']);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--document <id>');
    expect(help.stdout).toContain('--json');

    const w = await place.open();
    try {
      await w.vault.audit.sequencer.integrate();
      const refusals = (await w.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.decision === 'deny').map((e) => [e.actorUserId, e.action, e.reason, e.channel, e.targetIds]);
      expect(refusals).toEqual([
        [otherManager.id, 'records.read', 'other_organisation', 'cli', { collectionId: folder }], [otherManager.id, 'records.read', 'other_organisation', 'cli', { documentId: doc }],
        [member.id, 'records.read', 'role', 'cli', { collectionId: folder }], [member.id, 'records.read', 'role', 'cli', { documentId: doc }],
        [lowManager.id, 'collection.list', 'clearance', 'cli', { collectionId: grievances }], [lowManager.id, 'document.read', 'clearance', 'cli', { documentId: grievance }],
        [member.id, 'records.file-plan', 'role', 'cli', { collectionId: folder }],
      ]);
    } finally {
      await closeKeepingData(w);
    }
  });
});
