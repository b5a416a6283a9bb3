// The offsite replica (STRONGROOM_REPLICA, by default <offsite>/blobs): every committed version's
// encrypted blob reaches it under the same id, byte for byte, by the `replicate` job queued with the
// version; the lag gauges count what has not arrived yet; a destroyed version's copy is deleted there,
// and a replica that refuses the delete (a write-once bucket) is recorded, not retried for ever.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { BlobStore } from '../../src/domain/ports.js';
import { FsBlobStore } from '../../src/storage/fs.blob-store.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { strongroomTestSample } from '../support/samples.js';
import { DIALECTS, auth, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function ids(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const id of store.list()) out.push(id);
  return out.sort();
}

async function gauge(t: { app: { inject: (o: { method: 'GET'; url: string }) => Promise<{ body: string }> } }, name: string): Promise<number> {
  const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

describe.each(DIALECTS)('the offsite replica (folder to folder) on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('defaults to <offsite>/blobs, and copies every committed blob there byte for byte; the lag gauges count what waits', async () => {
    expect(t.vault.config.replica).toEqual({ kind: 'folder', dir: path.join(t.vault.config.offsiteDir, 'blobs') });
    await t.vault.worker.runDue();
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const bodies = [randomBytes(10), randomBytes(200_000), randomBytes(70_001)];
    for (const [i, body] of bodies.entries()) {
      const res = await upload(t.app, user, org.collections.payroll!, `file-${i}.bin`, body);
      expect(res.statusCode, res.body).toBe(201);
    }
    const before = await t.vault.replication.health();
    expect(before.pending).toBe(3);
    // One scrape reads the replica's health once for its three gauges, and the next reads it afresh.
    const health = vi.spyOn(t.vault.replication, 'health');
    try {
      expect(await gauge(t, 'strongroom_replica_pending_blobs')).toBe(3);
      expect(health).toHaveBeenCalledTimes(1);
      expect(await gauge(t, 'strongroom_replica_lag_seconds')).toBeGreaterThanOrEqual(0);
      expect(health).toHaveBeenCalledTimes(2);
    } finally {
      health.mockRestore();
    }

    await t.vault.worker.runDue();
    const primary = await ids(t.vault.blobStore);
    expect(primary).toHaveLength(3);
    expect(await ids(t.vault.replicaStore!)).toEqual(primary);
    for (const id of primary) {
      expect((await readAll(await t.vault.replicaStore!.get(id))).equals(await readAll(await t.vault.blobStore.get(id))), id).toBe(true);
    }
    expect(await gauge(t, 'strongroom_replica_pending_blobs')).toBe(0);
    expect(await gauge(t, 'strongroom_replica_lag_seconds')).toBe(0);
    // Idempotent: running the copy again changes nothing.
    const version = (await t.vault.store.repos.replicas.liveVersions({ limit: 1 }))[0]!;
    await t.vault.replication.replicate(version.id);
    expect(await ids(t.vault.replicaStore!)).toEqual(primary);
  });

  it('deletes the replica copy of a version a security admin destroys in quarantine', async () => {
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    const admin = await org.user({ roles: ['security_admin'] });
    const stored = await upload(t.app, member, org.collections.finance!, 'sample.txt', strongroomTestSample());
    expect(stored.statusCode, stored.body).toBe(422);
    const document = (await t.vault.store.repos.documents.byId((stored.json() as { id: string }).id))!;
    const version = (await t.vault.store.repos.documents.versionById(document.currentVersionId!))!;
    await t.vault.worker.runDue();
    expect(await t.vault.replicaStore!.size(version.blobId)).toBeGreaterThan(0);

    const destroyed = await t.app.inject({ method: 'POST', url: `/api/v1/quarantine/${version.id}/destroy`, headers: auth(admin) });
    expect(destroyed.statusCode, destroyed.body).toBe(204);
    await t.vault.worker.runDue();
    const missing = await t.vault.replicaStore!.size(version.blobId).then(() => undefined, (e: unknown) => e);
    expect((missing as DomainError).code).toBe('NOT_FOUND');
    const ledger = await t.vault.store.db.selectFrom('blob_replicas').selectAll().where('blob_id', '=', version.blobId).executeTakeFirstOrThrow();
    expect(ledger.deleted_at).not.toBeNull();
    expect(ledger.replicated_at).toBeNull();
  });

  it('records a delete the replica refuses (a write-once bucket) on the last attempt, audited, and does not fail', async () => {
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    const stored = await upload(t.app, member, org.collections.finance!, 'locked.bin', randomBytes(300));
    expect(stored.statusCode, stored.body).toBe(201);
    await t.vault.worker.runDue();
    const version = (await t.vault.store.repos.documents.versionById((await t.vault.store.repos.documents.byId((stored.json() as { id: string }).id))!.currentVersionId!))!;
    await t.vault.store.repos.documents.destroyVersionKey(version.id);
    const replica = t.vault.replicaStore as FsBlobStore;
    const original = replica.delete.bind(replica);
    replica.delete = async () => { throw new DomainError('UNAVAILABLE', 'Access Denied: object is WORM protected'); };
    try {
      await expect(t.vault.replication.deleteReplica(version.id, false)).rejects.toThrow('WORM');
      await t.vault.replication.deleteReplica(version.id, true);
    } finally {
      replica.delete = original;
    }
    const ledger = await t.vault.store.db.selectFrom('blob_replicas').selectAll().where('blob_id', '=', version.blobId).executeTakeFirstOrThrow();
    expect(ledger.delete_refused).toContain('WORM');
    await t.vault.audit.sequencer.flush();
    const events = await t.vault.store.repos.audit.forDocument(version.documentId, 20);
    expect(events.map((e) => e.action)).toContain('storage.replica.delete-refused');
    // Unreadable anyway: the key is gone, and a live version's copy is never deleted by mistake.
    expect(await t.vault.replicaStore!.size(version.blobId)).toBeGreaterThan(0);
  });
});

describe('STRONGROOM_REPLICA=none', () => {
  const t = useTestVault('sqlite', clamd, { env: { STRONGROOM_REPLICA: 'none' } });
  it('copies nothing and reports no lag', async () => {
    expect(t.vault.replicaStore).toBeNull();
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    expect((await upload(t.app, user, org.collections.payroll!, 'a.txt', 'hello')).statusCode).toBe(201);
    expect(await gauge(t, 'strongroom_replica_pending_blobs')).toBe(0);
    // The upload queues its text extraction and nothing else: no replicate job.
    const kinds = (await t.vault.store.db.selectFrom('jobs').select('kind').execute()).map((j) => j.kind);
    expect(kinds).toEqual(['extract-text']);
  });
});

