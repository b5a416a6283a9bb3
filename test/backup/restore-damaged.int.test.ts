// A restore and damaged replica copies (outside review, 7 December 2026: "the offsite replica made a copy of
// damage", its Left). The restore copied each version's blob from the replica into the new primary unchecked,
// so a replica copy with bit rot, a truncation or another blob in its place became the restored primary copy.
// Now each copy is checked as it passes (every chunk opened with the version's key, the plaintext hashed
// against its SHA-256): a damaged one writes nothing to the new primary, is reported apart from missing, and
// is left as a missing one is; the other versions come back byte-identical. On SQLite and PostgreSQL.
import { copyFile, mkdir, readFile, readdir, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { useClamd } from '../support/fixture.js';
import { useRestoreWorkspace } from '../support/restore-workspace.js';
import { api, expectProblem, filesUnder } from '../support/http.js';
import { closeKeepingData, openVaultAt } from '../support/vault-dir.js';
import { createOrganisation, DIALECTS, upload } from '../support/vault.js';

const clamd = useClamd();

const silent = pino({ level: 'silent' });
const BLOB_ID = /^[0-9a-f]{32}$/;

/** The blob ids a folder store holds, whatever its layout. */
async function blobIdsIn(dir: string): Promise<string[]> {
  return (await filesUnder(dir)).map((f) => path.basename(f)).filter((name) => BLOB_ID.test(name)).sort();
}

/** Where a folder store keeps a blob, whatever its layout. */
async function blobFile(dir: string, id: string): Promise<string> {
  const found = (await filesUnder(dir)).filter((f) => path.basename(f) === id);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe.each(DIALECTS)('a restore from damaged replica copies on %s', (dialect) => {
  const w = useRestoreWorkspace(dialect, clamd, 'restore-damaged');
  const { newDatabase, envFor, configFor } = w;

  it('copies no damaged replica copy into the new primary, reports each as damaged apart from missing, and restores the others byte-identical', { timeout: 120_000 }, async () => {
    const live = await newDatabase();
    let v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(live));
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const securityAdmin = await org.user({ roles: ['security_admin'] });
    const bodies = new Map<string, Buffer>();
    const put = async (name: string, body: Buffer) => {
      const res = await upload(v.app, user, org.collections.payroll!, name, body);
      expect(res.statusCode, res.body).toBe(201);
      const id = (res.json() as { id: string }).id;
      bodies.set(id, body);
      return id;
    };
    // Same size, so the swapped copy is caught by what it is (the version it is bound to), not by its length.
    const kept = await put('kept.txt', Buffer.from('kept: 0123456789\n'));
    const keptBig = await put('kept.bin', Buffer.alloc(150_000, 5)); // several 64 KiB chunks
    const flipped = await put('flipped.txt', Buffer.from('flipped: 012345\n'));
    const swapped = await put('swapped.txt', Buffer.from('swap: 0123456789\n'));
    const truncated = await put('truncated.txt', Buffer.from('truncated: 0123456789\n'));
    // Damage in the last chunk of a large file: the chunks before it have passed into the new primary by then.
    const flippedBig = await put('flipped.bin', Buffer.alloc(200_000, 7));
    const truncatedBig = await put('truncated.bin', Buffer.alloc(200_000, 8));
    const lost = await put('lost.txt', Buffer.from('lost: the replica never had it\n'));
    await v.vault.worker.runDue();
    expect(await v.vault.replication.health()).toMatchObject({ enabled: true, pending: 0 });
    const versionOf = async (documentId: string) => v.vault.store.db.selectFrom('versions').select(['id', 'blob_id', 'replicated_at']).where('document_id', '=', documentId).executeTakeFirstOrThrow();
    const versions = new Map<string, { id: string; blob_id: string; replicated_at: string | null }>();
    for (const id of bodies.keys()) versions.set(id, await versionOf(id));
    const backup = path.join(w.work, 'backup');
    await takeBackup(v.vault, backup);
    const replica = v.vault.replicaStore!.location;
    const masterKeyFile = path.join(w.work, 'master.key');
    await copyFile(path.join(w.dataDir, 'keys', 'master.key'), masterKeyFile);
    await closeKeepingData(v);

    // The replica's copies damaged after the backup: bit rot, another version's blob in its place, truncations.
    const replicaFile = (documentId: string) => blobFile(replica, versions.get(documentId)!.blob_id);
    const flip = async (documentId: string, fromEnd: number) => {
      const file = await replicaFile(documentId);
      const bytes = await readFile(file);
      bytes[bytes.length - fromEnd] = bytes[bytes.length - fromEnd]! ^ 0x01;
      await writeFile(file, bytes);
    };
    await flip(flipped, 20);
    await flip(flippedBig, 20);
    await copyFile(await replicaFile(kept), await replicaFile(swapped));
    const cut = async (documentId: string, bytes: number) => {
      const file = await replicaFile(documentId);
      await truncate(file, (await readFile(file)).length - bytes);
    };
    await cut(truncated, 5);
    await cut(truncatedBig, 1000);
    await unlink(await replicaFile(lost));

    // The primary (data directory and database) lost; restored with the blobs from the configured replica.
    await rm(w.dataDir, { recursive: true, force: true });
    await mkdir(path.join(w.dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(masterKeyFile, path.join(w.dataDir, 'keys', 'master.key'));
    const restoredDb = await newDatabase();
    const result = await restoreBackup(configFor(restoredDb), { from: backup, logger: silent });

    const unrestored = (documentId: string) => ({ documentId, versionId: versions.get(documentId)!.id, blobId: versions.get(documentId)!.blob_id });
    expect(result).toMatchObject({ copied: 2, shredded: 0, missing: [unrestored(lost)] });
    const byVersion = (a: { versionId: string }, b: { versionId: string }) => a.versionId.localeCompare(b.versionId);
    expect([...result.damaged].sort(byVersion)).toEqual([
      { ...unrestored(flipped), problem: 'Encrypted blob chunk 0 failed authentication.' },
      { ...unrestored(swapped), problem: 'Encrypted blob chunk 0 failed authentication.' },
      { ...unrestored(truncated), problem: 'Encrypted blob chunk 0 failed authentication.' },
      { ...unrestored(flippedBig), problem: 'Encrypted blob chunk 3 failed authentication.' },
      { ...unrestored(truncatedBig), problem: 'Encrypted blob chunk 3 failed authentication.' },
    ].sort(byVersion));

    // The new primary holds the two good versions' blobs and nothing else: no damaged copy, whole or in part.
    v = await openVaultAt(w.dataDir, clamd.socketPath, envFor(restoredDb));
    try {
      const rows = await v.vault.store.db.selectFrom('versions').select(['id', 'document_id', 'blob_id', 'replicated_at']).execute();
      const restoredRow = (documentId: string) => rows.find((r) => r.document_id === documentId)!;
      const unreadable = [lost, flipped, swapped, truncated, flippedBig, truncatedBig];
      const unreadableVersions = unreadable.map((id) => versions.get(id)!.id).sort();
      // The restore queued a scrub of each version that did not come back (and of no other), before anyone read one.
      const queuedScrubs = await v.vault.store.db.selectFrom('jobs').select(['payload', 'organisation_id']).where('kind', '=', 'scrub').where('status', '=', 'queued').execute();
      expect(queuedScrubs.map((j) => (JSON.parse(j.payload) as { versionId: string }).versionId).sort()).toEqual(unreadableVersions);
      expect(new Set(queuedScrubs.map((j) => j.organisation_id))).toEqual(new Set([org.id]));
      expect(await blobIdsIn(path.join(w.dataDir, 'blobs'))).toEqual([restoredRow(kept).blob_id, restoredRow(keptBig).blob_id].sort());
      expect(await readdir(path.join(w.dataDir, 'tmp')).catch(() => [])).toEqual([]);
      for (const id of [kept, keptBig]) {
        const res = await api(v.app, user).get(`documents/${id}/content`);
        expect(res.statusCode).toBe(200);
        expect(Buffer.compare(res.rawPayload, bodies.get(id)!)).toBe(0);
      }

      // Each damaged version is left as the missing one is: naming the blob the backup named, with the
      // backup's replica mark (no replicate job queued for it), and read with the same clear error.
      for (const id of [lost, flipped, swapped, truncated, flippedBig, truncatedBig]) {
        expect(restoredRow(id).blob_id).toBe(versions.get(id)!.blob_id);
        expect(restoredRow(id).replicated_at).toBe(versions.get(id)!.replicated_at);
        expect(restoredRow(id).replicated_at).not.toBeNull();
      }
      const replicateJobs = await v.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'replicate').where('status', '=', 'queued').execute();
      expect(replicateJobs.map((j) => (JSON.parse(j.payload) as { versionId: string }).versionId).sort()).toEqual([restoredRow(kept).id, restoredRow(keptBig).id].sort());
      const { requestId: _, ...missingRead } = expectProblem(await api(v.app, user).get(`documents/${lost}/content`), 500);
      expect(missingRead.detail).toBe("This file's stored copies are damaged; the service's operators have been told.");
      // Damage found before the first byte (the whole of a small file is checked first). A large file's copy
      // damaged beyond its first chunk is found while streaming, as any such damage is: a cut-off transfer.
      for (const id of [flipped, swapped, truncated]) {
        const { requestId: __, ...read } = expectProblem(await api(v.app, user).get(`documents/${id}/content`), 500);
        expect(read).toEqual(missingRead);
      }

      // The restore's audit event counts them apart.
      const event = await v.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'storage.restore').executeTakeFirstOrThrow();
      expect(JSON.parse(event.target_ids)).toMatchObject({ copied: '2', shredded: '0', missing: '1', damaged: '5' });

      // Once the worker runs, each is in the ledger as unrecoverable and the security admins are told of each;
      // the versions that came back are not.
      await v.vault.worker.runDue();
      const ledger = await v.vault.store.db.selectFrom('blob_replicas').select(['version_id', 'unrecoverable_at']).where('unrecoverable_at', 'is not', null).execute();
      expect(ledger.map((r) => r.version_id).sort()).toEqual(unreadableVersions);
      const told = await v.vault.store.db.selectFrom('notifications').select(['user_id', 'kind', 'version_id']).where('kind', '=', 'storage-damaged').execute();
      expect(told.map((n) => n.version_id).sort()).toEqual(unreadableVersions);
      expect(new Set(told.map((n) => n.user_id))).toEqual(new Set([securityAdmin.id]));
    } finally {
      await closeKeepingData(v);
    }
  });
});
