// The garbage collection of orphan blobs, over a folder primary and a folder replica on both dialects
// (and a bucket replica): a blob written but never committed is recorded by one sweep and deleted only
// by a sweep a grace period later, audited; a blob a version names (live, quarantined, destroyed with its
// row kept, or a thumbnail) is never deleted from either store; one named between the sweeps, or between
// a sweep's read and its delete, is kept; a condemned blob cannot be named afterwards; a dry run changes
// nothing; a store that cannot be listed deletes nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { scheduleDailyOrphanSweep } from '../../src/compose/daily-jobs.js';
import { DomainError } from '../../src/domain/errors.js';
import { sweepOrphanBlobsJob } from '../../src/domain/jobs/kinds.js';
import type { BlobStore, Clock } from '../../src/domain/ports.js';
import type { Store } from '../../src/domain/repositories.js';
import type { Version } from '../../src/domain/types.js';
import type { Vault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';
import { OrphanBlobsService, type OrphanBlobsOptions, type StoreSweepReport as StoreSweepReportLike } from '../../src/services/orphan-blobs.service.js';
import { backupFolderName, openBackupShelf } from '../../src/storage/backup-shelf.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { syncGate } from '../support/sync-gate.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestUser, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const HOUR = 3600 * 1000;

/** A clock the test moves on, for the sweeps only (the vault keeps its own, and the database's for its sweeps). */
function movableClock(): Clock & { advance(ms: number): void } {
  let at = Date.now();
  return { now: () => new Date(at), advance: (ms) => void (at += ms) };
}

/** A sweeper over the vault's stores with the test's clock (and, optionally, a store or repositories of the test's). */
function sweeper(vault: Vault, clock: Clock, overrides: Partial<OrphanBlobsOptions> = {}): OrphanBlobsService {
  const options = (vault.orphanBlobs as unknown as { o: OrphanBlobsOptions }).o;
  return new OrphanBlobsService({ ...options, clock, sweepClock: async () => clock.now(), ...overrides });
}

async function orphanIn(store: BlobStore): Promise<string> {
  return (await store.put(Readable.from([randomBytes(3000)]))).id;
}

async function has(store: BlobStore, id: string): Promise<boolean> {
  return store.size(id).then(() => true, (error: unknown) => {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') return false;
    throw error;
  });
}

async function stored(t: TestVault, user: TestUser, collectionId: string): Promise<{ documentId: string; version: Version }> {
  const res = await upload(t.app, user, collectionId, `${randomUUID()}.bin`, randomBytes(2000));
  expect(res.statusCode, res.body).toBe(201);
  const documentId = (res.json() as { id: string }).id;
  const document = (await t.vault.store.repos.documents.byId(documentId))!;
  return { documentId, version: (await t.vault.store.repos.documents.versionById(document.currentVersionId!))! };
}

/** A second version of `of`'s document naming `blobId`: what a slow upload's commit writes. */
function versionNaming(of: Version, blobId: string): Version {
  return { ...of, id: randomUUID(), number: of.number + 1, blobId, createdAt: new Date().toISOString() };
}

/** The vault's store with the test's orphan blob repository in its `repos`. */
function withOrphanBlobs(store: Store, orphanBlobs: Store['repos']['orphanBlobs']): Store {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name === 'repos') return { ...target.repos, orphanBlobs };
      const value = Reflect.get(target, name, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function candidateIds(vault: Vault, store: 'primary' | 'replica'): Promise<string[]> {
  return (await vault.store.repos.orphanBlobs.candidates(store)).map((c) => c.blobId);
}

const primaryOnly = { replica: null, replicaBackups: null };

/** A committed document, and an orphan in the primary recorded by a sweep a grace period ago (the test's clock moved on). */
async function dueOrphanBesideADocument(t: TestVault): Promise<{ clock: ReturnType<typeof movableClock>; doc: { documentId: string; version: Version }; slow: string }> {
  const clock = movableClock();
  const org = await createOrganisation(t.vault);
  const user = await org.user({ teams: ['payroll'] });
  const doc = await stored(t, user, org.collections.payroll!);
  const slow = await orphanIn(t.vault.blobStore);
  await sweeper(t.vault, clock, primaryOnly).sweep();
  clock.advance(25 * HOUR);
  return { clock, doc, slow };
}

describe.each(DIALECTS)('orphan blob sweeps, folder primary and folder replica, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('records an uncommitted blob on the first sweep, keeps it through the grace period, deletes it after, audited', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const orphan = await orphanIn(t.vault.blobStore);

    const first = await gc.sweep();
    expect(first.stores.map((s) => s.store)).toEqual(['primary', 'replica']);
    expect(first.stores[0]).toMatchObject({ removed: 0 });
    expect(first.stores[0]!.newCandidates).toBeGreaterThanOrEqual(1);
    expect(await candidateIds(t.vault, 'primary')).toContain(orphan);
    expect(await has(t.vault.blobStore, orphan)).toBe(true);

    clock.advance(24 * HOUR - 60_000);
    await gc.sweep();
    expect(await has(t.vault.blobStore, orphan), 'a minute short of the grace period').toBe(true);

    clock.advance(2 * 60_000);
    const later = await gc.sweep();
    expect(await has(t.vault.blobStore, orphan)).toBe(false);
    expect(later.stores[0]!.removed).toBeGreaterThanOrEqual(1);
    expect(later.stores[0]!.bytesRemoved).toBeGreaterThanOrEqual(3000);
    // Kept, condemned, as the fence that refuses a late commit naming it.
    expect((await t.vault.store.repos.orphanBlobs.candidates('primary')).find((c) => c.blobId === orphan)?.condemnedAt).not.toBeNull();

    await t.vault.audit.sequencer.flush();
    // The vault's own event, not an organisation's: read as `audit verify` reads every row.
    const events = (await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'storage.orphans-removed').orderBy('id', 'desc').execute())
      .map((e) => ({ ...e, ids: JSON.parse(e.target_ids) as Record<string, string> })).filter((e) => e.ids.store === 'primary');
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]!.ids).toMatchObject({ store: 'primary', removed: String(later.stores[0]!.removed), bytes: String(later.stores[0]!.bytesRemoved), failed: '0' });
    expect(events[0]!.ids.blobIds!.split(' ')).toContain(orphan);
    expect(events[0]!).toMatchObject({ actor_user_id: null, target_organisation_id: null, decision: 'allow', channel: 'job' });
    expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('never deletes the blob of a committed version, live, quarantined or destroyed with its row kept, or a thumbnail, on either store', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const live = await stored(t, user, org.collections.payroll!);
    const quarantined = await stored(t, user, org.collections.payroll!);
    const destroyed = await stored(t, user, org.collections.payroll!);
    await t.vault.worker.runDue(); // the replicate jobs: each blob is on the replica too
    // As a rescan's infected verdict and a crypto-shredding leave them: the rows still name their blobs.
    await t.vault.store.db.updateTable('versions').set({ scan_status: 'infected' }).where('id', '=', quarantined.version.id).execute();
    await t.vault.store.db.updateTable('versions').set({ wrapped_key: Buffer.alloc(0) }).where('id', '=', destroyed.version.id).execute();
    // A thumbnail is a blob a version names too (written by the text extraction, primary only).
    const thumbnail = await orphanIn(t.vault.blobStore);
    await t.vault.store.repos.documents.setTextState(live.version.id, { status: 'done', reason: null }, { blobId: thumbnail, wrappedKey: new Uint8Array(40), keyId: live.version.keyId, size: 3000 });
    const named = [live, quarantined, destroyed].map((d) => d.version.blobId);

    await gc.sweep();
    clock.advance(48 * HOUR);
    await gc.sweep();
    clock.advance(48 * HOUR);
    await gc.sweep();
    for (const id of [...named, thumbnail]) expect(await has(t.vault.blobStore, id), `primary ${id}`).toBe(true);
    for (const id of named) expect(await has(t.vault.replicaStore!, id), `replica ${id}`).toBe(true);
    for (const id of [...named, thumbnail]) {
      expect(await candidateIds(t.vault, 'primary')).not.toContain(id);
      expect(await candidateIds(t.vault, 'replica')).not.toContain(id);
    }
  });

  it('deletes an orphan on the replica after the grace period, and keeps a replica blob its ledger names after a restore re-pointed the version', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    await t.vault.worker.runDue();
    const orphan = await orphanIn(t.vault.replicaStore!);
    // What a restore does: the version names a new primary blob; the replica holds the old id, which older backups name.
    const renamed = await orphanIn(t.vault.blobStore);
    await t.vault.store.db.updateTable('versions').set({ blob_id: renamed }).where('id', '=', doc.version.id).execute();

    await gc.sweep();
    clock.advance(25 * HOUR);
    await gc.sweep();
    expect(await has(t.vault.replicaStore!, orphan)).toBe(false);
    expect(await has(t.vault.replicaStore!, doc.version.blobId), 'named by the replica ledger').toBe(true);
    expect(await has(t.vault.blobStore, renamed)).toBe(true);
  });

  it('keeps a blob named between the two sweeps, and drops it from the candidates', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    const other = await stored(t, user, org.collections.payroll!);
    const slow = await orphanIn(t.vault.blobStore);
    const repointed = await orphanIn(t.vault.blobStore);

    await gc.sweep();
    expect(await candidateIds(t.vault, 'primary')).toEqual(expect.arrayContaining([slow, repointed]));
    // A slow upload commits: its commit drops the candidate itself (the fence in the documents repository).
    await t.vault.store.transaction(async (tx) => tx.documents.insertVersion(versionNaming(doc.version, slow)));
    expect(await candidateIds(t.vault, 'primary')).not.toContain(slow);
    // A row made to name a blob without the repository (as a restore re-points versions): the sweep sees it.
    await t.vault.store.db.updateTable('versions').set({ blob_id: repointed }).where('id', '=', other.version.id).execute();

    clock.advance(25 * HOUR);
    const report = await gc.sweep();
    expect(await has(t.vault.blobStore, slow)).toBe(true);
    expect(await has(t.vault.blobStore, repointed)).toBe(true);
    expect(report.stores[0]!.nowReferenced).toBeGreaterThanOrEqual(1);
    expect(await candidateIds(t.vault, 'primary')).not.toContain(repointed);
  });

  it('keeps a blob named after the first pass read its references but before it read the candidates (the second pass checks again)', async () => {
    const clock = movableClock();
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    const slow = await orphanIn(t.vault.blobStore);
    await sweeper(t.vault, clock).sweep();
    expect(await candidateIds(t.vault, 'primary')).toContain(slow);
    clock.advance(25 * HOUR);

    // The first pass reads the candidates after it has read what names each listed blob: the commit lands there,
    // and the second pass's check sees it (the condemning statement's own check: 'named after the second pass checked it').
    let committed = false;
    const repos = t.vault.store.repos;
    const orphanBlobs = new Proxy(repos.orphanBlobs, {
      get(target, name, receiver) {
        if (name !== 'candidates') return Reflect.get(target, name, receiver) as unknown;
        return async (store: 'primary' | 'replica') => {
          if (store === 'primary' && !committed) {
            committed = true;
            // Past the repository's fence (as a restore re-points versions).
            await t.vault.store.db.updateTable('versions').set({ blob_id: slow }).where('id', '=', doc.version.id).execute();
          }
          return target.candidates(store);
        };
      },
    });
    const store = withOrphanBlobs(t.vault.store, orphanBlobs);
    const report = await sweeper(t.vault, clock, { store }).sweep();
    expect(committed).toBe(true);
    expect(await has(t.vault.blobStore, slow), 'a committed version names it').toBe(true);
    expect(report.stores[0]!.nowReferenced).toBeGreaterThanOrEqual(1);
    expect(await candidateIds(t.vault, 'primary')).not.toContain(slow);
  });

  it('refuses to name a condemned blob: the commit fails and writes nothing', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    const slow = await orphanIn(t.vault.blobStore);
    const repos = t.vault.store.repos;
    await repos.orphanBlobs.record('primary', [slow], '2026-01-01T00:00:00.000Z');
    expect(await repos.orphanBlobs.condemn('primary', slow, '2025-12-31T00:00:00.000Z', '2026-01-02T00:00:00.000Z'), 'first seen after the cut-off').toBe(false);
    expect(await repos.orphanBlobs.condemn('primary', slow, '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z')).toBe(true);
    const late = versionNaming(doc.version, slow);
    await expect(t.vault.store.transaction(async (tx) => tx.documents.insertVersion(late))).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await repos.documents.versionById(late.id)).toBeUndefined();
    await expect(t.vault.store.transaction(async (tx) => tx.documents.setTextState(doc.version.id, { status: 'done', reason: null }, { blobId: slow, wrappedKey: new Uint8Array(40), keyId: doc.version.keyId, size: 1 })))
      .rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await repos.documents.textState(doc.version.id))?.thumbnailBlobId ?? null).toBeNull();
    // A blob something names is never condemned.
    await repos.orphanBlobs.record('primary', [doc.version.blobId], '2026-01-01T00:00:00.000Z');
    expect(await repos.orphanBlobs.condemn('primary', doc.version.blobId, '2026-01-02T00:00:00.000Z', '2026-01-02T00:00:00.000Z')).toBe(false);
    await repos.orphanBlobs.forget('primary', [slow, doc.version.blobId]);
  });

  it('refuses a commit naming a blob a finished sweep deleted: the condemnation outlives the delete', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    // An upload's blob written, then its process stalled past the grace period and two sweeps.
    const slow = await orphanIn(t.vault.blobStore);
    await gc.sweep();
    clock.advance(25 * HOUR);
    expect((await gc.sweep()).stores[0]!.removed).toBeGreaterThanOrEqual(1);
    expect(await has(t.vault.blobStore, slow)).toBe(false);
    // A later sweep lists the store without it: the condemned row is not forgotten as gone.
    clock.advance(HOUR);
    await gc.sweep();
    const late = versionNaming(doc.version, slow);
    await expect(t.vault.store.transaction(async (tx) => tx.documents.insertVersion(late))).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await t.vault.store.repos.documents.versionById(late.id)).toBeUndefined();
  });

  it('counts candidates condemned in the database toward the limit: a written condemned_at is no way past it', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const orphans = await Promise.all(Array.from({ length: 120 }, () => orphanIn(t.vault.blobStore)));
    await gc.sweep();
    clock.advance(25 * HOUR);
    await t.vault.store.db.updateTable('orphan_blob_candidates').set({ condemned_at: '2020-01-01T00:00:00.000Z' }).where('blob_id', 'in', orphans).execute();
    const held = (await gc.sweep()).stores.find((s) => s.store === 'primary')!;
    expect(held.removed).toBe(0);
    expect(held.heldBack).toBeGreaterThanOrEqual(120);
    for (const id of orphans) expect(await has(t.vault.blobStore, id)).toBe(true);
    await gc.sweep({ allowMassRemoval: true });
  });

  it('holds back more deletes at once than a sweep expects, until the operator allows them', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const orphans = await Promise.all(Array.from({ length: 120 }, () => orphanIn(t.vault.blobStore)));
    await gc.sweep();
    clock.advance(25 * HOUR);
    const held = (await gc.sweep()).stores.find((s) => s.store === 'primary')!;
    expect(held.removed).toBe(0);
    expect(held.heldBack).toBeGreaterThanOrEqual(120);
    expect(held.error).toMatch(/^\d+ blobs are due for deletion at once, more than the 100 a sweep deletes on its own: .*--allow-mass-removal`$/);
    for (const id of orphans) expect(await has(t.vault.blobStore, id)).toBe(true);

    const allowed = (await gc.sweep({ allowMassRemoval: true })).stores.find((s) => s.store === 'primary')!;
    expect(allowed.error).toBeUndefined();
    expect(allowed.removed).toBeGreaterThanOrEqual(120);
    for (const id of orphans) expect(await has(t.vault.blobStore, id)).toBe(false);
  });

  it('a dry run records and deletes nothing', async () => {
    const clock = movableClock();
    const orphan = await orphanIn(t.vault.blobStore);
    const dry = await sweeper(t.vault, clock).sweep({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(await candidateIds(t.vault, 'primary')).not.toContain(orphan);
    await sweeper(t.vault, clock).sweep();
    clock.advance(25 * HOUR);
    const due = await sweeper(t.vault, clock).sweep({ dryRun: true });
    expect(due.stores[0]!.due).toBeGreaterThanOrEqual(1);
    expect(due.stores[0]!.removed).toBe(0);
    expect(await has(t.vault.blobStore, orphan)).toBe(true);
    expect(await candidateIds(t.vault, 'primary')).toContain(orphan);
  });

  it('deletes nothing in a store it cannot list, and says so', async () => {
    const clock = movableClock();
    const orphan = await orphanIn(t.vault.blobStore);
    await sweeper(t.vault, clock).sweep();
    clock.advance(25 * HOUR);
    const unreachable = new Proxy(t.vault.blobStore, {
      get(target, name, receiver) {
        if (name === 'list') {
          return async function* list(): AsyncIterable<string> {
            yield orphan;
            throw new DomainError('UNAVAILABLE', 'The blob storage service is unavailable.');
          };
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const report = await sweeper(t.vault, clock, { primary: unreachable }).sweep();
    expect(report.stores[0]).toMatchObject({ store: 'primary', removed: 0, error: expect.stringContaining('unavailable') as unknown });
    expect(await has(t.vault.blobStore, orphan)).toBe(true);
    expect(await candidateIds(t.vault, 'primary')).toContain(orphan);
  });

  it('sweeps a store larger than one batch a batch at a time: named ones in every batch kept, one in flight kept, the rest removed', async () => {
    const clock = movableClock();
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    // A store of 2,500 blobs (sizes only), swept 1,000 at a time.
    const blobs = new Map(Array.from({ length: 2500 }, () => [randomBytes(16).toString('hex'), 10] as [string, number]));
    const ids = [...blobs.keys()];
    const store = new Proxy(t.vault.blobStore, {
      get(target, name, receiver) {
        if (name === 'list') return async function* list(): AsyncIterable<string> { yield* blobs.keys(); };
        if (name === 'size') {
          return async (id: string) => {
            const size = blobs.get(id);
            if (size === undefined) throw new DomainError('NOT_FOUND', 'No such blob.');
            return size;
          };
        }
        if (name === 'delete') return async (id: string) => void blobs.delete(id);
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    // Every question to the repository: never more than one batch of ids, never the whole candidates table.
    let largest = 0;
    let wholeTable = 0;
    const repos = t.vault.store.repos;
    const orphanBlobs = new Proxy(repos.orphanBlobs, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          for (const arg of args) if (Array.isArray(arg)) largest = Math.max(largest, arg.length);
          const page = args[1] as { among?: string[] } | undefined;
          if (name === 'candidates') {
            if (page?.among !== undefined) largest = Math.max(largest, page.among.length);
            else wholeTable += 1;
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const counted = withOrphanBlobs(t.vault.store, orphanBlobs);
    const gc = sweeper(t.vault, clock, { store: counted, primary: store, replica: null, replicaBackups: null, batchSize: 1000 });
    let number = doc.version.number;
    const name = async (blobId: string): Promise<void> => {
      number += 1;
      await t.vault.store.transaction(async (tx) => tx.documents.insertVersion({ ...versionNaming(doc.version, blobId), number }));
    };
    // Named from the start, and named between the sweeps, in each of the three batches.
    const namedBefore = [ids[5]!, ids[1005]!, ids[2005]!];
    const namedBetween = [ids[500]!, ids[1500]!, ids[2400]!];
    for (const id of namedBefore) await name(id);

    const first = await gc.sweep();
    expect(first.stores).toEqual([expect.objectContaining({ store: 'primary', listed: 2500, unreferenced: 2497, newCandidates: 2497, waiting: 2497, due: 0, removed: 0 })]);
    for (const id of namedBetween) await name(id);
    const inFlight = randomBytes(16).toString('hex');
    blobs.set(inFlight, 10);
    clock.advance(25 * HOUR);

    // Each commit naming a candidate dropped it itself (the fence), so none is left for the sweep to drop.
    const second = await gc.sweep({ allowMassRemoval: true });
    expect(second.stores).toEqual([{
      store: 'primary', listed: 2501, unreferenced: 2495, newCandidates: 1, waiting: 1, due: 2494, nowReferenced: 0,
      removed: 2494, bytesRemoved: 24940, failed: 0, gone: expect.any(Number) as unknown, heldBack: 0,
    }]);
    expect([...blobs.keys()].sort()).toEqual([...namedBefore, ...namedBetween, inFlight].sort());
    expect(largest, 'the most ids in one question to the repository').toBe(1000);
    expect(wholeTable, 'reads of every candidate at once').toBe(0);
    await t.vault.audit.sequencer.flush();
    const events = (await t.vault.store.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'storage.orphans-removed').execute())
      .map((e) => JSON.parse(e.target_ids) as Record<string, string>).filter((e) => ids.includes(e.blobIds!.split(' ')[0]!));
    expect(events.every((e) => e.store === 'primary' && e.failed === '0' && Number(e.removed) === e.blobIds!.split(' ').length && Number(e.removed) <= 100)).toBe(true);
    expect(events.flatMap((e) => e.blobIds!.split(' ')).sort()).toEqual(ids.filter((id) => blobs.get(id) === undefined).sort());
    await repos.orphanBlobs.forget('primary', [...ids, inFlight]);
  });

  // Two sweeps at once (the CLI by hand beside the daily job, or a job re-run after a lost lease). Sweep B lists a
  // candidate, condemns it and deletes its blob; sweep A, begun a minute later, lists the store without it, so A's
  // forgetting of the candidates it did not list (listed last before A began) reaches the condemned row, and must
  // keep it: it is the fence.
  it('keeps the fence when another sweep condemns and deletes a candidate while this one lists the store and forgets what it did not list', async () => {
    const { clock, doc, slow } = await dueOrphanBesideADocument(t);
    let other: StoreSweepReportLike | undefined;
    const primary = new Proxy(t.vault.blobStore, {
      get(target, name, receiver) {
        if (name === 'delete') {
          return async (id: string) => {
            await target.delete(id);
            if (id !== slow || other !== undefined) return;
            clock.advance(60_000);
            other = (await sweeper(t.vault, clock, primaryOnly).sweep()).stores[0]!;
          };
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    expect((await sweeper(t.vault, clock, { ...primaryOnly, primary }).sweep()).stores[0]!.removed, 'sweep B deleted it').toBeGreaterThanOrEqual(1);
    expect(other, 'sweep A ran meanwhile').toBeDefined();
    expect(other?.error).toBeUndefined();
    expect(await has(t.vault.blobStore, slow)).toBe(false);
    const fence = (await t.vault.store.repos.orphanBlobs.candidates('primary')).find((c) => c.blobId === slow);
    // The upload stalled past the grace period commits now: it must be refused, as its blob is gone.
    const late = versionNaming(doc.version, slow);
    const committed = await t.vault.store.transaction(async (tx) => tx.documents.insertVersion(late)).then(() => true, () => false);
    if (committed) await t.vault.store.db.deleteFrom('versions').where('id', '=', late.id).execute(); // leave the shared vault whole
    expect(fence?.condemnedAt ?? null, 'the condemned row, the fence').not.toBeNull();
    expect(committed, 'a commit naming the deleted blob').toBe(false);
  });

  // The events naming a batch commit with its condemnation, before any delete: a delete that fails (or a process
  // killed before it) leaves a condemned blob the log names already, and the next sweep deletes it and says so.
  it('names the blobs it condemns in the audit log before deleting any: a delete that fails leaves them named, condemned, for the next sweep', async () => {
    const { clock, slow } = await dueOrphanBesideADocument(t);
    const db = t.vault.store.db;
    const eventsNaming = async (action: string, blobId: string) => (await db.selectFrom('audit_events').select('target_ids').where('action', '=', action).execute())
      .map((e) => JSON.parse(e.target_ids) as Record<string, string>).filter((ids) => (ids.blobIds ?? '').split(' ').includes(blobId));
    let namedAtDelete: Record<string, string>[] | undefined;
    const failing = new Proxy(t.vault.blobStore, {
      get(target, name, receiver) {
        if (name === 'delete') {
          return async (id: string) => {
            if (id === slow) namedAtDelete = await eventsNaming('storage.orphans-condemned', slow);
            throw new DomainError('UNAVAILABLE', 'The blob storage service is unavailable.');
          };
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const report = (await sweeper(t.vault, clock, { ...primaryOnly, primary: failing }).sweep()).stores[0]!;
    expect(report).toMatchObject({ removed: 0, bytesRemoved: 0 });
    expect(report.failed).toBeGreaterThanOrEqual(1);
    expect(namedAtDelete, 'the events committed when the delete was tried').toHaveLength(1);
    expect(namedAtDelete![0]).toEqual({ store: 'primary', condemned: String(namedAtDelete![0]!.blobIds!.split(' ').length), blobIds: expect.stringContaining(slow) as unknown });
    expect(await has(t.vault.blobStore, slow)).toBe(true);
    expect((await t.vault.store.repos.orphanBlobs.candidates('primary')).find((c) => c.blobId === slow)?.condemnedAt).not.toBeNull();
    const outcome = (await db.selectFrom('audit_events').select('target_ids').where('action', '=', 'storage.orphans-removed').orderBy('id', 'desc').limit(1).execute())
      .map((e) => JSON.parse(e.target_ids) as unknown);
    expect(outcome).toEqual([{ store: 'primary', removed: '0', bytes: '0', failed: String(report.failed) }]);

    const next = (await sweeper(t.vault, clock, primaryOnly).sweep()).stores[0]!;
    expect(next).toMatchObject({ removed: report.failed, failed: 0 });
    expect(await has(t.vault.blobStore, slow)).toBe(false);
    expect(await eventsNaming('storage.orphans-condemned', slow), 'condemned, and named again before the retried delete').toHaveLength(2);
    const removal = await eventsNaming('storage.orphans-removed', slow);
    expect(removal).toEqual([{ store: 'primary', removed: String(next.removed), bytes: String(next.bytesRemoved), failed: '0', blobIds: expect.stringContaining(slow) as unknown }]);
    await t.vault.audit.sequencer.flush();
    expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  // The outcome's event, after the deletes, is lost (the database unavailable then, the process killed): the
  // condemnation's event still names the deleted blob, and `audit verify` still names a version pointed back at it.
  it('keeps the evidence when the audit write after the deletes fails: audit verify names a version pointed back at the deleted blob', async () => {
    const { clock, doc, slow } = await dueOrphanBesideADocument(t);
    const store = new Proxy(t.vault.store, {
      get(target, name, receiver) {
        if (name === 'transaction') {
          return async <T>(work: (repos: Store['repos']) => Promise<T>, options?: { awaitDurable?: boolean }) => target.transaction(async (tx) => work({
            ...tx,
            audit: Object.assign(Object.create(tx.audit) as Store['repos']['audit'], {
              insert: async (events: Parameters<Store['repos']['audit']['insert']>[0]) => {
                if (events.some((e) => e.action === 'storage.orphans-removed')) throw new Error('the database is unavailable');
                return tx.audit.insert(events);
              },
            }),
          }), options);
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const report = (await sweeper(t.vault, clock, { ...primaryOnly, store }).sweep()).stores[0]!;
    expect(report).toMatchObject({ removed: 1, error: 'the database is unavailable' });
    expect(await has(t.vault.blobStore, slow)).toBe(false);
    const db = t.vault.store.db;
    await db.updateTable('versions').set({ blob_id: slow }).where('id', '=', doc.version.id).execute();
    try {
      await t.vault.audit.sequencer.flush();
      const check = await t.vault.audit.verification.verify(systemActor());
      expect(check.ok ? '' : check.problem).toBe(`Blob ${slow}, which the orphan sweep condemned in the primary store as named by nothing, to be deleted, is named by a version now: `
        + 'the database was changed directly (a version or its replica record pointed elsewhere while the sweep ran, and back), and that stored copy is gone or going.');
    } finally {
      await db.updateTable('versions').set({ blob_id: doc.version.blobId }).where('id', '=', doc.version.id).execute();
    }
    expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  // The first pass lists the whole store: a candidate it did not list is gone, learnt without a question to the
  // store per candidate (a HEAD each on S3, 100,000 a sweep for 100,000 candidates).
  it('forgets the candidates whose blob is gone from the store without asking the store about each, and keeps one written after its listing began', async () => {
    const clock = movableClock();
    const orphans = await Promise.all(Array.from({ length: 3 }, () => orphanIn(t.vault.blobStore)));
    await sweeper(t.vault, clock, primaryOnly).sweep();
    expect(await candidateIds(t.vault, 'primary')).toEqual(expect.arrayContaining(orphans));
    // Their owner deletes two (as a failed upload's cleanup does).
    await t.vault.blobStore.delete(orphans[0]!);
    await t.vault.blobStore.delete(orphans[1]!);
    clock.advance(HOUR);
    let questions = 0;
    let late = '';
    const counted = new Proxy(t.vault.blobStore, {
      get(target, name, receiver) {
        if (name === 'list') {
          return async function* list(): AsyncIterable<string> {
            yield* target.list();
            // Written once this listing has passed, and recorded by another sweep beside this one.
            late = await orphanIn(target);
            await t.vault.store.repos.orphanBlobs.record('primary', [late], clock.now().toISOString());
          };
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name === 'size' || name === 'readSmall' || name === 'get') {
          return async (...args: unknown[]) => {
            questions += 1;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const report = (await sweeper(t.vault, clock, { ...primaryOnly, primary: counted }).sweep()).stores[0]!;
    expect(report).toMatchObject({ removed: 0, due: 0 });
    expect(questions, 'questions to the store about a blob').toBe(0);
    expect(report.gone).toBeGreaterThanOrEqual(2);
    const left = await candidateIds(t.vault, 'primary');
    expect(orphans.map((id) => left.includes(id))).toEqual([false, false, true]);
    expect(left, 'written after the listing began').toContain(late);
    await t.vault.store.repos.orphanBlobs.forget('primary', [orphans[2]!, late]);
  });

  // The check in the condemning statement itself: the commit lands after the second pass's re-check (its second
  // question about the blob) and before the condemnation.
  it('keeps a blob named after the second pass checked it again but before it condemned it', async () => {
    const { clock, doc, slow } = await dueOrphanBesideADocument(t);
    let asked = 0;
    const repos = t.vault.store.repos;
    const orphanBlobs = new Proxy(repos.orphanBlobs, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name !== 'referencedAmong') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (store: 'primary' | 'replica', ids: readonly string[]) => {
          const named = await target.referencedAmong(store, ids);
          if (ids.includes(slow) && ++asked === 2) {
            // Past the repository's fence (as a restore re-points versions): only the condemning statement's check stands.
            await t.vault.store.db.updateTable('versions').set({ blob_id: slow }).where('id', '=', doc.version.id).execute();
          }
          return named;
        };
      },
    });
    const report = await sweeper(t.vault, clock, { ...primaryOnly, store: withOrphanBlobs(t.vault.store, orphanBlobs) }).sweep();
    expect(asked).toBe(2);
    expect(await has(t.vault.blobStore, slow), 'a committed version names it').toBe(true);
    expect(report.stores[0]!.nowReferenced).toBeGreaterThanOrEqual(1);
    expect(await candidateIds(t.vault, 'primary')).not.toContain(slow);
  });

  // Each question to the backups (backup-references.ts `among`) reads every backup on the shelf: asked once a batch,
  // a replica of N blobs with orphans spread through it would cost N / batchSize reads of the whole shelf a pass.
  it('reads the backups on the replica\'s shelf once per pass, however many batches the replica lists in', async () => {
    const clock = movableClock();
    const ids = Array.from({ length: 2500 }, () => randomBytes(16).toString('hex'));
    const replica = new Proxy(t.vault.replicaStore!, {
      get(target, name, receiver) {
        if (name === 'list') return async function* list(): AsyncIterable<string> { yield* ids; };
        if (name === 'size') return async () => 10;
        if (name === 'delete') return async () => undefined;
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    let shelfReads = 0;
    const replicaBackups = { among: async () => { shelfReads += 1; return new Set<string>(); } };
    const report = await sweeper(t.vault, clock, { replica, replicaBackups, batchSize: 1000 }).sweep();
    expect(report.stores[1]).toMatchObject({ store: 'replica', listed: 2500, newCandidates: 2500 });
    await t.vault.store.repos.orphanBlobs.forget('replica', ids);
    expect(shelfReads, 'reads of every backup on the shelf in one pass').toBe(1);
  });

  // A candidate recorded as first seen at its sweep's start, however long after that the sweep listed the blob, would
  // make a blob written near the end of a long first pass due at once for the next day's sweep: an upload in flight
  // would lose its blob's grace day.
  it('starts a blob\'s grace period when a sweep first lists it, not when that sweep began', async () => {
    const clock = movableClock();
    let inFlight = '';
    const slowListing = new Proxy(t.vault.blobStore, {
      get(target, name, receiver) {
        if (name === 'list') {
          return async function* list(): AsyncIterable<string> {
            yield* target.list();
            clock.advance(25 * HOUR); // a long first pass; meanwhile an upload writes its blob
            inFlight = await orphanIn(target);
            yield inFlight;
          };
        }
        const value = Reflect.get(target, name, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await sweeper(t.vault, clock, { ...primaryOnly, primary: slowListing }).sweep();
    expect(await candidateIds(t.vault, 'primary')).toContain(inFlight);
    // The next day's sweep, a minute after the blob was first listed.
    clock.advance(60_000);
    await sweeper(t.vault, clock, primaryOnly).sweep();
    const kept = await has(t.vault.blobStore, inFlight);
    await t.vault.store.repos.orphanBlobs.forget('primary', [inFlight]);
    expect(kept, 'first listed a minute ago').toBe(true);
  });

  it('is a daily job, queued once a day however many workers ask, that records what nothing names', async () => {
    const { store, worker } = t.vault;
    await worker.runDue();
    const orphan = await orphanIn(t.vault.blobStore);
    await scheduleDailyOrphanSweep(store, t.vault.clock);
    await scheduleDailyOrphanSweep(store, t.vault.clock);
    expect(await store.db.selectFrom('jobs').select('status').where('kind', '=', 'sweep-orphan-blobs').execute()).toEqual([{ status: 'queued' }]);
    expect(await worker.runDue()).toBe(1);
    expect(await store.db.selectFrom('jobs').select('status').where('kind', '=', 'sweep-orphan-blobs').execute()).toEqual([{ status: 'done' }]);
    expect(await candidateIds(t.vault, 'primary')).toContain(orphan);
    expect(await has(t.vault.blobStore, orphan)).toBe(true);
    // First seen by the database's clock, the one every node shares.
    const seen = (await store.repos.orphanBlobs.candidates('primary')).find((c) => c.blobId === orphan)!;
    expect(Math.abs(Date.parse(seen.firstSeenAt) - Date.now())).toBeLessThan(60_000);
    expect(Math.abs((await store.repos.orphanBlobs.databaseNow()).getTime() - Date.now())).toBeLessThan(60_000);
    await scheduleDailyOrphanSweep(store, t.vault.clock);
    expect(await worker.runDue()).toBe(0);
  });

  // Last in this block: it leaves a backup on the replica's shelf.
  it('keeps a replica blob only a backup on the replica\'s shelf names, and deletes nothing on the replica while a backup there cannot be read', { timeout: 60_000 }, async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    await t.vault.worker.runDue();
    const shelf = openBackupShelf(t.vault.config.replica!);
    const backup = shelf.whereFor(backupFolderName(new Date()));
    await takeBackup(t.vault, backup);
    // As after restoring an older backup: neither a version nor the ledger names the replica's blob; the backup does.
    await t.vault.store.db.updateTable('versions').set({ blob_id: await orphanIn(t.vault.blobStore) }).where('id', '=', doc.version.id).execute();
    await t.vault.store.db.deleteFrom('blob_replicas').where('blob_id', '=', doc.version.blobId).execute();
    const orphan = await orphanIn(t.vault.replicaStore!);

    await gc.sweep();
    expect(await candidateIds(t.vault, 'replica')).toContain(orphan);
    expect(await candidateIds(t.vault, 'replica')).not.toContain(doc.version.blobId);
    // Something the master key cannot open, planted on the shelf: what it needs is unknown, so nothing goes.
    const planted = path.join(path.dirname(backup), '20991231T000000Z');
    await mkdir(planted, { recursive: true });
    await writeFile(path.join(planted, 'manifest.note'), 'not a backup\n');
    clock.advance(25 * HOUR);
    const blocked = await gc.sweep();
    expect(blocked.stores[1]).toMatchObject({ store: 'replica', removed: 0, error: expect.stringContaining('cannot be read') as unknown });
    expect(await has(t.vault.replicaStore!, orphan)).toBe(true);
    // The daily job says so where the operator looks: it fails, is retried, and ends among the failed jobs.
    await t.vault.store.repos.jobs.enqueue(sweepOrphanBlobsJob, { day: '2099-12-31' }, { now: new Date(), organisationId: null });
    expect(await t.vault.worker.runDue()).toBe(1);
    const job = await t.vault.store.db.selectFrom('jobs').select(['status', 'last_error']).where('kind', '=', 'sweep-orphan-blobs').where('payload', 'like', '%2099-12-31%').executeTakeFirstOrThrow();
    expect(job.status).toBe('queued');
    expect(job.last_error).toContain('the replica store was not swept');
    await t.vault.store.db.deleteFrom('jobs').where('kind', '=', 'sweep-orphan-blobs').where('payload', 'like', '%2099-12-31%').execute();

    await rm(planted, { recursive: true, force: true });
    const swept = await gc.sweep();
    expect(swept.stores[1]!.error).toBeUndefined();
    expect(await has(t.vault.replicaStore!, orphan)).toBe(false);
    expect(await has(t.vault.replicaStore!, doc.version.blobId), 'the backup names it').toBe(true);
    shelf.close();
  });

  // Last: it leaves the vault's log naming a tampered row, as it should.
  it('names in audit verify a version pointed away from its blob for two sweeps and back by hand (both copies deleted)', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const { version } = await stored(t, user, org.collections.payroll!);
    await t.vault.worker.runDue();
    expect(await has(t.vault.replicaStore!, version.blobId)).toBe(true);
    await t.vault.audit.sequencer.flush();
    expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    const db = t.vault.store.db;
    const ledger = await db.selectFrom('blob_replicas').selectAll().where('blob_id', '=', version.blobId).execute();
    await db.deleteFrom('blob_replicas').where('blob_id', '=', version.blobId).execute();
    await db.updateTable('versions').set({ blob_id: 'f'.repeat(32) }).where('id', '=', version.id).execute();
    await gc.sweep();
    clock.advance(25 * HOUR);
    await gc.sweep();
    await db.updateTable('versions').set({ blob_id: version.blobId }).where('id', '=', version.id).execute();
    await db.insertInto('blob_replicas').values(ledger).execute();
    expect(await has(t.vault.blobStore, version.blobId)).toBe(false);
    await t.vault.audit.sequencer.flush();
    const check = await t.vault.audit.verification.verify(systemActor());
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.problem).toMatch(new RegExp(`^Blob ${version.blobId}, which the orphan sweep deleted from the (primary|replica) store as named by nothing, is named by a version now`));
  });
});

describe('orphan blob sweeps with the replica in an S3 bucket (loopback s3rver)', () => {
  let s3: LoopbackS3;
  let t: TestVault;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    s3 = await startLoopbackS3();
    const bucket = await s3.createBucket();
    t = await openTestVault({ dialect: 'postgres', clamdSocket: clamd.socketPath, env: { STRONGROOM_BLOBS: s3.blobsUrl(bucket, 'primary'), STRONGROOM_REPLICA: s3.blobsUrl(bucket, 'offsite') } });
  });
  afterAll(async () => {
    await t?.close();
    await s3?.stop();
    for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('deletes orphans in both buckets after the grace period and keeps every committed version\'s blob', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = await stored(t, user, org.collections.payroll!);
    await t.vault.worker.runDue();
    const primaryOrphan = await orphanIn(t.vault.blobStore);
    const replicaOrphan = await orphanIn(t.vault.replicaStore!);
    const goneOrphan = await orphanIn(t.vault.blobStore);

    await gc.sweep();
    expect(await has(t.vault.blobStore, primaryOrphan)).toBe(true);
    expect(await candidateIds(t.vault, 'primary')).toContain(goneOrphan);
    await t.vault.blobStore.delete(goneOrphan);
    clock.advance(25 * HOUR);
    // A HEAD for each blob deleted (its bytes counted), none for each candidate to learn whether its blob is gone.
    let heads = 0;
    const counting = (store: BlobStore): BlobStore => new Proxy(store, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (name === 'size') return async (id: string) => { heads += 1; return target.size(id); };
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const report = await sweeper(t.vault, clock, { primary: counting(t.vault.blobStore), replica: counting(t.vault.replicaStore!) }).sweep();
    expect(heads, 'questions to the buckets about a blob').toBe(2);
    expect(report.stores.map((s) => [s.store, s.removed, s.gone])).toEqual([['primary', 1, 1], ['replica', 1, 0]]);
    expect(await candidateIds(t.vault, 'primary')).not.toContain(goneOrphan);
    expect(await has(t.vault.blobStore, primaryOrphan)).toBe(false);
    expect(await has(t.vault.replicaStore!, replicaOrphan)).toBe(false);
    expect(await has(t.vault.blobStore, doc.version.blobId)).toBe(true);
    expect(await has(t.vault.replicaStore!, doc.version.blobId)).toBe(true);
  });
});

describe('orphan blob sweeps and durability (SQLite, the log\'s sync held back)', () => {
  const gate = syncGate();
  const t = useTestVault('sqlite', clamd, { syncDatabaseLog: gate.sync });

  it('deletes nothing until the condemnation that fences it is on disk', async () => {
    const clock = movableClock();
    const gc = sweeper(t.vault, clock);
    const orphan = await orphanIn(t.vault.blobStore);
    await gc.sweep();
    clock.advance(25 * HOUR);
    gate.hold();
    const sweeping = gc.sweep();
    try {
      await vi.waitFor(() => expect(gate.held).toBeGreaterThanOrEqual(1), { timeout: 10_000, interval: 20 });
      expect(await has(t.vault.blobStore, orphan), 'condemned, but not yet durably').toBe(true);
    } finally {
      gate.release();
    }
    expect((await sweeping).stores[0]!.removed).toBeGreaterThanOrEqual(1);
    expect(await has(t.vault.blobStore, orphan)).toBe(false);
  });
});
