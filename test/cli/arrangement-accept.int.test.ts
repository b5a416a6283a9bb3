// Recording a partner's acceptance at the command line: `arrangement show` gives the revisions,
// `arrangement accept --partner --revision` is bound to the terms reviewed exactly as the API is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { api } from '../support/http.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('arrangement accept at the command line on %s', (dialect) => {
  let place: SharedVaultPlace;
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-accept-');
    ({ dataDir, env } = place);
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('refuses a stale or misdirected acceptance with a clear message, and records a current one', { timeout: 180_000 }, async () => {
    const v = await place.open();
    const [host, partner] = [await createOrganisation(v.vault), await createOrganisation(v.vault)];
    const hostAdmin = await host.user({ roles: ['org_admin'] });
    const proposed = await api(v.app, hostAdmin).post('arrangements', {
      partners: [partner.slug], serviceArea: 'payroll', purpose: 'Payroll', lawfulBasis: 'Public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const id = proposed.json().id as string;
    expect((await api(v.app, hostAdmin).patch(`arrangements/${id}`, { accessLevel: 'manage' })).statusCode).toBe(200);
    await closeKeepingData(v);

    const cli = (args: string[]) => runCli(['--data', dataDir, 'arrangement', ...args], { env });
    const shown = await cli(['show', id]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout).arrangement).toMatchObject({ revision: 2, termsRevision: 2, accessLevel: 'manage' });

    const stale = await cli(['accept', id, '--partner', partner.slug, '--revision', '1']);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('The terms of this arrangement changed since you reviewed them (you reviewed revision 1; it is now revision 2). Review the new terms and accept again.');
    const forHost = await cli(['accept', id, '--partner', host.slug, '--revision', '2']);
    expect(forHost.code).not.toBe(0);
    expect(forHost.stderr).toContain('Only a partner organisation of this arrangement can accept it.');
    const notANumber = await cli(['accept', id, '--partner', partner.slug, '--revision', 'latest']);
    expect(notANumber.code).not.toBe(0);
    expect(notANumber.stderr).toContain('Give the revision of the terms you reviewed, a whole number such as 3.');
    expect(JSON.parse((await cli(['show', id])).stdout).arrangement).toMatchObject({ status: 'draft', acceptedBy: [], revision: 2 });

    const accepted = await cli(['accept', id, '--partner', partner.slug, '--revision', '2']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain(`Arrangement ${id} is now active (revision 3).`);
    const after = JSON.parse((await cli(['show', id])).stdout);
    expect(after.arrangement).toMatchObject({ status: 'active', acceptedBy: [partner.id], termsRevision: 2 });
    expect(after.revisions.at(-1)).toMatchObject({ revision: 3, change: 'accepted; now active', changedBy: null });
    // The list's second column is what it means now; --standing filters on it, --status on the lifecycle.
    const listed = async (filter: string[]) => (await cli(['list', ...filter])).stdout.split('\n').filter((line) => line.startsWith(id)).map((line) => line.split('\t')[1]);
    expect(await listed([])).toEqual(['in-force']);
    expect(await listed(['--standing', 'in-force'])).toEqual(['in-force']);
    expect(await listed(['--standing', 'expired'])).toEqual([]);
    expect(await listed(['--status', 'active'])).toEqual(['in-force']);
  });
});
