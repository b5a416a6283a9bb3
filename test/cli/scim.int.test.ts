// `strongroom scim token create|list|revoke --org SLUG`: the operator makes an organisation's SCIM token
// (secret printed once), sees it listed with its last use, and revokes it; the directory is refused after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('scim token commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-scim-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('creates, lists and revokes an organisation\'s token, audited', { timeout: 180_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault);
    await closeKeepingData(v);
    const cli = (args: string[]) => runCli(['--data', place.dataDir, 'scim', 'token', ...args], { env: place.env });

    const created = await cli(['create', '--org', org.slug, '--name', 'Entra ID']);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^srscim_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/This is the only time the secret is shown/);

    v = await place.open();
    const used = await v.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${secret}` } });
    expect(used.statusCode, used.body).toBe(200);
    await closeKeepingData(v);

    const listed = await cli(['list', '--org', org.slug]);
    expect(listed.code, listed.stderr).toBe(0);
    const [id, name, createdAt, lastUsed, state] = listed.stdout.trim().split('\t');
    expect([name, state]).toEqual(['Entra ID', 'live']);
    expect(Date.parse(createdAt!)).not.toBeNaN();
    expect(Date.parse(lastUsed!)).not.toBeNaN();

    expect((await cli(['revoke', '--org', org.slug, id!])).code).toBe(0);
    const again = await cli(['revoke', '--org', org.slug, id!]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/That SCIM token is already revoked\./);
    const unknown = await cli(['revoke', '--org', org.slug, 'no-such-token']);
    expect(unknown.stderr).toMatch(/No SCIM token with that id exists/);

    v = await place.open();
    try {
      expect((await v.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${secret}` } })).statusCode).toBe(401);
      const events = await v.vault.store.db.selectFrom('audit_events').select(['action', 'decision', 'channel', 'target_ids']).where('target_organisation_id', '=', org.id).where('action', 'like', 'scim-token.%').orderBy('id').execute();
      expect(events.map((e) => [e.action, e.decision, e.channel])).toEqual([['scim-token.create', 'allow', 'cli'], ['scim-token.revoke', 'allow', 'cli']]);
    } finally {
      await closeKeepingData(v);
    }
  });
});
