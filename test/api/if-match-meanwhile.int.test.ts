// A new version sent with If-Match (REST) or with conditions on the content (WebDAV If-Match, If header)
// is held to that content until it commits: a version a colleague saved while its bytes arrived refuses it
// (412, nothing stored) instead of it becoming current over theirs unseen (a lost update), on both dialects.
// An If-Match list or `*` is read as RFC 9110 says. A deletion judged on the content (REST If-Match, WebDAV If-Match)
// is held to it the same way: a version saved between its arrival and its commit is not binned unseen; and so are a
// move, a rename, a copy (REST If-Match; WebDAV COPY and MOVE on the source, and on what Overwrite replaces at the
// destination when the If header names it) and a PROPPATCH: none of them goes ahead over a version saved meanwhile.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { beforeNextTransaction } from '../support/meanwhile.js';
import { auth, DIALECTS, upload } from '../support/vault.js';
import { createOrganisation, dav, davUser, useDavServer, type DavUser } from '../webdav/support.js';

const clamd = useClamd();
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(DIALECTS)('a new version held to the content it replaces, on %s', (dialect) => {
  const s = useDavServer(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function setting() {
    const org = await createOrganisation(s.vault);
    const writer = await davUser(s.vault, org, { teams: ['payroll'] });
    const colleague = await davUser(s.vault, org, { teams: ['payroll'] });
    const name = `v-${Math.random().toString(36).slice(2)}.txt`;
    const res = await upload(s.app, writer, org.collections.payroll!, name, 'first\n');
    expect(res.statusCode, res.body).toBe(201);
    return { org, writer, colleague, name, documentId: res.json().id as string, path: `/dav/${org.slug}/payroll/${name}` };
  }

  /** A body that lets `meanwhile` run after its first bytes have been read. */
  const bodyWith = (meanwhile: () => Promise<unknown>) => Readable.from((async function* () {
    yield Buffer.from('mine, ');
    await meanwhile();
    yield Buffer.from('arriving late\n');
  })());

  const colleagueSaves = (colleague: DavUser, documentId: string) => async () => {
    const res = await s.app.inject({ method: 'PUT', url: `/api/v1/documents/${documentId}/content`, headers: { ...auth(colleague), 'content-type': 'application/octet-stream' }, payload: 'theirs\n' });
    expect(res.statusCode, res.body).toBe(200);
  };

  async function currentOf(documentId: string) {
    const versions = await s.vault.store.repos.documents.versions(documentId);
    return { versions: versions.map((v) => v.number).sort(), sha256: (await s.vault.store.repos.documents.byId(documentId))!.sha256 };
  }

  it('refuses a REST version whose If-Match no longer holds once its body has arrived', async () => {
    const { writer, colleague, documentId } = await setting();
    const res = await s.app.inject({
      method: 'PUT', url: `/api/v1/documents/${documentId}/content`,
      headers: { ...auth(writer), 'content-type': 'application/octet-stream', 'if-match': `"${sha('first\n')}"` },
      payload: bodyWith(colleagueSaves(colleague, documentId)),
    });
    expect(res.statusCode, res.body).toBe(412);
    expect(res.json()).toMatchObject({ status: 412, detail: 'The document has changed since you last read it.' });
    expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
  });

  it('reads an If-Match list and `*` as RFC 9110 does', async () => {
    const { writer, documentId } = await setting();
    const put = (ifMatch: string, body: string) => s.app.inject({
      method: 'PUT', url: `/api/v1/documents/${documentId}/content`,
      headers: { ...auth(writer), 'content-type': 'application/octet-stream', 'if-match': ifMatch }, payload: body,
    });
    expect((await put(`"${sha('elsewhere')}", "${sha('first\n')}"`, 'second\n')).statusCode).toBe(200);
    expect((await put('*', 'third\n')).statusCode).toBe(200);
    expect((await put(`"${sha('first\n')}"`, 'fourth\n')).statusCode).toBe(412);
    expect(await currentOf(documentId)).toEqual({ versions: [1, 2, 3], sha256: sha('third\n') });
  });

  for (const [condition, header] of [
    ['If-Match', (etag: string) => ({ 'if-match': etag })],
    ['an If header', (etag: string) => ({ if: `([${etag}])` })],
  ] as const) {
    it(`refuses a WebDAV PUT judged on ${condition} when a version was saved while it arrived`, async () => {
      const { writer, colleague, documentId, path } = await setting();
      const res = await s.app.inject({
        method: 'PUT', url: path, headers: { authorization: writer.basic, ...header(`"${sha('first\n').slice(0, 32)}"`) },
        payload: bodyWith(colleagueSaves(colleague, documentId)),
      });
      expect(res.statusCode, res.body).toBe(412);
      expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
    });
  }

  for (const [condition, headers] of [['no conditions', {}], ['If-Match: * (it exists, whatever it holds)', { 'if-match': '*' }]] as const) {
    it(`still stores a WebDAV PUT with ${condition} over a version saved meanwhile (last writer wins, as asked)`, async () => {
      const { writer, colleague, documentId, path } = await setting();
      const res = await s.app.inject({ method: 'PUT', url: path, headers: { authorization: writer.basic, ...headers }, payload: bodyWith(colleagueSaves(colleague, documentId)) });
      expect(res.statusCode, res.body).toBe(204);
      expect(await currentOf(documentId)).toEqual({ versions: [1, 2, 3], sha256: sha('mine, arriving late\n') });
    });
  }

  describe('a deletion judged on the content', () => {
    const deleteOverRest = (writer: DavUser, documentId: string, ifMatch: string) => s.app.inject({
      method: 'DELETE', url: `/api/v1/documents/${documentId}`, headers: { ...auth(writer), 'if-match': ifMatch },
    });
    const deleteOverDav = (writer: DavUser, path: string, ifMatch: string) => s.app.inject({
      method: 'DELETE', url: path, headers: { authorization: writer.basic, 'if-match': ifMatch },
    });
    const binned = async (documentId: string) => (await s.vault.store.repos.documents.byId(documentId))!.deletedAt !== null;

    it('refuses a REST DELETE whose If-Match no longer holds when it commits (412, nothing binned)', async () => {
      const { writer, colleague, documentId } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      const res = await deleteOverRest(writer, documentId, `"${sha('first\n')}"`);
      expect(meanwhile.ran()).toBe(true);
      expect(res.statusCode, res.body).toBe(412);
      expect(res.json()).toMatchObject({ status: 412, detail: 'The document has changed since you last read it.' });
      expect(await binned(documentId)).toBe(false);
      expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
    });

    it('refuses a REST DELETE naming an older version on arrival, and bins on the current one or `*`', async () => {
      const { writer, colleague, documentId } = await setting();
      await colleagueSaves(colleague, documentId)();
      expect((await deleteOverRest(writer, documentId, `"${sha('first\n')}"`)).statusCode).toBe(412);
      expect(await binned(documentId)).toBe(false);
      expect((await deleteOverRest(writer, documentId, `"${sha('elsewhere')}", "${sha('theirs\n')}"`)).statusCode).toBe(204);
      expect(await binned(documentId)).toBe(true);
      const other = await setting();
      expect((await deleteOverRest(other.writer, other.documentId, '*')).statusCode).toBe(204);
    });

    it('refuses a WebDAV DELETE whose If-Match no longer holds when it commits (412, nothing binned)', async () => {
      const { writer, colleague, documentId, path } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      const res = await deleteOverDav(writer, path, `"${sha('first\n').slice(0, 32)}"`);
      expect(meanwhile.ran()).toBe(true);
      expect(res.statusCode, res.body).toBe(412);
      expect(await binned(documentId)).toBe(false);
    });

    it('still bins over WebDAV with If-Match: * when a version was saved meanwhile (it exists, whatever it holds)', async () => {
      const { writer, colleague, documentId, path } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      expect((await deleteOverDav(writer, path, '*')).statusCode).toBe(204);
      expect(meanwhile.ran()).toBe(true);
      expect(await binned(documentId)).toBe(true);
    });
  });
  describe('a move, copy or property change judged on the content', () => {
    const etag = (text: string) => `"${sha(text).slice(0, 32)}"`;
    const PROPPATCH = '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop><x:a>1</x:a></D:prop></D:set></D:propertyupdate>';
    const live = async (documentId: string) => {
      const document = (await s.vault.store.repos.documents.byId(documentId))!;
      return { name: document.name, deleted: document.deletedAt !== null };
    };
    const named = async (collectionId: string, name: string) => (await s.vault.store.repos.documents.byName(collectionId, name))?.id;

    it('refuses a REST rename whose If-Match no longer holds when it commits (412, nothing renamed)', async () => {
      const { writer, colleague, documentId, name } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      const res = await s.app.inject({
        method: 'PATCH', url: `/api/v1/documents/${documentId}`, headers: { ...auth(writer), 'if-match': `"${sha('first\n')}"` }, payload: { name: `renamed-${name}` },
      });
      expect(meanwhile.ran()).toBe(true);
      expect(res.statusCode, res.body).toBe(412);
      expect(res.json()).toMatchObject({ status: 412, detail: 'The document has changed since you last read it.' });
      expect(await live(documentId)).toEqual({ name, deleted: false });
      expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
    });

    it('renames over REST when If-Match names the current content', async () => {
      const { writer, documentId, name } = await setting();
      const res = await s.app.inject({
        method: 'PATCH', url: `/api/v1/documents/${documentId}`, headers: { ...auth(writer), 'if-match': `"${sha('elsewhere')}", "${sha('first\n')}"` }, payload: { name: `renamed-${name}` },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(await live(documentId)).toEqual({ name: `renamed-${name}`, deleted: false });
    });

    it('refuses a REST copy whose If-Match no longer holds when it commits (412, nothing copied)', async () => {
      const { org, writer, colleague, documentId, name } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      const res = await s.app.inject({
        method: 'POST', url: `/api/v1/documents/${documentId}/copy`, headers: { ...auth(writer), 'if-match': `"${sha('first\n')}"` },
        payload: { collectionId: org.collections.payroll!, name: `copy-${name}` },
      });
      expect(meanwhile.ran()).toBe(true);
      expect(res.statusCode, res.body).toBe(412);
      expect(res.json()).toMatchObject({ status: 412, detail: 'The document has changed since you last read it.' });
      expect(await named(org.collections.payroll!, `copy-${name}`)).toBeUndefined();
      expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
    });

    for (const method of ['MOVE', 'COPY'] as const) {
      it(`refuses a WebDAV ${method} whose If-Match no longer holds when it commits (412, nothing ${method === 'MOVE' ? 'moved' : 'copied'})`, async () => {
        const { org, writer, colleague, documentId, name, path } = await setting();
        const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
        const res = await dav(s.base, method, path, { user: writer, headers: { destination: `${s.base}${path}-2`, 'if-match': etag('first\n') } });
        expect(meanwhile.ran()).toBe(true);
        expect(res.status, res.body).toBe(412);
        expect(res.body).toContain('The document has changed since you last read it.');
        expect(await live(documentId)).toEqual({ name, deleted: false });
        expect(await named(org.collections.payroll!, `${name}-2`)).toBeUndefined();
        expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
      });
    }

    it('still moves over WebDAV with If-Match: * when a version was saved meanwhile (it exists, whatever it holds)', async () => {
      const { org, writer, colleague, documentId, name, path } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      const res = await dav(s.base, 'MOVE', path, { user: writer, headers: { destination: `${s.base}${path}-2`, 'if-match': '*' } });
      expect(meanwhile.ran()).toBe(true);
      expect(res.status, res.body).toBe(201);
      expect(await named(org.collections.payroll!, `${name}-2`)).toBe(documentId);
    });

    it('refuses a WebDAV PROPPATCH whose If-Match no longer holds when it commits (412, no property written)', async () => {
      const { writer, colleague, documentId, path } = await setting();
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, documentId));
      const res = await dav(s.base, 'PROPPATCH', path, { user: writer, headers: { 'if-match': etag('first\n') }, body: PROPPATCH });
      expect(meanwhile.ran()).toBe(true);
      expect(res.status, res.body).toBe(412);
      expect(res.body).toContain('The document has changed since you last read it.');
      expect(await s.vault.store.repos.dav.properties(documentId)).toEqual([]);
      expect(await currentOf(documentId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
    });

    it('refuses a WebDAV MOVE over a destination whose content its If header named, when a version was saved there meanwhile (412, nothing moved or binned)', async () => {
      const { org, writer, colleague, documentId, name, path } = await setting();
      const destinationName = `d-${name}`;
      const destinationPath = `/dav/${org.slug}/payroll/${destinationName}`;
      const res0 = await upload(s.app, writer, org.collections.payroll!, destinationName, 'first\n');
      expect(res0.statusCode, res0.body).toBe(201);
      const destinationId = res0.json().id as string;
      const tagged = (text: string) => ({ destination: `${s.base}${destinationPath}`, overwrite: 'T', if: `<${s.base}${destinationPath}> ([${etag(text)}])` });
      // Judged on the destination when it arrives: a tag it does not bear refuses it at once.
      const stale = await dav(s.base, 'MOVE', path, { user: writer, headers: tagged('elsewhere') });
      expect(stale.status, stale.body).toBe(412);
      expect(stale.body).toContain('The conditions in the If header are not met.');
      const meanwhile = beforeNextTransaction(s.vault.store, colleagueSaves(colleague, destinationId));
      const res = await dav(s.base, 'MOVE', path, { user: writer, headers: tagged('first\n') });
      expect(meanwhile.ran()).toBe(true);
      expect(res.status, res.body).toBe(412);
      expect(res.body).toContain('The document at the destination has changed since you last read it.');
      expect(await live(documentId)).toEqual({ name, deleted: false });
      expect(await live(destinationId)).toEqual({ name: destinationName, deleted: false });
      expect(await currentOf(destinationId)).toEqual({ versions: [1, 2], sha256: sha('theirs\n') });
      // Named as it is now, the destination is replaced.
      const moved = await dav(s.base, 'MOVE', path, { user: writer, headers: tagged('theirs\n') });
      expect(moved.status, moved.body).toBe(204);
      expect(await live(destinationId)).toEqual({ name: destinationName, deleted: true });
      expect(await live(documentId)).toEqual({ name: destinationName, deleted: false });
    });
  });
});
