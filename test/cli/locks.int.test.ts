// `strongroom lock list` and `lock break`: an administrator on the server lists the live locks on an
// organisation's resources and breaks one; the break is audited and the lock stops binding.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('lock commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  let dataDir: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-locks-');
    dataDir = place.dataDir;
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('lists an organisation’s locks and breaks one, audited', { timeout: 180_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault, { areas: { finance: 'OFFICIAL' } });
    const holder = await org.user({ teams: ['finance'] });
    const user = (await v.vault.identity.userById(holder.id))!;
    const actor = actorFor(user, { channel: 'webdav', clientAddress: null, requestId: null });
    const collection = (await v.vault.store.repos.collections.byId(org.collections.finance!))!;
    const lock = await v.vault.locks.take(actor, { kind: 'collection', collection }, { scope: 'exclusive', depth: 'infinity', owner: null, timeoutSeconds: 600, rootPath: `/dav/${org.slug}/finance` });
    await closeKeepingData(v);
    const env = place.env;

    const listed = await runCli(['--data', dataDir, 'lock', 'list', '--org', org.slug], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.trim().split('\t')).toEqual([lock.token, `collection:${collection.id}`, 'finance', 'infinity', holder.email, lock.expiresAt]);
    const broken = await runCli(['--data', dataDir, 'lock', 'break', lock.token], { env });
    expect(broken.code, broken.stderr).toBe(0);
    const again = await runCli(['--data', dataDir, 'lock', 'break', lock.token], { env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/No lock with that id exists/);

    v = await place.open();
    try {
      expect(await v.vault.locks.listForOrganisation(systemActor(), org.id)).toEqual([]);
      const rows = await v.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'channel', 'target_ids']).where('action', '=', 'lock.break').execute();
      expect(rows.filter((r) => String(r.target_ids).includes(lock.token))).toEqual([expect.objectContaining({ decision: 'allow', channel: 'cli' })]);
    } finally {
      await closeKeepingData(v);
    }
  });
});
