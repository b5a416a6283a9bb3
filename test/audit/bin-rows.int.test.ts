// A database administrator (any row, but neither the master key nor the signing key) hides a live record
// from everyone who may read it by writing its deleted_at, or puts back one its organisation deleted by
// clearing it; the same for a folder. `audit verify` must name each such row, as it does a row moved by
// hand, and must not name what the service did honestly: deletions, restores, a folder deleted with a
// folder in it deleted before, and a record purged from the bin.
import { afterEach, describe, expect, it } from 'vitest';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, realClockUnless, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const DAY_MS = 24 * 60 * 60 * 1000;
const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

describe.each(DIALECTS)('audit verify and bin rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /**
   * An organisation where, honestly: "live.txt" stays; "binned.txt" is deleted; "restored.txt" is
   * deleted and restored; "purged.txt" is deleted and purged 31 days later; folder "Old" under HR is
   * deleted after its subfolder "Older" was, with "inside.txt" in "Old".
   */
  async function setting() {
    const clock = realClockUnless();
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, clock });
    const v = t;
    const org = await createOrganisation(v.vault);
    const member = await org.user({ teams: ['hr'] });
    const hr = org.collections.hr!;
    const actor = actorFor((await v.vault.identity.userById(member.id))!, { channel: 'webdav', clientAddress: '127.0.0.1', requestId: 'bin-rows' });
    const folder = async (name: string, parentId: string) => v.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' });
    const uploaded = async (name: string, collectionId = hr) => {
      const up = await upload(v.app, member, collectionId, name, `${name}\n`);
      expect(up.statusCode, up.body).toBe(201);
      return up.json().id as string;
    };
    const remove = async (id: string) => expect((await api(v.app, member).delete(`documents/${id}`)).statusCode).toBe(204);
    const deletedAt = async (id: string) => (await v.vault.store.repos.documents.byId(id))!.deletedAt!;
    // Purged first: the purge takes whatever has been in the bin long enough.
    const purged = await uploaded('purged.txt');
    await remove(purged);
    clock.set(new Date(Date.parse(await deletedAt(purged)) + 31 * DAY_MS).toISOString());
    expect(await v.vault.disposal.purgeBin(org.id).finally(() => clock.set(null))).toMatchObject({ purged: [purged] });
    const live = await uploaded('live.txt');
    const binned = await uploaded('binned.txt');
    await remove(binned);
    const restored = await uploaded('restored.txt');
    await remove(restored);
    await pause();
    expect((await api(v.app, member).post(`documents/${restored}/restore`)).statusCode).toBe(200);
    const old = await folder('Old', hr);
    const older = await folder('Older', old.id);
    const inside = await uploaded('inside.txt', old.id);
    await v.vault.dav.removeCollection(actor, older);
    await pause();
    await v.vault.dav.removeCollection(actor, old);
    const db = v.vault.store.db;
    const setDocument = (id: string, at: string | null) => db.updateTable('documents').set({ deleted_at: at }).where('id', '=', id).execute();
    const setCollection = (id: string, at: string | null) => db.updateTable('collections').set({ deleted_at: at }).where('id', '=', id).execute();
    const collectionDeletedAt = async (id: string) => (await v.vault.store.repos.collections.byId(id))!.deletedAt;
    const verify = () => v.vault.audit.verification.verify(systemActor());
    const expectNamed = async (...words: string[]) => {
      const check = await verify();
      expect(check.ok).toBe(false);
      for (const w of words) expect(check.ok ? '' : check.problem).toContain(w);
    };
    return { hr, live, binned, restored, purged, inside, old: old.id, older: older.id, deletedAt, collectionDeletedAt, setDocument, setCollection, verify, expectNamed };
  }

  it('vouches for every row the service binned, restored, purged or left alone', async () => {
    const s = await setting();
    expect(await s.collectionDeletedAt(s.old)).not.toBeNull();
    expect(await s.collectionDeletedAt(s.older)).not.toBeNull();
    expect(await s.deletedAt(s.inside)).not.toBeNull();
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a live record put in the bin by hand, and one restored, then binned, by hand', async () => {
    const s = await setting();
    const now = new Date().toISOString();
    await s.setDocument(s.live, now);
    await s.expectNamed(`Document ${s.live} is in the bin since ${now}, but the audit log records no deletion of it`, 'changed in the database directly');
    await s.setDocument(s.live, null);
    await s.setDocument(s.restored, now);
    await s.expectNamed(`Document ${s.restored} is in the bin since ${now}, but the audit log last records it restored`);
    await s.setDocument(s.restored, null);
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a deleted record taken out of the bin by hand, a purged one too, and one whose deletion was backdated', async () => {
    const s = await setting();
    const binnedAt = await s.deletedAt(s.binned);
    await s.setDocument(s.binned, null);
    await s.expectNamed(`Document ${s.binned} is not in the bin, but the audit log last records it deleted, at ${binnedAt}`);
    await s.setDocument(s.binned, binnedAt);
    const purgedAt = await s.deletedAt(s.purged);
    await s.setDocument(s.purged, null);
    await s.expectNamed(`Document ${s.purged} is not in the bin`);
    await s.setDocument(s.purged, purgedAt);
    const backdated = new Date(Date.parse(binnedAt) - 40 * DAY_MS).toISOString();
    await s.setDocument(s.binned, backdated);
    await s.expectNamed(`Document ${s.binned} is in the bin since ${backdated}, but the audit log records its deletion at ${binnedAt}`);
    await s.setDocument(s.binned, binnedAt);
    expect(await s.verify()).toMatchObject({ ok: true });
  });

  it('names a folder put back by hand, one binned by hand, and one binned at another instant than its deletion', async () => {
    const s = await setting();
    const olderAt = (await s.collectionDeletedAt(s.older))!;
    await s.setCollection(s.older, null);
    await s.expectNamed(`Collection ${s.older} is not in the bin, but the audit log records it deleted`);
    await s.setCollection(s.older, olderAt);
    const oldAt = (await s.collectionDeletedAt(s.old))!;
    await s.setCollection(s.old, null);
    await s.expectNamed(`Collection ${s.old} is not in the bin, but the audit log records it deleted`);
    await s.setCollection(s.old, oldAt);
    const hr = s.hr;
    const now = new Date().toISOString();
    await s.setCollection(hr, now);
    await s.expectNamed(`Collection ${hr} is in the bin since ${now}, but the audit log records no deletion of it, or of a collection above it, at that instant`);
    await s.setCollection(hr, null);
    await s.setCollection(s.older, now);
    await s.expectNamed(`Collection ${s.older} is in the bin since ${now}`);
    await s.setCollection(s.older, olderAt);
    expect(await s.verify()).toMatchObject({ ok: true });
  });
});
