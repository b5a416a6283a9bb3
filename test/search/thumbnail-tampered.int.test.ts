// A version's thumbnail row pointed by hand at another row's blob (another council's thumbnail, another
// document's content) fails its check: the blob is bound to its own version. That is no disk's damage but a row
// written into the database directly: the request answers 404 (never the other image's or file's bytes), the
// finding is audited (`storage.thumbnail.finding`), the integrity alarm is raised, the row forgets it and the
// thumbnail is drawn again, and the other blob is never deleted, not even when the tampered row is replaced
// by an extraction that runs before anyone asks for the picture. On both dialects.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { extractTextJob } from '../../src/domain/jobs/kinds.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { png } from '../support/samples.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { drainJobs } from './support.js';

const clamd = useClamd();
const PNG_SIGNATURE = Buffer.from('89504e470d0a1a0a', 'hex');

describe.each(DIALECTS)('thumbnail rows pointed at another blob, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  /** A council's picture and, in another council, the document whose blobs its row is pointed at. */
  async function world() {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const own = (await upload(t.app, user, org.collections.payroll!, 'rota.png', png())).json().id as string;
    const otherOrg = await createOrganisation(t.vault);
    const otherUser = await otherOrg.user({ teams: ['payroll'] });
    const other = (await upload(t.app, otherUser, otherOrg.collections.payroll!, 'tribunal.png', png())).json().id as string;
    await drainJobs(t.vault);
    const versionOf = async (documentId: string) => (await t.vault.store.repos.documents.versionById((await t.vault.store.repos.documents.byId(documentId))!.currentVersionId))!;
    const ownVersion = await versionOf(own);
    const otherVersion = await versionOf(other);
    const thumbnailOf = async (versionId: string) => (await t.vault.store.repos.documents.textState(versionId))!.thumbnail;
    const blobs = {
      "another council's thumbnail": (await thumbnailOf(otherVersion.id))!.blobId,
      "another council's document content": otherVersion.blobId,
    };
    return { org, user, own, ownVersion, otherUser, other, thumbnailOf, blobs, ownThumbnail: (await thumbnailOf(ownVersion.id))! };
  }

  const pointAt = (versionId: string, blobId: string) => t.vault.store.db.updateTable('versions').set({ thumbnail_blob_id: blobId }).where('id', '=', versionId).execute();

  async function findings(organisationId: string) {
    await t.vault.audit.sequencer.integrate();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId)).filter((e) => e.action === 'storage.thumbnail.finding')
      .map((e) => ({ actor: e.actorUserId, decision: e.decision, ids: e.targetIds }));
  }

  /** The other council's document is as it was: its thumbnail and content still read, from the primary store too. */
  async function otherIntact(w: Awaited<ReturnType<typeof world>>) {
    for (const blobId of Object.values(w.blobs)) expect(await t.vault.blobStore.size(blobId)).toBeGreaterThan(0);
    const thumbnail = await api(t.app, w.otherUser).get(`documents/${w.other}/thumbnail`);
    expect(thumbnail.statusCode).toBe(200);
    const content = await api(t.app, w.otherUser).get(`documents/${w.other}/content`);
    expect(content.statusCode).toBe(200);
    expect(content.rawPayload.equals(png())).toBe(true);
  }

  it.each([
    ["another council's thumbnail", 'names-another-thumbnail', "another version's thumbnail"],
    ["another council's document content", 'names-a-version-content', "a version's content"],
  ] as const)('answers 404 for a row pointed at %s, audits the finding, raises the alarm and draws it again', async (pointedAt, problem, which) => {
    const w = await world();
    const blobId = w.blobs[pointedAt];
    expect((await api(t.app, w.user).get(`documents/${w.own}/thumbnail`)).statusCode).toBe(200);
    await pointAt(w.ownVersion.id, blobId);
    const alarm = vi.spyOn(t.vault.audit.alarm, 'raiseTamperingAlarm');

    const res = await api(t.app, w.user).get(`documents/${w.own}/thumbnail`);
    expect({ status: res.statusCode, detail: res.json().detail }).toEqual({ status: 404, detail: 'No thumbnail with that id exists, or you do not have access to it.' });
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.rawPayload.includes(PNG_SIGNATURE)).toBe(false);
    expect(alarm.mock.calls).toEqual([['thumbnail', `The thumbnail row of version ${w.ownVersion.id} names blob ${blobId}, which is ${which}: `
      + 'it was written into the database directly. It was not shown; it is forgotten and drawn again.']]);
    expect(await t.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'thumbnail' });
    expect(await findings(w.org.id)).toEqual([{ actor: null, decision: 'allow', ids: { documentId: w.own, versionId: w.ownVersion.id, blobId, problem } }]);
    // Forgotten: asked again, the same 404 without reading the store, and no second finding.
    expect(await w.thumbnailOf(w.ownVersion.id)).toBeNull();
    expect((await api(t.app, w.user).get(`documents/${w.own}/thumbnail`)).statusCode).toBe(404);
    expect(await findings(w.org.id)).toHaveLength(1);

    // Drawn again by the extraction queued when it was found; the other council's blobs untouched throughout.
    await drainJobs(t.vault);
    const again = await api(t.app, w.user).get(`documents/${w.own}/thumbnail`);
    expect(again.statusCode).toBe(200);
    expect(again.rawPayload.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect((await w.thumbnailOf(w.ownVersion.id))!.blobId).not.toBe(blobId);
    await otherIntact(w);
    expect(alarm).toHaveBeenCalledTimes(1);
  });

  it('never deletes the blob a tampered row names when an extraction replaces the row before anyone asks for the picture', async () => {
    const w = await world();
    const blobId = w.blobs["another council's document content"];
    await pointAt(w.ownVersion.id, blobId);
    const alarm = vi.spyOn(t.vault.audit.alarm, 'raiseTamperingAlarm');
    await t.vault.store.repos.jobs.enqueue(extractTextJob, { versionId: w.ownVersion.id }, { now: new Date(), organisationId: w.org.id, bytes: w.ownVersion.size });
    await drainJobs(t.vault);

    expect(alarm.mock.calls).toEqual([['thumbnail', `The thumbnail row of version ${w.ownVersion.id} names blob ${blobId}, which is a version's content: `
      + 'it was written into the database directly. The blob was kept, not deleted with the thumbnail.']]);
    await otherIntact(w);
    const redrawn = (await w.thumbnailOf(w.ownVersion.id))!.blobId;
    expect([blobId, w.ownThumbnail.blobId]).not.toContain(redrawn);
    expect((await api(t.app, w.user).get(`documents/${w.own}/thumbnail`)).statusCode).toBe(200);
  });
});
