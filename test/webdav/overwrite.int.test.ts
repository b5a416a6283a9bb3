// "A refused operation changes nothing", for what is in the way: a COPY or MOVE with Overwrite: T bins
// the destination only in the same transaction as the copy or move, after everything that could refuse
// it was decided (retention shortened, permissions, holds, locks, scans), and a folder's DELETE bins all
// of it or none of it. Before, the destination went to the bin first and stayed there when the move was
// then refused (docs/records.md, *Moving is refiling too*; docs/webdav.md).
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { fileCollectionUnder } from '../support/records.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';
import { dav, davUser } from './support.js';
import type { AddressInfo } from 'node:net';

const clamd = useClamd();

const SHORTER = (n: number) => `Moving it brings the due date of ${n} document${n === 1 ? '' : 's'} earlier: the place it goes to is filed under a record series with a shorter period, or a trigger event there is dated earlier. `
  + 'A records manager must check the new due dates and confirm the move for it to go ahead.\n';

describe.each(DIALECTS)('WebDAV Overwrite: T decides before it bins on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  const base = () => `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;

  /** Two HR folders, one kept 50 years and one 0 years, and an HR member working over WebDAV. */
  async function council() {
    const org = await createOrganisation(t.vault);
    const mk = (name: string, parentId = org.collections.hr!) => t.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' });
    const long = await mk('personnel-files');
    const short = await mk('misc-drafts');
    await fileCollectionUnder(t.vault, org.id, long.id, { code: 'HR-LONG', trigger: 'created', retainYears: 50, action: 'destroy', serviceArea: 'hr' });
    await fileCollectionUnder(t.vault, org.id, short.id, { code: 'HR-ZERO', trigger: 'created', retainYears: 0, action: 'destroy', serviceArea: 'hr' });
    const member = await davUser(t.vault, org, { teams: ['hr'] });
    const root = `/dav/${org.slug}/hr`;
    const request = (method: string, from: string, to: string | null, headers: Record<string, string> = {}) =>
      dav(base(), method, `${root}/${from}`, { user: member, headers: { ...(to === null ? {} : { destination: `${base()}${root}/${to}`, overwrite: 'T' }), ...headers } });
    return { org, long, short, member, mk, request };
  }

  async function file(user: Parameters<typeof upload>[1], collectionId: string, name: string): Promise<string> {
    const res = await upload(t.app, user, collectionId, name, `${name}\n`);
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  }

  async function events(organisationId: string) {
    await t.vault.audit.sequencer.flush();
    return (await t.vault.store.repos.audit.forOrganisation(organisationId)).map((e) => ({ action: e.action, decision: e.decision, reason: e.reason, ids: e.targetIds }));
  }

  const binned = async (kind: 'document' | 'collection', id: string) =>
    (kind === 'document' ? await t.vault.store.repos.documents.byId(id) : await t.vault.store.repos.collections.byId(id))!.deletedAt !== null;

  /** A document whose current version is still being scanned: no one may copy or delete it yet. */
  const underReview = (id: string) => t.vault.store.repos.documents.update(id, { status: 'pending_scan' }, new Date().toISOString());

  it('refuses a MOVE of a document under a shorter series onto a document or a folder in the way (409) and bins neither', async () => {
    const { org, long, short, member, mk, request } = await council();
    const id = await file(member, long.id, 'contract.txt');
    const inTheWay = await file(member, short.id, 'contract.txt');
    const folderInTheWay = await mk('contract-2.txt', short.id);
    const inside = await file(member, folderInTheWay.id, 'note.txt');
    const before = (await events(org.id)).length;

    for (const to of ['misc-drafts/contract.txt', 'misc-drafts/contract-2.txt']) {
      const res = await request('MOVE', 'personnel-files/contract.txt', to);
      expect(res.status).toBe(409);
      expect(res.body).toBe(SHORTER(1));
    }
    expect(await binned('document', inTheWay)).toBe(false);
    expect(await binned('collection', folderInTheWay.id)).toBe(false);
    expect(await binned('document', inside)).toBe(false);
    expect(await t.vault.store.repos.documents.byId(id)).toMatchObject({ collectionId: long.id, name: 'contract.txt', deletedAt: null });
    // Only the two refusals are recorded: nothing was deleted, not even for a moment.
    expect((await events(org.id)).slice(before)).toEqual([
      { action: 'document.move', decision: 'deny', reason: 'retention_shortened', ids: { documentId: id, collectionId: short.id, movedEarlier: '1' } },
      { action: 'document.move', decision: 'deny', reason: 'retention_shortened', ids: { documentId: id, collectionId: short.id, movedEarlier: '1' } },
    ]);
  });

  it('refuses a MOVE of a folder under a shorter series onto a folder or a document in the way (409) and bins neither', async () => {
    const { org, long, short, member, mk, request } = await council();
    const folder = await mk('case-2020', long.id);
    const moved = await file(member, folder.id, 'c.txt');
    const folderInTheWay = await mk('case-2020', short.id);
    const inside = await file(member, folderInTheWay.id, 'old.txt');
    const inTheWay = await file(member, short.id, 'case-2021');
    const before = (await events(org.id)).length;

    for (const to of ['misc-drafts/case-2020', 'misc-drafts/case-2021']) {
      const res = await request('MOVE', 'personnel-files/case-2020', to);
      expect(res.status).toBe(409);
      expect(res.body).toBe(SHORTER(1));
    }
    expect(await binned('collection', folderInTheWay.id)).toBe(false);
    expect(await binned('document', inside)).toBe(false);
    expect(await binned('document', inTheWay)).toBe(false);
    expect(await t.vault.store.repos.collections.byId(folder.id)).toMatchObject({ parentId: long.id, name: 'case-2020', deletedAt: null });
    expect(await t.vault.store.repos.documents.byId(moved)).toMatchObject({ collectionId: folder.id, deletedAt: null });
    expect((await events(org.id)).slice(before)).toEqual([
      { action: 'collection.move', decision: 'deny', reason: 'retention_shortened', ids: { collectionId: folder.id, parentId: short.id, movedEarlier: '1' } },
      { action: 'collection.move', decision: 'deny', reason: 'retention_shortened', ids: { collectionId: folder.id, parentId: short.id, movedEarlier: '1' } },
    ]);
  });

  it('replaces a folder in the way with the moved folder in one step when nothing refuses it', async () => {
    const { org, long, member, mk, request } = await council();
    const folder = await mk('case-2022', long.id);
    const moved = await file(member, folder.id, 'c.txt');
    const other = await mk('archive', long.id);
    const inTheWay = await mk('case-2022', other.id);
    const inside = await file(member, inTheWay.id, 'old.txt');
    const before = (await events(org.id)).length;

    expect((await request('MOVE', 'personnel-files/case-2022', 'personnel-files/archive/case-2022')).status).toBe(204);
    expect(await binned('collection', inTheWay.id)).toBe(true);
    expect(await binned('document', inside)).toBe(true);
    expect(await t.vault.store.repos.collections.byId(folder.id)).toMatchObject({ parentId: other.id, deletedAt: null });
    expect(await t.vault.store.repos.documents.byId(moved)).toMatchObject({ collectionId: folder.id, deletedAt: null });
    expect((await events(org.id)).slice(before).map((e) => [e.action, e.decision, e.ids.documentId ?? e.ids.collectionId])).toEqual([
      ['document.delete', 'allow', inside], ['collection.delete', 'allow', inTheWay.id], ['collection.move', 'allow', folder.id],
    ]);
  });

  it('refuses a MOVE onto the folder that holds what is moved (409) instead of binning it with the folder', async () => {
    const { long, member, mk, request } = await council();
    const folder = await mk('outer', long.id);
    const id = await file(member, folder.id, 'inner.txt');
    const sub = await mk('inner', folder.id);
    for (const from of ['personnel-files/outer/inner.txt', 'personnel-files/outer/inner']) {
      const res = await request('MOVE', from, 'personnel-files/outer');
      expect(res.status).toBe(409);
      expect(res.body).toBe('What is at the destination holds what is being moved; move it somewhere else first.\n');
    }
    expect(await binned('collection', folder.id)).toBe(false);
    expect(await t.vault.store.repos.documents.byId(id)).toMatchObject({ collectionId: folder.id, name: 'inner.txt', deletedAt: null });
    expect(await t.vault.store.repos.collections.byId(sub.id)).toMatchObject({ parentId: folder.id, deletedAt: null });
  });

  it('refuses a COPY of a document still being scanned onto a folder in the way (423) and bins nothing', async () => {
    const { long, member, mk, request } = await council();
    const id = await file(member, long.id, 'scan.txt');
    await underReview(id);
    const folderInTheWay = await mk('copy-here', long.id);
    const inside = await file(member, folderInTheWay.id, 'keep.txt');
    expect((await request('COPY', 'personnel-files/scan.txt', 'personnel-files/copy-here')).status).toBe(423);
    expect(await binned('collection', folderInTheWay.id)).toBe(false);
    expect(await binned('document', inside)).toBe(false);
  });

  it('refuses a COPY of a folder holding a document still being scanned onto a folder in the way (423) and bins nothing', async () => {
    const { long, member, mk, request } = await council();
    const folder = await mk('to-copy', long.id);
    await file(member, folder.id, 'a.txt');
    await underReview(await file(member, folder.id, 'b.txt'));
    const other = await mk('elsewhere', long.id);
    const inTheWay = await mk('to-copy', other.id);
    const inside = await file(member, inTheWay.id, 'keep.txt');
    expect((await request('COPY', 'personnel-files/to-copy', 'personnel-files/elsewhere/to-copy')).status).toBe(423);
    expect(await binned('collection', inTheWay.id)).toBe(false);
    expect(await binned('document', inside)).toBe(false);
    expect((await t.vault.store.repos.collections.children(other.organisationId, other.id)).map((c) => c.id)).toEqual([inTheWay.id]);
  });

  it('refuses a DELETE of a folder holding a document still being scanned without binning the rest of it', async () => {
    const { member, mk, long, request } = await council();
    const folder = await mk('half', long.id);
    const first = await file(member, folder.id, 'a.txt');
    await underReview(await file(member, folder.id, 'b.txt'));
    expect((await request('DELETE', 'personnel-files/half', null)).status).toBe(423);
    expect(await binned('document', first)).toBe(false);
    expect(await binned('collection', folder.id)).toBe(false);
  });
});
