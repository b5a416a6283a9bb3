// The Storage page's counts (ReplicationService.healthFor, `storage.read`: a council's org admins and security
// admins) are of the council's own versions. Until 8 December they were the whole vault's, so an admin of one
// council, sharing nothing with another, saw "Versions waiting to be copied offsite" rise by exactly the other's
// uploads as they happened, and its damaged versions in "no good copy left" (attack review of bulk and indirect
// disclosure). The whole vault's stay the operator's: the system actor (`storage.read-vault`) and /metrics.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { DomainError } from '../../src/domain/errors.js';
import type { Actor } from '../../src/domain/types.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('storage counts by organisation on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  const actor = (user: TestUser): Promise<Actor> => t.vault.identity.actingAs(user.email, 'storage.read', { channel: 'web', clientAddress: null, requestId: null });
  const gauge = async (name: string): Promise<number> => {
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics.body)?.[1]);
  };
  const store = async (org: TestOrganisation, member: TestUser, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await upload(t.app, member, org.collections.payroll!, `payslip-${randomBytes(4).toString('hex')}.bin`, randomBytes(64));
      expect(res.statusCode, res.body).toBe(201);
      ids.push(res.json().id as string);
    }
    return ids;
  };
  /** Both copies of a document's current version lost, as the scrub then finds them. */
  const lose = async (documentId: string): Promise<void> => {
    const version = (await t.vault.store.repos.documents.versionById((await t.vault.store.repos.documents.byId(documentId))!.currentVersionId!))!;
    await t.vault.blobStore.delete(version.blobId);
    await t.vault.replicaStore!.delete(version.blobId);
    await t.vault.scrub.run({ versionId: version.id, bytesPerSecond: 1e9 });
  };

  it('counts only the council\'s own versions for its admins, and the whole vault\'s for the operator and /metrics', async () => {
    const north = await createOrganisation(t.vault);
    const south = await createOrganisation(t.vault);
    const northAdmin = await actor(await north.user({ roles: ['org_admin'] }));
    const northSecurity = await actor(await north.user({ roles: ['security_admin'] }));
    const southAdmin = await actor(await south.user({ roles: ['org_admin'] }));
    const [northMember, southMember] = await Promise.all([north.user({ teams: ['payroll'] }), south.user({ teams: ['payroll'] })]);
    // Everything so far copied offsite: the counts start from a settled replica.
    for (let i = 0; i < 50 && (await t.vault.worker.runDue()) > 0; i++);

    await store(north, northMember, 1);
    // South, which shares nothing with North, uploads three files.
    const southDocuments = await store(south, southMember, 3);
    for (const admin of [northAdmin, northSecurity]) expect(await t.vault.replication.healthFor(admin)).toMatchObject({ of: 'organisation', enabled: true, pending: 1, unrecoverable: 0 });
    expect(await t.vault.replication.healthFor(southAdmin)).toMatchObject({ of: 'organisation', pending: 3, unrecoverable: 0 });
    expect(await t.vault.replication.healthFor(systemActor())).toMatchObject({ of: 'vault', pending: 4, unrecoverable: 0 });
    expect(await gauge('strongroom_replica_pending_blobs')).toBe(4);

    // Copied; then one of South's versions is lost on both sides.
    for (let i = 0; i < 50 && (await t.vault.worker.runDue()) > 0; i++);
    await lose(southDocuments[0]!);
    expect(await t.vault.replication.healthFor(northAdmin)).toMatchObject({ of: 'organisation', pending: 0, oldestWaitingSeconds: 0, unrecoverable: 0 });
    expect(await t.vault.replication.healthFor(southAdmin)).toMatchObject({ of: 'organisation', pending: 0, unrecoverable: 1 });
    expect(await t.vault.replication.healthFor(systemActor())).toMatchObject({ of: 'vault', pending: 0, unrecoverable: 1 });
    expect(await gauge('strongroom_blobs_unrecoverable')).toBe(1);

    // Nobody else at North reads even its own (a member: as if there were no such thing, audited).
    const refused = await t.vault.replication.healthFor(await actor(northMember)).then(() => null, (error: unknown) => error as DomainError);
    expect(refused?.code).toBe('NOT_FOUND');
  });
});
