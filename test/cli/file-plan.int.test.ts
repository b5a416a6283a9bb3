// `strongroom collection move` and `strongroom document move|copy` act as a named person through the
// same service operations as every other interface: a collection leaving a joint workspace stops
// being shared, a rename to a blocked type is refused, and a copy records where it came from.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { runCli } from '../support/cli.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { api } from '../support/http.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, upload } from '../support/vault.js';

let clamd: TestClamd;
let dataDir: string;
beforeAll(async () => {
  clamd = await startTestClamd();
  dataDir = await mkdtemp(path.join(tmpdir(), 'sr-fileplan-'));
});
afterAll(async () => {
  await clamd?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('file plan commands', () => {
  it('moves a collection out of a workspace, refuses a blocked rename, and copies with provenance', { timeout: 180_000 }, async () => {
    let v = await openVaultAt(dataDir, clamd.socketPath);
    const host = await createOrganisation(v.vault);
    const partner = await createOrganisation(v.vault);
    const arrangement = await v.vault.arrangements.propose(systemActor(), {
      hostOrganisationId: host.id, partnerOrganisationIds: [partner.id], serviceArea: 'payroll', purpose: 'Shared payroll',
      lawfulBasis: 'Local Government Act 1972 s.101', accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE',
    }, { approve: true });
    const workspace = await v.vault.arrangements.createWorkspace(systemActor(), arrangement.id, 'Joint');
    const hostStaff = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const bids = (await api(v.app, hostStaff).post('collections', { name: 'Bids', parentId: workspace.id, serviceArea: 'payroll', classification: 'OFFICIAL' })).json();
    const doc = (await upload(v.app, partnerStaff, bids.id, 'bid.txt', 'echo bid\r\n')).json();
    const own = (await upload(v.app, partnerStaff, partner.collections.payroll!, 'own.txt', 'own\n')).json();
    await closeKeepingData(v);

    const env = { STRONGROOM_CLAMD: clamd.socketPath };
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

    v = await openVaultAt(dataDir, clamd.socketPath);
    try {
      expect((await api(v.app, partnerStaff).get(`documents/${doc.id}`)).statusCode).toBe(404);
      expect((await api(v.app, hostStaff).get(`documents/${doc.id}`)).json()).toMatchObject({ name: 'bid.txt' });
      expect((await api(v.app, hostStaff).get(`documents/${copyId}`)).json()).toMatchObject({ copiedFromDocumentId: own.id, copiedViaArrangementId: arrangement.id });
    } finally {
      await closeKeepingData(v);
    }
  });
});
