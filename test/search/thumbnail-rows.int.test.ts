// A thumbnail is bound, like a version's content, to the document it is asked for. A database
// administrator who points a readable document's current version at another document's version (of
// another council, or above the reader's clearance) must not get that document's first page shown to
// the readable document's readers: the thumbnail opens only under the binding of the document decided on.
import { readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { png } from '../support/samples.js';
import { createOrganisation, upload } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { drainJobs } from './support.js';

const clamd = useClamd();

describe.each(['sqlite', 'postgres'] as const)('thumbnail rows on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });

  it("does not show another council's first page through a document whose current version row was pointed at it", async () => {
    const victimOrg = await createOrganisation(t.vault);
    const victim = await victimOrg.user({ teams: ['payroll'] });
    const secret = (await upload(t.app, victim, victimOrg.collections.payroll!, 'tribunal.png', png())).json();
    const readerOrg = await createOrganisation(t.vault);
    const reader = await readerOrg.user({ teams: ['payroll'] });
    const own = (await upload(t.app, reader, readerOrg.collections.payroll!, 'rota.png', png())).json();
    await drainJobs(t.vault);
    expect((await api(t.app, victim).get(`documents/${secret.id}/thumbnail`)).statusCode).toBe(200);
    expect((await api(t.app, reader).get(`documents/${own.id}/thumbnail`)).statusCode).toBe(200);

    const secretVersion = (await t.vault.store.repos.documents.byId(secret.id))!.currentVersionId;
    await t.vault.store.db.updateTable('documents').set({ current_version_id: secretVersion }).where('id', '=', own.id).execute();

    const res = await api(t.app, reader).get(`documents/${own.id}/thumbnail`);
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).not.toBe('image/png');
    expect(await t.vault.search.hasThumbnail(await actorOf(reader.id), own.id)).toBe(false);
  });

  // Outside review, 7 December 2026: a thumbnail the database names but the store lost outside a restore
  // (deleted, damaged) answered 500 "stored copies are damaged" on REST and the web, logged an error and
  // queued a scrub of `<version>:thumbnail`, which is no version. One failing its check is a finding since
  // that evening (test/search/thumbnail-tampered.int.test.ts for rows pointed at another's blob).
  it('treats a thumbnail deleted or damaged in the store as missing: 404 on REST and the web, never 500, and draws it again', async () => {
    const org = await createOrganisation(t.vault);
    const person = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const user = await org.user({ teams: ['payroll'] });
    const deleted = (await upload(t.app, user, org.collections.payroll!, 'deleted.png', png())).json() as { id: string };
    const damaged = (await upload(t.app, user, org.collections.payroll!, 'damaged.png', png())).json() as { id: string };
    await drainJobs(t.vault);
    const web = new FormClient(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`);
    await web.signIn(person.email);
    const thumbnailOf = async (documentId: string) => (await t.vault.store.repos.documents.textState((await t.vault.store.repos.documents.byId(documentId))!.currentVersionId))!.thumbnail!;
    const before = { deleted: await thumbnailOf(deleted.id), damaged: await thumbnailOf(damaged.id) };
    const image = (await api(t.app, user).get(`documents/${deleted.id}/thumbnail`)).rawPayload;
    expect(image.subarray(1, 4).toString()).toBe('PNG');

    await t.vault.blobStore.delete(before.deleted.blobId);
    const file = path.join(t.dataDir, 'blobs', before.damaged.blobId.slice(0, 2), before.damaged.blobId);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    await writeFile(file, bytes);

    const rest = await api(t.app, user).get(`documents/${deleted.id}/thumbnail`);
    expect(rest.statusCode, rest.body).toBe(404);
    const page = await web.get(`/documents/${damaged.id}/thumbnail`);
    expect(page.status, page.text).toBe(404);
    // Forgotten (a second ask is the same 404, without reading the store), and nothing was taken for a damaged document.
    expect((await api(t.app, user).get(`documents/${damaged.id}/thumbnail`)).statusCode).toBe(404);
    expect((await web.get(`/documents/${deleted.id}/thumbnail`)).status).toBe(404);
    const scrubs = await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'scrub').execute();
    expect(scrubs.filter((j) => j.payload.includes(':thumbnail'))).toEqual([]);
    // The damaged one failed its check: a finding, as a scrub's of a damaged copy (its blob is named by no other
    // row, so damage, not a row written by hand: no alarm). The deleted one is only lost: no finding.
    await t.vault.audit.sequencer.integrate();
    const findings = (await t.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'storage.thumbnail.finding').map((e) => e.targetIds);
    const damagedVersion = (await t.vault.store.repos.documents.byId(damaged.id))!.currentVersionId;
    expect(findings).toEqual([{ documentId: damaged.id, versionId: damagedVersion, blobId: before.damaged.blobId, problem: 'damaged' }]);
    expect(await t.vault.audit.alarm.currentAlarm()).toBeNull();

    // Drawn again by the version's extraction, queued when it was found lost.
    await drainJobs(t.vault);
    for (const documentId of [deleted.id, damaged.id]) {
      const again = await api(t.app, user).get(`documents/${documentId}/thumbnail`);
      expect(again.statusCode).toBe(200);
      expect(again.rawPayload.subarray(1, 4).toString()).toBe('PNG');
      expect((await web.get(`/documents/${documentId}/thumbnail`)).status).toBe(200);
    }
    expect((await thumbnailOf(deleted.id)).blobId).not.toBe(before.deleted.blobId);
  });

  async function actorOf(userId: string) {
    const { actorFor } = await import('../../src/services/identity.service.js');
    return actorFor((await t.vault.store.repos.users.byId(userId))!, { channel: 'web', clientAddress: null, requestId: null });
  }
});
