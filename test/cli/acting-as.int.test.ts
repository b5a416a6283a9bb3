// Every command that acts as a named person (`--as EMAIL`) refuses a person whose account is switched off,
// with a clear error and a non-zero exit, and audits the refusal (`account_disabled`) as actorNow audits one
// mid-request. `strongroom search --as` searched as whoever the e-mail named, switched off or not (outside
// review of 5 December); so did the file-plan, hold and import commands, each looking the person up itself.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { canaryWord, drainJobs } from '../search/support.js';

const clamd = useClamd();

describe.each(DIALECTS)('commands acting as a person switched off, on %s', (dialect) => {
  let place: SharedVaultPlace;
  let org: TestOrganisation;
  let member: TestUser;
  let manager: TestUser;
  let documentId: string;
  let holdId: string;
  let importDir: string;
  const word = canaryWord();
  const run = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-acting-as-');
    importDir = await mkdtemp(path.join(tmpdir(), 'sr-cli-acting-as-import-'));
    await writeFile(path.join(importDir, 'minutes.txt'), 'Minutes of the finance committee\n');
    const v = await place.open();
    try {
      org = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL', payroll: 'OFFICIAL' } });
      member = await org.user({ teams: ['finance', 'payroll'] });
      manager = await org.user({ roles: ['records_manager'], teams: ['finance'] });
      documentId = (await upload(v.app, member, org.collections.finance!, 'grant.txt', `Grant letter ${word}\n`)).json().id as string;
      await drainJobs(v.vault);
      const managerNow = actorFor(await v.vault.identity.userByEmail(manager.email), { channel: 'api', clientAddress: null, requestId: null });
      holdId = (await v.vault.holds.create(managerNow, { name: 'Audit inquiry', reason: 'External audit of grants' })).id;
      // Found before they are switched off: the refusal below is theirs, not an empty result.
      const found = await run(['search', '--as', member.email, word]);
      expect(found.code, found.stderr).toBe(0);
      expect(found.stdout).toContain(documentId);
      await v.vault.people.setDisabled(systemActor(), member.id, true);
      await v.vault.people.setDisabled(systemActor(), manager.id, true);
    } finally {
      await closeKeepingData(v);
    }
  }, 300_000);
  afterAll(async () => {
    await place?.remove();
    if (importDir) await rm(importDir, { recursive: true, force: true });
  });

  const refusals = async (userId: string) => {
    const v = await place.open();
    try {
      return await v.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'reason', 'channel']).where('actor_user_id', '=', userId)
        .where('decision', '=', 'deny').execute();
    } finally {
      await closeKeepingData(v);
    }
  };

  it('search: refused with a clear error, exit 1, nothing found, and the refusal audited', async () => {
    const before = (await refusals(member.id)).filter((e) => e.action === 'search.query').length;
    const refused = await run(['search', '--as', member.email, word]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`strongroom: The account of ${member.email} is switched off: nothing can be done as them until it is switched on again.`);
    const events = (await refusals(member.id)).filter((e) => e.action === 'search.query');
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toEqual({ action: 'search.query', decision: 'deny', reason: 'account_disabled', channel: 'cli' });
  }, 120_000);

  it('file plan and holds: each command refuses, changes nothing, and audits the refusal as the action it would have taken', async () => {
    const attempts: [string[], string, string][] = [
      [['collection', 'move', org.collections.payroll!, '--name', 'wages', '--as', member.email], 'collection.move', member.id],
      [['document', 'move', documentId, '--name', 'renamed.txt', '--as', member.email], 'document.move', member.id],
      [['document', 'copy', documentId, '--collection', org.collections.payroll!, '--as', member.email], 'document.copy', member.id],
      [['hold', 'add', '--org', org.slug, '--name', 'Smith v Council', '--reason', 'Employment tribunal claim', '--documents', documentId, '--as', manager.email], 'records.hold', manager.id],
      [['hold', 'release', holdId, '--reason', 'Inquiry closed without findings', '--as', manager.email], 'records.hold.release', manager.id],
    ];
    for (const [args, action, userId] of attempts) {
      const refused = await run(args);
      expect(refused.code, args.join(' ')).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toContain('is switched off: nothing can be done as them');
      expect((await refusals(userId)).filter((e) => e.action === action)).toEqual([{ action, decision: 'deny', reason: 'account_disabled', channel: 'cli' }]);
    }
    const v = await place.open();
    try {
      expect((await v.vault.store.repos.documents.byId(documentId))!.name).toBe('grant.txt');
      expect((await v.vault.store.repos.collections.byId(org.collections.payroll!))!.name).toBe('payroll');
      expect(await v.vault.store.repos.documents.inCollection(org.collections.payroll!, { includeDeleted: true })).toEqual([]);
      expect((await v.vault.store.repos.holds.byId(holdId))!.releasedAt).toBeNull();
    } finally {
      await closeKeepingData(v);
    }
  }, 300_000);

  it('import --as: refused before anything is imported (exit 2), the refusal audited', async () => {
    const refused = await run(['import', importDir, '--collection', org.collections.finance!, '--as', member.email]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`The account of ${member.email} is switched off`);
    expect((await refusals(member.id)).filter((e) => e.action === 'document.create')).toEqual([{ action: 'document.create', decision: 'deny', reason: 'account_disabled', channel: 'cli' }]);
    const v = await place.open();
    try {
      expect((await v.vault.store.repos.documents.inCollection(org.collections.finance!, {})).map((d) => d.name)).toEqual(['grant.txt']);
    } finally {
      await closeKeepingData(v);
    }
  }, 120_000);
});
