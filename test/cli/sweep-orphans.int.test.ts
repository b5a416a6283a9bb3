// `strongroom storage sweep-orphans [--dry-run]`: the garbage collection of orphan blobs by hand. A dry
// run changes nothing; a sweep records a blob nothing names and keeps it; once it was first seen over a
// day ago it is deleted, audited, and `audit verify` still passes; a committed version's blob stays. A dry
// run (of the sweep, or of `import --as`) claims no store without a marker: it says a real run would.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultOffsiteDir } from '../../src/config/storage-settings.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { closeKeepingData, openVaultAt, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('strongroom storage sweep-orphans on %s', (dialect) => {
  let place: SharedVaultPlace;
  let replicaDir: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-sweep-');
    replicaDir = await mkdtemp(path.join(tmpdir(), 'sr-replica-'));
  });
  afterAll(async () => {
    await place?.remove();
    await rm(replicaDir, { recursive: true, force: true });
    if (place) await rm(defaultOffsiteDir(place.dataDir), { recursive: true, force: true });
  });

  it('records an orphan, deletes it once first seen over a day ago (audited), keeps committed blobs; --dry-run changes nothing', { timeout: 120_000 }, async () => {
    const env = { ...place.env, STRONGROOM_REPLICA: replicaDir };
    let v = await openVaultAt(place.dataDir, clamd.socketPath, env);
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const res = await upload(v.app, user, org.collections.payroll!, 'kept.bin', randomBytes(5000));
    expect(res.statusCode, res.body).toBe(201);
    await v.vault.worker.runDue();
    const document = (await v.vault.store.repos.documents.byId((res.json() as { id: string }).id))!;
    const kept = (await v.vault.store.repos.documents.versionById(document.currentVersionId!))!.blobId;
    const orphan = (await v.vault.blobStore.put(Readable.from([randomBytes(4000)]))).id;
    await closeKeepingData(v);

    const dry = await runCli(['--data', place.dataDir, 'storage', 'sweep-orphans', '--dry-run'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, graceHours: 24, stores: [{ store: 'primary', listed: 2, unreferenced: 1, newCandidates: 1, removed: 0 }, { store: 'replica', listed: 1, unreferenced: 0 }] });
    expect(dry.stderr).toContain('Swept the primary store: 2 blob(s), 1 named by nothing (1 seen for the first time');
    expect(dry.stderr).toContain('0 would be deleted (dry run: nothing changed)');

    const first = await runCli(['--data', place.dataDir, 'storage', 'sweep-orphans'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ dryRun: false, stores: [{ store: 'primary', newCandidates: 1, waiting: 1, removed: 0 }, { store: 'replica' }] });

    // A day later, as far as the candidate is concerned.
    v = await openVaultAt(place.dataDir, clamd.socketPath, env);
    expect((await v.vault.store.repos.orphanBlobs.candidates('primary')).map((c) => c.blobId)).toEqual([orphan]);
    await v.vault.store.db.updateTable('orphan_blob_candidates').set({ first_seen_at: new Date(Date.now() - 25 * 3600 * 1000).toISOString() }).execute();
    await closeKeepingData(v);

    const second = await runCli(['--data', place.dataDir, 'storage', 'sweep-orphans'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ stores: [{ store: 'primary', due: 1, removed: 1, bytesRemoved: 4000, failed: 0 }, { store: 'replica', removed: 0 }] });
    expect(second.stderr).toContain('0 gone from the store and forgotten, 1 deleted (4000 bytes)');

    v = await openVaultAt(place.dataDir, clamd.socketPath, env);
    await expect(v.vault.blobStore.size(orphan)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await v.vault.blobStore.size(kept)).toBeGreaterThan(5000);
    expect(await v.vault.replicaStore!.size(kept)).toBeGreaterThan(5000);
    const events = await v.vault.store.db.selectFrom('audit_events').select(['target_ids', 'channel']).where('action', '=', 'storage.orphans-removed').execute();
    expect(events.map((e) => ({ ids: JSON.parse(e.target_ids) as unknown, channel: e.channel }))).toEqual([{ ids: { store: 'primary', removed: '1', bytes: '4000', failed: '0', blobIds: orphan }, channel: 'cli' }]);
    const condemned = await v.vault.store.db.selectFrom('audit_events').select(['target_ids', 'channel']).where('action', '=', 'storage.orphans-condemned').execute();
    expect(condemned.map((e) => ({ ids: JSON.parse(e.target_ids) as unknown, channel: e.channel }))).toEqual([{ ids: { store: 'primary', condemned: '1', blobIds: orphan }, channel: 'cli' }]);
    await closeKeepingData(v);
    const verify = await runCli(['--data', place.dataDir, 'audit', 'verify'], { env });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
  });

  it('a --dry-run (sweep, or import --as) claims no unmarked store and says a real run would; the real run claims it, audited once', { timeout: 60_000 }, async () => {
    const newReplica = await mkdtemp(path.join(tmpdir(), 'sr-unmarked-replica-'));
    const source = await mkdtemp(path.join(tmpdir(), 'sr-dry-import-'));
    try {
      const v = await place.open();
      const vaultId = v.vault.vaultId;
      const org = await createOrganisation(v.vault);
      const user = await org.user({ teams: ['payroll'] });
      await closeKeepingData(v);
      await writeFile(path.join(source, 'note.txt'), 'a note\n');
      const env = { ...place.env, STRONGROOM_REPLICA: newReplica };
      const wouldClaim = `Dry run: the replica at ${newReplica} has no store marker (strongroom-vault.json); a real run would claim it for this vault (${vaultId}). Nothing was written there.`;

      const dry = await runCli(['--data', place.dataDir, 'storage', 'sweep-orphans', '--dry-run'], { env });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).toContain(wouldClaim);
      expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, stores: [{ store: 'primary' }, { store: 'replica', listed: 0, wouldClaim: 'new' }] });
      expect((JSON.parse(dry.stdout) as { stores: object[] }).stores[0]).not.toHaveProperty('wouldClaim');
      const imported = await runCli(['--data', place.dataDir, 'import', source, '--collection', org.collections.payroll!, '--as', user.email, '--dry-run'], { env });
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stderr).toContain(wouldClaim);
      expect(imported.stderr).toContain('Dry run: would import 1 file(s)');
      expect(await readdir(newReplica)).toEqual([]);

      const real = await runCli(['--data', place.dataDir, 'storage', 'sweep-orphans'], { env });
      expect(real.code, real.stderr).toBe(0);
      expect(real.stderr).not.toContain('Dry run');
      expect(await readdir(newReplica)).toContain('strongroom-vault.json');
      const after = await place.open();
      const claims = await after.vault.store.db.selectFrom('audit_events').select(['target_ids', 'actor_user_id', 'decision']).where('action', '=', 'storage.claim').execute();
      await closeKeepingData(after);
      expect(claims.filter((e) => (JSON.parse(e.target_ids) as { location: string }).location === newReplica).map((e) => [JSON.parse(e.target_ids), e.actor_user_id, e.decision]))
        .toEqual([[{ store: 'replica', kind: 'folder', location: newReplica, vaultId, why: 'new', blobsSeen: '0' }, null, 'allow']]);
      const verify = await runCli(['--data', place.dataDir, 'audit', 'verify'], { env });
      expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    } finally {
      await rm(newReplica, { recursive: true, force: true });
      await rm(source, { recursive: true, force: true });
    }
  });

  it('refuses, before sweeping anything, a store whose marker names another vault, and says what to do', async () => {
    const other = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-other-');
    try {
      const v = await other.open();
      const otherId = v.vault.vaultId;
      await closeKeepingData(v);
      const owner = await place.open();
      const ownerId = owner.vault.vaultId;
      const orphan = (await owner.vault.blobStore.put(Readable.from([randomBytes(100)]))).id;
      await closeKeepingData(owner);
      const blobs = path.join(place.dataDir, 'blobs');
      // A dry run is refused as the real one is.
      for (const dryRun of [[], ['--dry-run']]) {
        const refused = await runCli(['--data', other.dataDir, 'storage', 'sweep-orphans', ...dryRun], { env: { ...other.env, STRONGROOM_BLOBS: blobs } });
        expect(refused.code).toBe(1);
        expect(refused.stdout).toBe('');
        expect(refused.stderr).toContain(`strongroom: The blob store at ${blobs} belongs to vault ${ownerId}, not this vault (${otherId}). Two vaults must never share a blob store`);
      }
      const after = await place.open();
      expect(await after.vault.blobStore.size(orphan)).toBe(100);
      await closeKeepingData(after);
    } finally {
      await other.remove();
    }
  });

  it('says what it does in --help', async () => {
    const help = await runCli(['storage', 'sweep-orphans', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--dry-run');
    expect(help.stdout).toContain('storage.orphans-condemned');
    expect(help.stdout).toContain('storage.orphans-removed');
    expect(help.stdout).toContain('strongroom-vault.json');
  });
});
