// Document lifecycle hooks, raised inside the transaction that made the change: a version committed
// (which queues its scan when pending), a document moved, a document destroyed; a subscriber that
// throws rolls the change back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/domain/lifecycle.js';
import { startTestClamd, type TestClamd } from '../support/clamd.js';
import { strongroomTestSample } from '../support/samples.js';
import { DIALECTS, auth, createOrganisation, openTestVault, upload, type TestOrganisation, type TestVault } from '../support/vault.js';

let clamd: TestClamd;
beforeAll(async () => {
  clamd = await startTestClamd();
});
afterAll(async () => {
  await clamd?.stop();
});

describe.each(DIALECTS)('document lifecycle hooks on %s', (dialect) => {
  let t: TestVault;
  let org: TestOrganisation;
  const seen: LifecycleEvent[] = [];
  let failMoves = false;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '100' } });
    org = await createOrganisation(t.vault);
    t.vault.lifecycle
      .on('version.committed', async (event) => void seen.push(event))
      .on('document.moved', async (event) => {
        if (failMoves) throw new Error('subscriber failed');
        seen.push(event);
      })
      .on('document.destroyed', async (event) => void seen.push(event));
  });
  afterAll(async () => {
    await t?.close();
  });

  const jobsFor = async (versionId: string) =>
    (await t.vault.store.db.selectFrom('jobs').selectAll().where('kind', '=', 'scan-version').execute()).filter((r) => JSON.parse(r.payload).versionId === versionId);

  it('raises version.committed for an upload and a new version, and queues a scan only for a pending one', async () => {
    const member = await org.user({ teams: ['finance'] });
    const small = await upload(t.app, member, org.collections.finance!, `small-${randomBytes(4).toString('hex')}.txt`, 'short\n');
    expect(small.statusCode, small.body).toBe(201);
    const smallDoc = (await t.vault.store.repos.documents.byId(small.json().id))!;
    expect(seen.at(-1)).toEqual({ type: 'version.committed', organisationId: org.id, documentId: smallDoc.id, versionId: smallDoc.currentVersionId, bytes: 6, chargedTo: org.id, scanStatus: 'clean' });
    expect(await jobsFor(smallDoc.currentVersionId)).toHaveLength(0);

    const put = await t.app.inject({ method: 'PUT', url: `/api/v1/documents/${smallDoc.id}/content`, headers: { ...auth(member), 'content-type': 'application/octet-stream' }, payload: 'a longer second version, past the inline scan limit\n'.repeat(3) });
    expect(put.statusCode, put.body).toBe(200);
    const v2 = (await t.vault.store.repos.documents.byId(smallDoc.id))!.currentVersionId;
    expect(v2).not.toBe(smallDoc.currentVersionId);
    expect(seen.at(-1)).toEqual({ type: 'version.committed', organisationId: org.id, documentId: smallDoc.id, versionId: v2, bytes: 156, chargedTo: org.id, scanStatus: 'pending' });
    expect(await jobsFor(v2)).toEqual([expect.objectContaining({ status: 'queued', unique_key: `scan-version:${v2}` })]);
  });

  it('raises document.moved with where from and where to, and a subscriber that throws undoes the move', async () => {
    const member = await org.user({ teams: ['finance', 'hr'] });
    const stored = await upload(t.app, member, org.collections.finance!, `move-${randomBytes(4).toString('hex')}.txt`, 'to be moved\n');
    expect(stored.statusCode, stored.body).toBe(201);
    const id = stored.json().id as string;
    const name = (await t.vault.store.repos.documents.byId(id))!.name;

    failMoves = true;
    const refused = await t.app.inject({ method: 'PATCH', url: `/api/v1/documents/${id}`, headers: auth(member), payload: { collectionId: org.collections.hr } });
    failMoves = false;
    expect(refused.statusCode).toBe(500);
    expect((await t.vault.store.repos.documents.byId(id))!.collectionId).toBe(org.collections.finance);

    const moved = await t.app.inject({ method: 'PATCH', url: `/api/v1/documents/${id}`, headers: auth(member), payload: { collectionId: org.collections.hr } });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(seen.at(-1)).toEqual({ type: 'document.moved', organisationId: org.id, documentId: id, fromCollectionId: org.collections.finance, toCollectionId: org.collections.hr, name });
    expect((await t.vault.store.repos.documents.byId(id))!.collectionId).toBe(org.collections.hr);
  });

  it('raises document.destroyed when a security admin destroys a quarantined version', async () => {
    const member = await org.user({ teams: ['finance'] });
    const admin = await org.user({ roles: ['security_admin'] });
    const stored = await upload(t.app, member, org.collections.finance!, `sample-${randomBytes(4).toString('hex')}.txt`, strongroomTestSample());
    expect(stored.statusCode, stored.body).toBe(422);
    const document = (await t.vault.store.repos.documents.byId(stored.json().id))!;
    const destroyed = await t.app.inject({ method: 'POST', url: `/api/v1/quarantine/${document.currentVersionId}/destroy`, headers: auth(admin) });
    expect(destroyed.statusCode, destroyed.body).toBe(204);
    expect(seen.at(-1)).toEqual({ type: 'document.destroyed', organisationId: org.id, documentId: document.id, versionIds: [document.currentVersionId], disposed: true });
  });
});
