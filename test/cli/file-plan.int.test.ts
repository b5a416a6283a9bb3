// `strongroom collection move` and `strongroom document move|copy` act as a named person through the
// same service operations as every other interface: a collection leaving a joint workspace stops
// being shared, a rename to a blocked type is refused, and a copy records where it came from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { systemActor } from '../../src/services/identity.service.js';
import { runCli } from '../support/cli.js';
import { api } from '../support/http.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('file plan commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  let dataDir: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-fileplan-');
    dataDir = place.dataDir;
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('moves a collection out of a workspace, refuses a blocked rename, and copies with provenance', { timeout: 180_000 }, async () => {
    let v = await place.open();
    const { host, partner, arrangement } = await createPartnership(v.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const workspace = await v.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint');
    const hostStaff = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const bids = (await api(v.app, hostStaff).post('collections', { name: 'Bids', parentId: workspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' })).json();
    const doc = (await upload(v.app, partnerStaff, bids.id, 'bid.txt', 'echo bid\r\n')).json();
    const own = (await upload(v.app, partnerStaff, partner.collections.payroll!, 'own.txt', 'own\n')).json();
    await closeKeepingData(v);

    const env = place.env;
    const moved = await runCli(['--data', dataDir, 'collection', 'move', bids.id, '--parent', host.collections.payroll!, '--as', hostStaff.email], { env });
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout.trim()).toBe(bids.id);
    expect(moved.stderr).toContain('not shared');

    const blocked = await runCli(['--data', dataDir, 'document', 'move', doc.id, '--name', 'bid.bat', '--as', hostStaff.email], { env });
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toBe('');

    const copied = await runCli(['--data', dataDir, 'document', 'copy', own.id, '--collection', host.collections.payroll!, '--as', hostStaff.email], { env });
    expect(copied.code, copied.stderr).toBe(0);
    const copyId = copied.stdout.trim();

    v = await place.open();
    try {
      expect((await api(v.app, partnerStaff).get(`documents/${doc.id}`)).statusCode).toBe(404);
      expect((await api(v.app, hostStaff).get(`documents/${doc.id}`)).json()).toMatchObject({ name: 'bid.txt' });
      expect((await api(v.app, hostStaff).get(`documents/${copyId}`)).json()).toMatchObject({ copiedFromDocumentId: own.id, copiedViaArrangementId: arrangement.id });
    } finally {
      await closeKeepingData(v);
    }
  });
});
