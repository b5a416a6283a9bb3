// `strongroom user add` records the person's state as the admin pages do, so `audit verify` passes; a role
// then written into the database directly fails it, naming the person; `audit baseline-people` has no one
// to record (everyone the CLI adds is bound already) and so cannot vouch for that change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('people and audit verify through the CLI on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-people-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('a person added by the CLI passes verify; their roles changed directly fail it, and the baseline records no one', { timeout: 180_000 }, async () => {
    let v = await place.open();
    const org = await createOrganisation(v.vault);
    await closeKeepingData(v);
    const cli = (args: string[], input?: string) => runCli(['--data', place.dataDir, ...args], { env: place.env, ...(input === undefined ? {} : { input }) });
    const email = `clerk@${org.slug}.test`;
    const added = await cli(['user', 'add', '--org', org.slug, '--email', email, '--name', 'Clerk', '--team', 'hr', '--clearance', 'OFFICIAL', '--password-stdin'], 'a-long-test-passphrase-123');
    expect(added.code, added.stderr).toBe(0);
    const verified = await cli(['audit', 'verify']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toMatch(/Audit log verified/);

    v = await place.open();
    const id = (await v.vault.store.repos.users.byEmail(email))!.id;
    await v.vault.store.db.updateTable('users').set({ roles: '["org_admin"]' }).where('id', '=', id).execute();
    await closeKeepingData(v);
    const failed = await cli(['audit', 'verify']);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`Person ${id} (organisation ${org.id}) differs from their latest recorded change`);
    const baseline = await cli(['audit', 'baseline-people']);
    expect(baseline.code, baseline.stderr).toBe(0);
    expect(baseline.stdout.trim()).toBe('0');
    expect((await cli(['audit', 'verify'])).code).toBe(1);
  });
});
