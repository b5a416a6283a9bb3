// One vault per blob store: every store (primary and replica, folder and bucket) carries a marker naming
// the vault it belongs to. A second vault pointed at another's store or replica refuses to open and its
// orphan sweep deletes nothing there; the same vault reopened, or restored from its backup (one taken
// before vault ids included), accepts its stores; a store from before markers is claimed by the vault
// whose database names its blobs, and refused to any other; an edited marker is refused. A dry run claims
// no store (it says which it would) and is refused another vault's as a real open is; each claim is one
// `storage.claim` audit event. On SQLite and PostgreSQL.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeBackup } from '../../src/backup.js';
import { restoreBackup } from '../../src/backup-restore.js';
import { loadConfig } from '../../src/config/config.js';
import { DomainError } from '../../src/domain/errors.js';
import type { BlobStore, Clock } from '../../src/domain/ports.js';
import { STORE_MARKER_NAME, parseStoreMarker } from '../../src/domain/store-marker.js';
import { openVault, type OpenVaultOptions, type Vault } from '../../src/main.js';
import { systemActor } from '../../src/services/identity.service.js';
import { OrphanBlobsService, type OrphanBlobsOptions } from '../../src/services/orphan-blobs.service.js';
import { createS3Client } from '../../src/storage/s3.blob-store.js';
import { VAULT_ID_SETTING } from '../../src/services/vault-identity.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { TEST_PASSWORD_HASHING } from '../support/password-hashing.js';
import { createMigratedDatabase, createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload, type Dialect } from '../support/vault.js';

const clamd = useClamd();
const HOUR = 3600 * 1000;
const silent = pino({ level: 'silent' });
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * Opens a new vault (its own data directory and, on PostgreSQL, database) with `env` and answers why it
 * was refused; undefined, after closing it, when it opened.
 */
async function refusal(dialect: Dialect, env: Record<string, string>, options: OpenVaultOptions = {}): Promise<string | undefined> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-second-vault-'));
  const database = dialect === 'postgres' ? await createMigratedDatabase('srmark') : null;
  const config = loadConfig({
    env: {
      STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: `${dataDir}-offsite`,
      ...TEST_PASSWORD_HASHING, ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}), ...env,
    },
  });
  try {
    const vault = await openVault(config, { create: true, logger: silent, ...options });
    await vault.close();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}-offsite`, { recursive: true, force: true });
  }
}

/** The vault a folder store's marker names. */
async function markerIn(folder: string): Promise<string> {
  return parseStoreMarker(await readFile(path.join(folder, STORE_MARKER_NAME), 'utf8')).vaultId;
}

async function has(store: BlobStore, id: string): Promise<boolean> {
  return store.size(id).then(() => true, (error: unknown) => {
    if (error instanceof DomainError && error.code === 'NOT_FOUND') return false;
    throw error;
  });
}

/** `vault`'s orphan sweep, on a clock the test moves, over the stores given instead of its own. */
function sweepOf(vault: Vault, clock: Clock, stores: Pick<OrphanBlobsOptions, 'primary' | 'replica'>): OrphanBlobsService {
  const options = (vault.orphanBlobs as unknown as { o: OrphanBlobsOptions }).o;
  return new OrphanBlobsService({ ...options, ...stores, replicaBackups: { among: async () => new Set() }, clock, sweepClock: async () => clock.now() });
}

/** Opens `place`'s vault (its data directory and database) with `env` and `options`, without an app. */
async function openAt(place: SharedVaultPlace, env: Record<string, string>, options: OpenVaultOptions = {}): Promise<Vault> {
  const config = loadConfig({ env: { STRONGROOM_DATA: place.dataDir, STRONGROOM_LOG_LEVEL: 'silent', ...TEST_PASSWORD_HASHING, ...place.env, ...env } });
  return openVault(config, { create: true, logger: silent, ...options });
}

/** The `storage.claim` events in `vault`'s log: their ids. */
async function claimEvents(vault: Vault): Promise<Array<Record<string, string>>> {
  const rows = await vault.store.db.selectFrom('audit_events').select(['target_ids', 'actor_user_id', 'decision']).where('action', '=', 'storage.claim').orderBy('id').execute();
  for (const row of rows) expect([row.actor_user_id, row.decision]).toEqual([null, 'allow']);
  return rows.map((row) => JSON.parse(row.target_ids) as Record<string, string>);
}

/**
 * A new vault over the unmarked stores `env` names (primary and replica at `locations`): its dry run
 * leaves them unmarked and says it would claim them; its first real open claims each, one audit event
 * apiece; the next open claims nothing; the log verifies.
 */
async function dryRunThenClaim(dialect: Dialect, env: Record<string, string>, locations: { primary: string; replica: string }, kind: 'folder' | 's3'): Promise<void> {
  const place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-marker-dry-');
  try {
    let vault = await openAt(place, env, { dryRun: true });
    try {
      expect(vault.storeClaims).toEqual([
        { role: 'primary', location: locations.primary, why: 'new', claimed: false },
        { role: 'replica', location: locations.replica, why: 'new', claimed: false },
      ]);
      const swept = await vault.orphanBlobs.sweep({ dryRun: true });
      expect(swept.stores.map((s) => [s.store, s.wouldClaim, s.error])).toEqual([['primary', 'new', undefined], ['replica', 'new', undefined]]);
      expect(await vault.blobStore.readMarker()).toBeUndefined();
      expect(await vault.replicaStore!.readMarker()).toBeUndefined();
      expect(await claimEvents(vault)).toEqual([]);
    } finally {
      await vault.close();
    }
    vault = await openAt(place, env);
    const vaultId = vault.vaultId;
    try {
      expect(vault.storeClaims.map((c) => [c.role, c.claimed])).toEqual([['primary', true], ['replica', true]]);
      expect(parseStoreMarker((await vault.blobStore.readMarker())!).vaultId).toBe(vaultId);
      expect(parseStoreMarker((await vault.replicaStore!.readMarker())!).vaultId).toBe(vaultId);
    } finally {
      await vault.close();
    }
    vault = await openAt(place, env);
    try {
      expect(vault.storeClaims).toEqual([]);
      expect(await claimEvents(vault)).toEqual([
        { store: 'primary', kind, location: locations.primary, vaultId, why: 'new', blobsSeen: '0' },
        { store: 'replica', kind, location: locations.replica, vaultId, why: 'new', blobsSeen: '0' },
      ]);
      expect(await vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    } finally {
      await vault.close();
    }
  } finally {
    await place.remove();
  }
}

const primaryDir = (vault: Vault) => path.join(vault.config.dataDir, 'blobs');
const replicaDir = (vault: Vault) => (vault.config.replica as { dir: string }).dir;

describe.each(DIALECTS)('one vault per blob store, folder stores, on %s', (dialect) => {
  const a = useTestVault(dialect, clamd);
  const b = useTestVault(dialect, clamd);

  it('marks its primary and replica with its own id, kept in its database', async () => {
    expect(a.vault.vaultId).toMatch(new RegExp(`^${UUID}$`));
    expect(a.vault.vaultId).not.toBe(b.vault.vaultId);
    expect(await a.vault.store.repos.settings.get(VAULT_ID_SETTING)).toBe(a.vault.vaultId);
    expect(await markerIn(primaryDir(a.vault))).toBe(a.vault.vaultId);
    expect(await markerIn(replicaDir(a.vault))).toBe(a.vault.vaultId);
    // Never a blob: neither store lists it.
    for await (const id of a.vault.blobStore.list()) expect(id).not.toBe(STORE_MARKER_NAME);
  });

  it('refuses to open a second vault on the first\'s blob store or replica, naming both vaults, and leaves the store as it was', async () => {
    const orphan = (await a.vault.blobStore.put(Readable.from([randomBytes(100)]))).id;
    // A copy into the replica the first vault left unfinished (a crash), old enough for a staging cleanup: not the second vault's to remove.
    const staged = path.join(replicaDir(a.vault), 'tmp', 'left-by-a-crash.part');
    await mkdir(path.dirname(staged), { recursive: true });
    await writeFile(staged, 'half a copy');
    await utimes(staged, new Date(Date.now() - 30 * 24 * HOUR), new Date(Date.now() - 30 * 24 * HOUR));
    const onPrimary = await refusal(dialect, { STRONGROOM_BLOBS: primaryDir(a.vault) });
    expect(onPrimary).toMatch(new RegExp(`^The blob store at ${primaryDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\(${UUID}\\)\\. Two vaults must never share a blob store`));
    expect(onPrimary).toContain('Point STRONGROOM_BLOBS at this vault\'s own store');
    const onReplica = await refusal(dialect, { STRONGROOM_REPLICA: replicaDir(a.vault) });
    expect(onReplica).toMatch(new RegExp(`^The replica at ${replicaDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\(${UUID}\\)`));
    expect(onReplica).toContain('Point STRONGROOM_REPLICA at');
    expect(await markerIn(primaryDir(a.vault))).toBe(a.vault.vaultId);
    expect(await markerIn(replicaDir(a.vault))).toBe(a.vault.vaultId);
    expect(await has(a.vault.blobStore, orphan)).toBe(true);
    expect(await readFile(staged, 'utf8')).toBe('half a copy');
  });

  it('a dry run refuses another vault\'s store or replica as a real open does, and writes nothing there', async () => {
    expect(await refusal(dialect, { STRONGROOM_BLOBS: primaryDir(a.vault) }, { dryRun: true }))
      .toMatch(new RegExp(`^The blob store at ${primaryDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\(${UUID}\\)\\. Two vaults must never share a blob store`));
    expect(await refusal(dialect, { STRONGROOM_REPLICA: replicaDir(a.vault) }, { dryRun: true }))
      .toMatch(new RegExp(`^The replica at ${replicaDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\(${UUID}\\)`));
    expect(await markerIn(primaryDir(a.vault))).toBe(a.vault.vaultId);
    expect(await markerIn(replicaDir(a.vault))).toBe(a.vault.vaultId);
  });

  it('a dry run claims no unmarked store, saying it would; the first real open audits one claim per store, the next none', async () => {
    const folders = await mkdtemp(path.join(tmpdir(), 'sr-unmarked-'));
    try {
      const primary = path.join(folders, 'blobs');
      const replica = path.join(folders, 'replica');
      await dryRunThenClaim(dialect, { STRONGROOM_BLOBS: primary, STRONGROOM_REPLICA: replica }, { primary, replica }, 'folder');
    } finally {
      await rm(folders, { recursive: true, force: true });
    }
  });

  it('refuses a store whose marker is not one (edited or damaged), and writes nothing over it', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'sr-edited-marker-'));
    try {
      await writeFile(path.join(folder, STORE_MARKER_NAME), '{"vault":"mine now"}\n');
      expect(await refusal(dialect, { STRONGROOM_BLOBS: folder })).toBe(`The blob store at ${folder} has a store marker (${STORE_MARKER_NAME}) that cannot be read: `
        + 'it is not a strongroom-store-marker/1 marker. It was changed by hand or damaged; put back the marker naming this vault (docs/operations.md "One vault per blob store").');
      expect(await readFile(path.join(folder, STORE_MARKER_NAME), 'utf8')).toBe('{"vault":"mine now"}\n');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('sweeps nothing in another vault\'s stores: refused before listing, nothing recorded, nothing deleted', async () => {
    let at = Date.now();
    const clock: Clock = { now: () => new Date(at) };
    const orphans = [await a.vault.blobStore.put(Readable.from([randomBytes(100)])), await a.vault.replicaStore!.put(Readable.from([randomBytes(100)]))];
    const sweep = sweepOf(b.vault, clock, { primary: a.vault.blobStore, replica: a.vault.replicaStore });
    for (let i = 0; i < 2; i++) {
      const report = await sweep.sweep();
      expect(report.stores.map((s) => [s.store, s.listed, s.newCandidates, s.removed])).toEqual([['primary', 0, 0, 0], ['replica', 0, 0, 0]]);
      expect(report.stores[0]!.error).toMatch(new RegExp(`^The blob store at ${primaryDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\(${b.vault.vaultId}\\)`));
      expect(report.stores[1]!.error).toMatch(new RegExp(`^The replica at ${replicaDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\(${b.vault.vaultId}\\)`));
      at += 25 * HOUR;
    }
    expect(await b.vault.store.repos.orphanBlobs.candidates('primary')).toEqual([]);
    expect(await b.vault.store.repos.orphanBlobs.candidates('replica')).toEqual([]);
    expect(await has(a.vault.blobStore, orphans[0]!.id)).toBe(true);
    expect(await has(a.vault.replicaStore!, orphans[1]!.id)).toBe(true);
  });

  it('opens again as the same vault; after an upgrade claims its unmarked stores once, which no other vault may then use', async () => {
    const place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-marker-');
    try {
      let v = await place.open();
      const first = v.vault.vaultId;
      const org = await createOrganisation(v.vault);
      const user = await org.user({ teams: ['payroll'] });
      expect((await upload(v.app, user, org.collections.payroll!, 'a.txt', 'kept')).statusCode).toBe(201);
      await v.vault.worker.runDue(); // the replicate job: the replica holds the blob too
      const primary = primaryDir(v.vault);
      const replica = replicaDir(v.vault);
      await closeKeepingData(v);
      v = await place.open();
      expect(v.vault.vaultId).toBe(first);

      // As a vault from before store markers: no id in its database, no marker in its stores.
      await v.vault.store.db.deleteFrom('key_values').where('key', '=', VAULT_ID_SETTING).execute();
      await closeKeepingData(v);
      await rm(path.join(primary, STORE_MARKER_NAME));
      await rm(path.join(replica, STORE_MARKER_NAME));
      // Another vault names none of those blobs: it is refused, and claims nothing.
      const unmarked = await refusal(dialect, { STRONGROOM_BLOBS: primary });
      expect(unmarked).toMatch(new RegExp(`^The blob store at ${primary} holds blobs and no store marker \\(${STORE_MARKER_NAME}\\), and this vault \\(${UUID}\\) names none of the 1 it looked at`));
      expect(await refusal(dialect, { STRONGROOM_REPLICA: replica })).toMatch(/^The replica at .* holds blobs and no store marker/);
      await expect(readFile(path.join(primary, STORE_MARKER_NAME))).rejects.toMatchObject({ code: 'ENOENT' });

      v = await place.open();
      const upgraded = v.vault.vaultId;
      expect(upgraded).not.toBe(first);
      expect(await markerIn(primary)).toBe(upgraded);
      expect(await markerIn(replica)).toBe(upgraded);
      await closeKeepingData(v);
      v = await place.open();
      expect(v.vault.vaultId).toBe(upgraded);
      // Claimed once, as the upgrade it was; audited once.
      expect((await claimEvents(v.vault)).filter((e) => e.vaultId === upgraded)).toEqual([
        { store: 'primary', kind: 'folder', location: primary, vaultId: upgraded, why: 'upgrade', blobsSeen: '1' },
        { store: 'replica', kind: 'folder', location: replica, vaultId: upgraded, why: 'upgrade', blobsSeen: '1' },
      ]);
      await closeKeepingData(v);
      expect(await refusal(dialect, { STRONGROOM_BLOBS: primary })).toMatch(new RegExp(`belongs to vault ${upgraded}, not this vault`));
    } finally {
      await place.remove();
    }
  });
});

describe.each(DIALECTS)('one vault per blob store, restored from a backup, on %s', (dialect) => {
  const a = useTestVault(dialect, clamd);
  const b = useTestVault(dialect, clamd);
  let work: string;
  const databases: TestDatabase[] = [];
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'sr-marker-restore-'));
  });
  afterAll(async () => {
    for (const db of databases) await db.drop();
    await rm(work, { recursive: true, force: true });
  });

  /** The configuration of a restore into a new data directory and database, with `from`'s master key and `replica` (by default `a`'s). */
  async function restoreConfig(name: string, from: { dataDir: string }, replica = replicaDir(a.vault)) {
    const dataDir = path.join(work, name);
    await mkdir(path.join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    await copyFile(path.join(from.dataDir, 'keys', 'master.key'), path.join(dataDir, 'keys', 'master.key'));
    const database = dialect === 'postgres' ? await createTestDatabase('srmark') : null;
    if (database) databases.push(database);
    return loadConfig({
      env: {
        STRONGROOM_DATA: dataDir, STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_LOG_LEVEL: 'silent', STRONGROOM_OFFSITE: path.join(work, `${name}-offsite`),
        STRONGROOM_REPLICA: replica, ...TEST_PASSWORD_HASHING, ...(database ? { STRONGROOM_DATABASE_URL: database.url } : {}),
      },
    });
  }

  /** `vault`'s backup as one from before vault ids: its database with no `vault.id`. */
  async function backupWithoutId(vault: Vault, to: string): Promise<string> {
    await vault.store.db.deleteFrom('key_values').where('key', '=', VAULT_ID_SETTING).execute();
    try {
      await takeBackup(vault, path.join(work, to));
    } finally {
      await vault.store.repos.settings.set(VAULT_ID_SETTING, vault.vaultId);
    }
    return path.join(work, to);
  }

  /**
   * Restores `backup` into a new data directory and database, with `a`'s replica; answers the restored
   * vault's id, and the claims its log records since the backup (of its new primary, or adopting an id).
   */
  async function restoreWithReplica(backup: string, name: string): Promise<{ vaultId: string; claims: string[][] }> {
    const config = await restoreConfig(name, a);
    const dataDir = config.dataDir;
    const result = await restoreBackup(config, { from: backup, logger: silent });
    expect(result.missing).toEqual([]);
    const vault = await openVault(config, { logger: silent });
    try {
      expect(await markerIn(path.join(dataDir, 'blobs'))).toBe(vault.vaultId);
      const claims = (await claimEvents(vault)).filter((e) => e.why === 'adopted' || e.location === path.join(dataDir, 'blobs'));
      expect(await vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
      return { vaultId: vault.vaultId, claims: claims.map((e) => [e.store!, e.kind!, e.location!, e.vaultId!, e.why!]) };
    } finally {
      await vault.close();
    }
  }

  it('is the same vault: it accepts its replica, and a backup from before vault ids takes the id its replica names', { timeout: 60_000 }, async () => {
    const org = await createOrganisation(a.vault);
    const user = await org.user({ teams: ['payroll'] });
    expect((await upload(a.app, user, org.collections.payroll!, 'a.txt', 'restored')).statusCode).toBe(201);
    await a.vault.worker.runDue();
    await takeBackup(a.vault, path.join(work, 'backup'));
    expect(await restoreWithReplica(path.join(work, 'backup'), 'restored')).toEqual({
      vaultId: a.vault.vaultId, claims: [['primary', 'folder', path.join(work, 'restored', 'blobs'), a.vault.vaultId, 'new']],
    });

    // Taking the id on the replica's marker is audited as a claim of that replica, though nothing is written there.
    expect(await restoreWithReplica(await backupWithoutId(a.vault, 'backup-before-ids'), 'restored-before-ids')).toEqual({
      vaultId: a.vault.vaultId, claims: [
        ['replica', 'folder', replicaDir(a.vault), a.vault.vaultId, 'adopted'],
        ['primary', 'folder', path.join(work, 'restored-before-ids', 'blobs'), a.vault.vaultId, 'new'],
      ],
    });
    expect(await markerIn(replicaDir(a.vault))).toBe(a.vault.vaultId);
  });

  it('a backup from before vault ids takes no id from ANOTHER vault\'s replica: the restore is refused, unfinished, and that replica is left as it was', { timeout: 60_000 }, async () => {
    const org = await createOrganisation(b.vault);
    const user = await org.user({ teams: ['payroll'] });
    expect((await upload(b.app, user, org.collections.payroll!, 'b.txt', 'vault b')).statusCode).toBe(201);
    const aBlob = (await a.vault.replicaStore!.put(Readable.from([randomBytes(100)]))).id;
    const config = await restoreConfig('b-on-a', b);
    const refused = await restoreBackup(config, { from: await backupWithoutId(b.vault, 'b-before-ids'), logger: silent }).then(() => 'restored', (error: Error) => error.message);
    expect(refused).toMatch(new RegExp(`^The replica at ${replicaDir(a.vault)} belongs to vault ${a.vault.vaultId}, not this vault \\((${UUID})\\)\\.`));
    expect(refused).not.toContain(`not this vault (${a.vault.vaultId})`);
    expect(refused).toContain('The restore is unfinished: once that is put right, run "strongroom restore" again into the same data directory');
    expect(await markerIn(replicaDir(a.vault))).toBe(a.vault.vaultId);
    expect(await has(a.vault.replicaStore!, aBlob)).toBe(true);
  });

  it('a backup from before vault ids is not restored while the replica that would name its vault cannot be read', async () => {
    const notAFolder = path.join(work, 'replica-is-a-file');
    await writeFile(notAFolder, 'not a folder');
    const config = await restoreConfig('replica-unreadable', a, notAFolder);
    const refused = await restoreBackup(config, { from: await backupWithoutId(a.vault, 'a-before-ids-2'), logger: silent }).then(() => 'restored', (error: Error) => error.message);
    expect(refused).toMatch(new RegExp(`^Could not read the store marker at ${notAFolder} to tell whether this backup is the vault that store belongs to: .* The restore is unfinished`));
  });
});

describe.each(DIALECTS)('one vault per blob store, bucket stores (loopback s3rver), on %s', (dialect) => {
  let s3: LoopbackS3;
  let bucket: string;
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    s3 = await startLoopbackS3();
    bucket = await s3.createBucket();
  });
  afterAll(async () => {
    await s3?.stop();
    for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  // Read when the vault opens, after the bucket is made.
  const a = useTestVault(dialect, clamd, { get env() { return { STRONGROOM_BLOBS: s3.blobsUrl(bucket, 'a'), STRONGROOM_REPLICA: s3.blobsUrl(bucket, 'a-offsite') }; } });
  const b = useTestVault(dialect, clamd);

  it('refuses a second vault on the first\'s bucket prefix (primary or replica), sweeps nothing there, and accepts another prefix', async () => {
    expect(a.vault.blobStore.location).toBe(`s3://${bucket}/a/`);
    const onPrimary = await refusal(dialect, { STRONGROOM_BLOBS: s3.blobsUrl(bucket, 'a') });
    expect(onPrimary).toMatch(new RegExp(`^The blob store at s3://${bucket}/a/ belongs to vault ${a.vault.vaultId}, not this vault \\(${UUID}\\)`));
    const onReplica = await refusal(dialect, { STRONGROOM_REPLICA: s3.blobsUrl(bucket, 'a-offsite') });
    expect(onReplica).toMatch(new RegExp(`^The replica at s3://${bucket}/a-offsite/ belongs to vault ${a.vault.vaultId}, not this vault`));
    expect(await refusal(dialect, { STRONGROOM_BLOBS: s3.blobsUrl(bucket, 'b') })).toBeUndefined();
    // A dry run is refused as the real open is.
    expect(await refusal(dialect, { STRONGROOM_BLOBS: s3.blobsUrl(bucket, 'a') }, { dryRun: true }))
      .toMatch(new RegExp(`^The blob store at s3://${bucket}/a/ belongs to vault ${a.vault.vaultId}, not this vault \\(${UUID}\\)`));
    expect(await refusal(dialect, { STRONGROOM_REPLICA: s3.blobsUrl(bucket, 'a-offsite') }, { dryRun: true }))
      .toMatch(new RegExp(`^The replica at s3://${bucket}/a-offsite/ belongs to vault ${a.vault.vaultId}, not this vault`));

    let at = Date.now();
    const clock: Clock = { now: () => new Date(at) };
    const orphan = (await a.vault.blobStore.put(Readable.from([randomBytes(100)]))).id;
    const sweep = sweepOf(b.vault, clock, { primary: a.vault.blobStore, replica: null });
    for (let i = 0; i < 2; i++) {
      const report = await sweep.sweep();
      expect(report.stores.map((s) => [s.store, s.listed, s.removed])).toEqual([['primary', 0, 0]]);
      expect(report.stores[0]!.error).toMatch(new RegExp(`^The blob store at s3://${bucket}/a/ belongs to vault ${a.vault.vaultId}, not this vault \\(${b.vault.vaultId}\\)`));
      at += 25 * HOUR;
    }
    expect(await has(a.vault.blobStore, orphan)).toBe(true);
  });

  it('a dry run claims no unmarked bucket prefix, saying it would; the first real open audits one claim per store, the next none', async () => {
    const prefix = `unmarked-${dialect}`;
    await dryRunThenClaim(dialect, { STRONGROOM_BLOBS: s3.blobsUrl(bucket, prefix), STRONGROOM_REPLICA: s3.blobsUrl(bucket, `${prefix}-offsite`) },
      { primary: `s3://${bucket}/${prefix}/`, replica: `s3://${bucket}/${prefix}-offsite/` }, 's3');
  });

  it('a vault opened for a dry run writes nothing to its bucket prefixes: no real sweep or background work through it, no audit checkpoint at its close', async () => {
    const prefix = `dry-only-${dialect}`;
    const env = { STRONGROOM_BLOBS: s3.blobsUrl(bucket, prefix), STRONGROOM_REPLICA: s3.blobsUrl(bucket, `${prefix}-offsite`) };
    const objects = async (under: string) => {
      const client = createS3Client(s3.location(bucket), { credentials: S3RVER_CREDENTIALS });
      try {
        return ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${under}/` }))).Contents ?? []).map((o) => o.Key!).sort();
      } finally {
        client.destroy();
      }
    };
    const place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-marker-dry-only-');
    try {
      const dry = await openAt(place, env, { dryRun: true });
      try {
        const report = await dry.orphanBlobs.sweep({ dryRun: false });
        expect(report.stores.map((s) => [s.store, s.error])).toEqual([
          ['primary', `the blob store at s3://${bucket}/${prefix}/ is not claimed for this vault (it was opened for a dry run): only a dry run sweeps it`],
          ['replica', `the replica at s3://${bucket}/${prefix}-offsite/ is not claimed for this vault (it was opened for a dry run): only a dry run sweeps it`],
        ]);
        await expect(dry.startBackground()).rejects.toThrow('A vault opened for a dry run runs no background work.');
      } finally {
        await dry.close();
      }
      expect([await objects(prefix), await objects(`${prefix}-offsite`)]).toEqual([[], []]);
      // A vault at work (events its log has not signed yet), and a dry run beside it: the dry run's close signs nothing into the replica's prefix.
      const live = await openAt(place, env);
      try {
        await createOrganisation(live);
        const before = await objects(`${prefix}-offsite`);
        await (await openAt(place, env, { dryRun: true })).close();
        expect(await objects(`${prefix}-offsite`)).toEqual(before);
      } finally {
        await live.close();
      }
    } finally {
      await place.remove();
    }
  });
});
