// The offsite replica (STRONGROOM_REPLICA, by default <offsite>/blobs): every committed version's
// encrypted blob reaches it under the same id, byte for byte, by the `replicate` job queued with the
// version; the lag gauges count what has not arrived yet; a destroyed version's copy is deleted there,
// and a replica that refuses the delete (a write-once bucket) is recorded, not retried for ever.
import { randomBytes } from 'node:crypto';
import { copyFile, open, truncate } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { BlobStore } from '../../src/domain/ports.js';
import { FsBlobStore } from '../../src/storage/fs.blob-store.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { strongroomTestSample } from '../support/samples.js';
import { DIALECTS, auth, createOrganisation, upload, type TestUser, type TestVault } from '../support/vault.js';

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

const blobPath = (dir: string, id: string) => path.join(dir, id.slice(0, 2), id);

/** Flips one byte in the middle of a stored blob, in place. */
async function flipByte(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const byte = Buffer.alloc(1);
    const at = Math.floor(size / 2);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x10;
    await handle.write(byte, 0, 1, at);
  } finally {
    await handle.close();
  }
}

async function stored(t: TestVault, user: TestUser, collectionId: string, name: string, body: Buffer) {
  const res = await upload(t.app, user, collectionId, name, body);
  expect(res.statusCode, res.body).toBe(201);
  const documentId = (res.json() as { id: string }).id;
  const document = (await t.vault.store.repos.documents.byId(documentId))!;
  const version = (await t.vault.store.repos.documents.versionById(document.currentVersionId!))!;
  return { documentId, id: version.id, blobId: version.blobId, name, body };
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

  // Outside review, 7 December 2026: the job copied whatever the primary store handed it and marked it
  // replicated, so a damaged primary copy became the replica's "good" one, and a scrub's repair from it
  // restored the damage.
  it('copies no damage: a primary copy flipped, truncated or swapped is neither copied nor marked replicated, and is scrubbed (audited, reported)', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const admin = await org.user({ roles: ['security_admin'] });
    await t.vault.worker.runDue();
    const pendingBefore = (await t.vault.replication.health()).pending;
    const flipped = await stored(t, user, org.collections.payroll!, 'flipped.bin', randomBytes(150_000));
    const truncated = await stored(t, user, org.collections.payroll!, 'truncated.bin', randomBytes(70_001));
    const swapped = await stored(t, user, org.collections.payroll!, 'swapped.bin', randomBytes(1000));
    const good = await stored(t, user, org.collections.payroll!, 'good.bin', randomBytes(2000));
    const primaryDir = path.join(t.dataDir, 'blobs');
    await flipByte(blobPath(primaryDir, flipped.blobId));
    await truncate(blobPath(primaryDir, truncated.blobId), 69_000);
    // Another version's blob (a good blob, of another key) in its place.
    await copyFile(blobPath(primaryDir, good.blobId), blobPath(primaryDir, swapped.blobId));

    await t.vault.worker.runDue();
    for (const bad of [flipped, truncated, swapped]) {
      const missing = await t.vault.replicaStore!.size(bad.blobId).then(() => undefined, (e: unknown) => e);
      expect((missing as DomainError).code, bad.name).toBe('NOT_FOUND');
      const row = await t.vault.store.db.selectFrom('versions').select('replicated_at').where('id', '=', bad.id).executeTakeFirstOrThrow();
      expect(row.replicated_at, bad.name).toBeNull();
      await t.vault.audit.sequencer.flush();
      const events = (await t.vault.store.repos.audit.forDocument(bad.documentId, 50)).map((e) => ({ action: e.action, ids: e.targetIds }));
      expect(events).toContainEqual({ action: 'storage.scrub.finding', ids: { documentId: bad.documentId, versionId: bad.id, blobId: bad.blobId, copy: 'primary', problem: 'damaged' } });
    }
    // The good one went across; the three others still wait, and are reported as lost on every side.
    expect(await t.vault.replicaStore!.size(good.blobId)).toBeGreaterThan(0);
    expect((await t.vault.replication.health()).pending).toBe(pendingBefore + 3);
    const notices = await t.vault.store.repos.notifications.forUser(admin.id);
    expect(notices.map((n) => n.versionId).sort()).toEqual([flipped.id, truncated.id, swapped.id].sort());
    const ledger = await t.vault.store.db.selectFrom('blob_replicas').select(['blob_id', 'unrecoverable_at']).where('blob_id', 'in', [flipped.blobId, truncated.blobId, swapped.blobId]).execute();
    expect(ledger.filter((r) => r.unrecoverable_at !== null)).toHaveLength(3);
  });

  it('heals a damaged primary copy from the replica\'s good one when the copy is made again, and leaves the replica good', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const v = await stored(t, user, org.collections.payroll!, 'again.bin', randomBytes(150_000));
    await t.vault.worker.runDue();
    const replicaBytes = await readAll(await t.vault.replicaStore!.get(v.blobId));
    await flipByte(blobPath(path.join(t.dataDir, 'blobs'), v.blobId));
    // A copy asked again (a restore re-queues it; an operator's re-run) over a primary gone bad meanwhile.
    await t.vault.replication.replicate(v.id);
    expect((await readAll(await t.vault.replicaStore!.get(v.blobId))).equals(replicaBytes)).toBe(true);
    expect((await readAll(await t.vault.blobStore.get(v.blobId))).equals(replicaBytes)).toBe(true);
    await t.vault.audit.sequencer.flush();
    const events = (await t.vault.store.repos.audit.forDocument(v.documentId, 50)).map((e) => ({ action: e.action, ids: e.targetIds }));
    const ids = { documentId: v.documentId, versionId: v.id, blobId: v.blobId };
    expect(events).toContainEqual({ action: 'storage.scrub.finding', ids: { ...ids, copy: 'primary', problem: 'damaged' } });
    expect(events).toContainEqual({ action: 'storage.scrub.repair', ids: { ...ids, copy: 'primary', from: 'replica' } });
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${v.documentId}/content`, headers: auth(user) });
    expect(res.rawPayload.equals(v.body)).toBe(true);
  });

  it('records a copy only once it reads back as the version (a replica that mangles what it is given)', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    await t.vault.worker.runDue();
    const v = await stored(t, user, org.collections.payroll!, 'mangled.bin', randomBytes(3000));
    const replica = t.vault.replicaStore as FsBlobStore;
    const original = replica.putAs.bind(replica);
    replica.putAs = async (id, source) => {
      const bytes = await readAll(Readable.from(source));
      bytes[100] = bytes[100]! ^ 1;
      return original(id, Readable.from([bytes]));
    };
    try {
      await expect(t.vault.replication.replicate(v.id)).rejects.toMatchObject({ code: 'INTEGRITY' });
    } finally {
      replica.putAs = original;
    }
    const row = await t.vault.store.db.selectFrom('versions').select('replicated_at').where('id', '=', v.id).executeTakeFirstOrThrow();
    expect(row.replicated_at).toBeNull();
    // Retried (the job's next attempt), it is copied and recorded.
    await t.vault.replication.replicate(v.id);
    expect((await t.vault.store.db.selectFrom('versions').select('replicated_at').where('id', '=', v.id).executeTakeFirstOrThrow()).replicated_at).not.toBeNull();
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

