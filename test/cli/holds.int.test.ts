// `strongroom hold add|list|release`: a records manager places a hold from the command line, the CLI's
// own document move is refused with the hold named, a release without a reason is refused, and a
// release with one is kept in the register.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('hold commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-holds-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('places a hold, refuses a move of what it holds, and releases it only with a reason', { timeout: 300_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const member = await org.user({ teams: ['finance'] });
    const doc = (await upload(v.app, member, org.collections.finance!, 'held.txt', 'keep me\n')).json();
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

    const added = await run(['hold', 'add', '--org', org.slug, '--name', 'Smith v Council', '--reason', 'Employment tribunal claim', '--documents', doc.id, '--as', manager.email]);
    expect(added.code, added.stderr).toBe(0);
    const holdId = added.stdout.trim();
    const moved = await run(['document', 'move', doc.id, '--name', 'renamed.txt', '--as', member.email]);
    expect(moved.code).not.toBe(0);
    expect(moved.stderr).toContain(`This document is under legal hold “Smith v Council” (hold ${holdId}); it cannot be deleted, changed or disposed of until the hold is released.`);
    const noReason = await run(['hold', 'release', holdId, '--reason', 'short', '--as', manager.email]);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toContain('Give the reason for releasing this hold.');
    const released = await run(['hold', 'release', holdId, '--reason', 'Claim settled out of court', '--as', manager.email]);
    expect(released.code, released.stderr).toBe(0);
    const listed = await run(['hold', 'list', '--org', org.slug]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\t').slice(0, 6)).toEqual([holdId, 'released', 'Smith v Council', '', '1', '0']);

    v = await place.open();
    try {
      const rows = await v.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'channel']).where('action', 'in', ['records.hold.create', 'records.hold.add', 'records.hold.release']).execute();
      expect(rows.map((r) => `${r.action}:${r.decision}:${r.channel}`).sort()).toEqual(['records.hold.add:allow:cli', 'records.hold.create:allow:cli', 'records.hold.release:allow:cli']);
      expect((await v.vault.store.repos.documents.byId(doc.id))!.name).toBe('held.txt');
    } finally {
      await closeKeepingData(v);
    }
  });

  it('places nothing when one of the items cannot be held: no empty hold is left in the register', { timeout: 300_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const other = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const manager = await org.user({ roles: ['records_manager'] });
    const member = await org.user({ teams: ['finance'] });
    const stranger = await other.user({ teams: ['finance'] });
    const own = (await upload(v.app, member, org.collections.finance!, 'ours.txt', 'ours\n')).json();
    const theirs = (await upload(v.app, stranger, other.collections.finance!, 'theirs.txt', 'theirs\n')).json();
    await closeKeepingData(v);
    const run = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });
    const refused = await run(['hold', 'add', '--org', org.slug, '--name', 'Jones v Council', '--reason', 'Employment tribunal claim', '--documents', `${own.id},${theirs.id}`, '--as', manager.email]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('No document with that id exists, or you do not have access to it.');
    v = await place.open();
    try {
      expect((await v.vault.store.repos.holds.list(org.id)).map((h) => h.name)).toEqual([]);
    } finally {
      await closeKeepingData(v);
    }
  });
});
