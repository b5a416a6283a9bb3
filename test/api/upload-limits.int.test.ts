// Limits refuse; they never trim. A file over the upload limit is a 413 naming the limit on every
// path (REST raw and multipart, new versions, the web forms, WebDAV), with nothing stored: no
// document, no version, no blob, no staging file, no upload audit event. A body that ends before
// its Content-Length (the client gave up) is never stored either.
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { Readable } from 'node:stream';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { api, expectProblem, filesUnder, streamOverHttp, uploadMultipart } from '../support/http.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { DIALECTS, auth, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { FormClient, addPerson } from '../ui/support.js';
import { davUser } from '../webdav/support.js';

const MAX_UPLOAD = 64 * 1024;
const LIMIT_TEXT = '64 KiB';

const clamd = useClamd();

/** A multipart/form-data body from parts in order; files are { filename, body }. */
function formBody(parts: { name: string; value?: string; filename?: string; body?: Buffer }[]): { payload: Buffer; contentType: string } {
  const boundary = `----srlimit${Math.random().toString(16).slice(2)}`;
  const pieces: Buffer[] = [];
  for (const p of parts) {
    const disposition = p.filename === undefined ? `form-data; name="${p.name}"` : `form-data; name="${p.name}"; filename="${p.filename}"`;
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n'}\r\n`));
    pieces.push(p.body ?? Buffer.from(p.value ?? ''));
    pieces.push(Buffer.from('\r\n'));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(pieces), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * Sends a request whose body stops short of its Content-Length, then closes the connection, as a
 * client that gave up (or lost its network) would. Resolves once the server has closed its side.
 */
function abortMidBody(port: number, head: string, sent: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(head);
      socket.write(sent);
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.setTimeout(30_000, () => reject(new Error('the server never closed the connection')));
    socket.resume();
  });
}

/** Splits `body` into pieces of `size` bytes. */
function chunksOf(body: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < body.length; at += size) pieces.push(body.subarray(at, at + size));
  return pieces;
}

/**
 * Writes `pieces` a few milliseconds apart whatever the server answers, then closes its side, as a
 * client streaming a file does; resolves with what it received and any socket errors once the
 * server has closed the connection.
 */
function sendSlowly(port: number, pieces: Buffer[]): Promise<{ received: string; errors: Error[] }> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const errors: Error[] = [];
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, async () => {
      for (const piece of pieces) {
        if (socket.destroyed) break;
        socket.write(piece);
        await new Promise((done) => setTimeout(done, 3));
      }
      socket.end();
    });
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', (e) => errors.push(e));
    socket.on('close', () => resolve({ received: Buffer.concat(received).toString(), errors }));
  });
}

describe.each(DIALECTS)('upload limits on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true, env: { STRONGROOM_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) } });
  let port: number;
  let base: string;
  let org: TestOrganisation;
  beforeAll(async () => {
    port = (t.app.server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    org = await createOrganisation(t.vault);
  });

  const blobCount = () => blobFilesUnder(`${t.dataDir}/blobs`);
  const partCount = async () => (await filesUnder(`${t.dataDir}/tmp`)).filter((f) => f.endsWith('.part')).length;
  const documentsIn = async (user: TestUser, collectionId: string) =>
    (await api(t.app, user).get(`collections/${collectionId}`)).json().documents.map((d: { name: string; version: number; size: number }) => [d.name, d.version, d.size]);
  const auditedActions = async () => {
    await t.vault.audit.sequencer.integrate();
    return (await t.vault.store.repos.audit.forOrganisation(org.id)).map((e) => e.action);
  };
  const uploadEvents = async () => (await auditedActions()).filter((a) => a === 'document.upload' || a === 'document.version').length;

  /** Runs `work` and asserts it added no blob, no staging file and no upload or version audit event. */
  async function storesNothing(work: () => Promise<void>): Promise<void> {
    const [blobs, events] = [await blobCount(), await uploadEvents()];
    await work();
    expect(await blobCount()).toBe(blobs);
    expect(await partCount()).toBe(0);
    expect(await uploadEvents()).toBe(events);
  }

  it('refuses a multipart upload over the limit with 413 naming the limit, and stores nothing', async () => {
    const user = await org.user({ teams: ['payroll'] });
    const collection = await t.vault.collectionCreation.create(systemActor(), {
      organisationId: org.id, name: `multipart-${Date.now()}`, serviceArea: 'payroll', classification: 'OFFICIAL',
    });
    await storesNothing(async () => {
      const problem = expectProblem(await uploadMultipart(t.app, user, collection.id, 'big.bin', Buffer.alloc(MAX_UPLOAD + 1, 0x41)), 413);
      expect(problem.detail).toContain(LIMIT_TEXT);
      expect(problem.maxBytes).toBe(MAX_UPLOAD);
      // Far over the limit too: busboy stops at the limit, we must still refuse rather than keep the prefix.
      expectProblem(await uploadMultipart(t.app, user, collection.id, 'bigger.bin', Buffer.alloc(MAX_UPLOAD * 3, 0x41)), 413);
    });
    expect(await documentsIn(user, collection.id)).toEqual([]);
    // Exactly at the limit is accepted whole.
    const exact = await uploadMultipart(t.app, user, collection.id, 'exact.bin', Buffer.alloc(MAX_UPLOAD, 0x41));
    expect(exact.statusCode, exact.body).toBe(201);
    expect(exact.json().size).toBe(MAX_UPLOAD);
  });

  it('refuses a new version over the limit, raw or multipart, and keeps the current version', async () => {
    const user = await org.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, user, org.collections.payroll!, `ledger-${Date.now()}.txt`, 'version one\n')).json();
    await storesNothing(async () => {
      expect(expectProblem(await api(t.app, user).put(`documents/${doc.id}/content`, Buffer.alloc(MAX_UPLOAD + 1, 0x42)), 413).detail).toContain(LIMIT_TEXT);
      const form = formBody([{ name: 'file', filename: 'v2.txt', body: Buffer.alloc(MAX_UPLOAD + 1, 0x42) }]);
      const res = await t.app.inject({ method: 'PUT', url: `/api/v1/documents/${doc.id}/content`, headers: { ...auth(user), 'content-type': form.contentType }, payload: form.payload });
      expect(expectProblem(res, 413).detail).toContain(LIMIT_TEXT);
    });
    const versions = (await api(t.app, user).get(`documents/${doc.id}/versions`)).json().versions;
    expect(versions.map((v: { number: number; size: number }) => [v.number, v.size])).toEqual([[1, 12]]);
    expect((await api(t.app, user).get(`documents/${doc.id}/content`)).body).toBe('version one\n');
  });

  it('refuses a multipart form that breaks off inside the file with 400, storing nothing', async () => {
    const user = await org.user({ teams: ['finance'] });
    const name = `broken-${Date.now()}.txt`;
    await storesNothing(async () => {
      const form = formBody([{ name: 'file', filename: name, body: Buffer.alloc(20 * 1024, 0x47) }]);
      const cut = form.payload.subarray(0, form.payload.length - 200);
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/collections/${org.collections.finance}/documents`, headers: { ...auth(user), 'content-type': form.contentType }, payload: cut });
      expect(expectProblem(res, 400).detail).toMatch(/ended before the file was complete/);
    });
    expect((await documentsIn(user, org.collections.finance!)).filter(([n]: [string]) => n === name)).toEqual([]);
  });

  it('refuses a multipart request carrying a second file rather than storing only the first', async () => {
    const user = await org.user({ teams: ['finance'] });
    await storesNothing(async () => {
      const form = formBody([
        { name: 'file', filename: 'first.txt', body: Buffer.from('first\n') },
        { name: 'file', filename: 'second.txt', body: Buffer.from('second\n') },
      ]);
      const res = await t.app.inject({ method: 'POST', url: `/api/v1/collections/${org.collections.finance}/documents`, headers: { ...auth(user), 'content-type': form.contentType }, payload: form.payload });
      expect(expectProblem(res, 413).detail).toMatch(/one file/i);
    });
    expect((await documentsIn(user, org.collections.finance!)).filter(([name]: [string]) => name === 'first.txt')).toEqual([]);
  });

  it('refuses an oversized file in the web upload form without storing a prefix, and still uploads the other files', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/upload?collection=${org.collections.hr}`);
    const stamp = Date.now();
    await storesNothing(async () => {
      const form = new FormData();
      form.append('_csrf', FormClient.csrf(page.text));
      form.append('collectionId', org.collections.hr!);
      form.append('files', new Blob([Buffer.alloc(MAX_UPLOAD + 1, 0x43)]), `too-big-${stamp}.bin`);
      const res = await client.request('POST', '/upload', { body: form, headers: { accept: 'application/json' } });
      expect(res.status).toBe(200);
      const files = JSON.parse(res.text).files;
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({ name: `too-big-${stamp}.bin`, ok: false, status: 'refused', documentId: null });
      expect(files[0].message).toContain(LIMIT_TEXT);
    });
    const form = new FormData();
    form.append('_csrf', FormClient.csrf(page.text));
    form.append('collectionId', org.collections.hr!);
    form.append('files', new Blob([Buffer.alloc(MAX_UPLOAD * 2, 0x43)]), `also-too-big-${stamp}.bin`);
    form.append('files', new Blob(['small\n']), `small-${stamp}.txt`);
    const res = await client.request('POST', '/upload', { body: form });
    expect(res.status).toBe(200);
    expect(res.text).toContain(LIMIT_TEXT);
    const user = await org.user({ teams: ['hr'] });
    const stored = (await documentsIn(user, org.collections.hr!)).filter(([name]: [string]) => name.endsWith(`-${stamp}.bin`) || name.endsWith(`-${stamp}.txt`));
    expect(stored).toEqual([[`small-${stamp}.txt`, 1, 6]]);
  });

  it('refuses an oversized new version from the document page with 413 and keeps version 1', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const user = await org.user({ teams: ['hr'] });
    const doc = (await upload(t.app, user, org.collections.hr!, `policy-${Date.now()}.txt`, 'v1\n')).json();
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/documents/${doc.id}`);
    await storesNothing(async () => {
      const form = new FormData();
      form.append('_csrf', FormClient.csrf(page.text));
      form.append('file', new Blob([Buffer.alloc(MAX_UPLOAD + 1, 0x44)]), 'v2.txt');
      const res = await client.request('POST', `/documents/${doc.id}/versions`, { body: form });
      expect(res.status).toBe(413);
      expect(res.text).toContain('govuk-error-summary');
      expect(res.text).toContain(LIMIT_TEXT);
    });
    expect((await api(t.app, user).get(`documents/${doc.id}`)).json().version).toBe(1);
  });

  it('refuses a web form field longer than its limit instead of using the trimmed value', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/upload?collection=${org.collections.hr}`);
    await storesNothing(async () => {
      const form = new FormData();
      form.append('_csrf', FormClient.csrf(page.text));
      form.append('collectionId', org.collections.hr! + 'x'.repeat(5000));
      form.append('files', new Blob(['field test\n']), `field-${Date.now()}.txt`);
      const res = await client.request('POST', '/upload', { body: form, headers: { accept: 'application/json' } });
      expect(res.status).toBe(413);
      expect(JSON.parse(res.text)).toMatchObject({ status: 413 });
      expect(JSON.parse(res.text).detail).toMatch(/field/i);
    });
  });

  it('reports the files past the most one web form may carry as not uploaded, after uploading the first 50 whole', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['finance'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get(`/upload?collection=${org.collections.finance}`);
    const stamp = Date.now();
    const form = new FormData();
    form.append('_csrf', FormClient.csrf(page.text));
    form.append('collectionId', org.collections.finance!);
    for (let i = 1; i <= 52; i++) form.append('files', new Blob([`file ${i}\n`]), `batch-${stamp}-${String(i).padStart(2, '0')}.txt`);
    const res = await client.request('POST', '/upload', { body: form, headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    const files = JSON.parse(res.text).files as { name: string; ok: boolean; message: string }[];
    expect(files).toHaveLength(51);
    expect(files.slice(0, 50).every((f) => f.ok)).toBe(true);
    expect(files[50]).toMatchObject({ ok: false, name: 'Files after the first 50' });
    expect(files[50]!.message).toMatch(/At most 50 files/);
    const user = await org.user({ teams: ['finance'] });
    expect((await documentsIn(user, org.collections.finance!)).filter(([name]: [string]) => name.startsWith(`batch-${stamp}-`))).toHaveLength(50);
  });

  it('refuses a credential name over 100 characters in the web interface instead of cutting it', async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['hr'] });
    const client = new FormClient(base);
    await client.signIn(member.email);
    const page = await client.get('/account');
    const res = await client.post('/account/credentials', { _csrf: FormClient.csrf(page.text), kind: 'api_token', name: 'n'.repeat(101) });
    expect(res.status).toBe(400);
    expect(res.text).toContain('100 characters or fewer');
    expect(await t.vault.credentials.listCredentials(systemActor(), member.id)).toEqual([]);
  });

  it('never stores a stream whose length differs from the size announced for it (a file changed while the CLI read it)', async () => {
    const user = await org.user({ teams: ['payroll'] });
    const actor = actorFor(await t.vault.identity.userByEmail(user.email), { channel: 'cli', clientAddress: null, requestId: null });
    await storesNothing(async () => {
      for (const [declaredSize, body] of [[10, 'short'], [3, 'longer than announced']] as const) {
        await expect(t.vault.documents.upload(actor, org.collections.payroll!, { name: `changed-${declaredSize}.txt`, body: Readable.from([Buffer.from(body)]), declaredSize }))
          .rejects.toMatchObject({ code: 'INVALID', details: { declaredBytes: declaredSize, receivedBytes: body.length } });
      }
    });
  });

  it('refuses a WebDAV PUT over the limit with 413, with and without Content-Length', async () => {
    const user = await davUser(t.vault, org, { teams: ['finance'] });
    await storesNothing(async () => {
      const res = await fetch(`${base}/dav/${org.slug}/finance/big-${Date.now()}.bin`, { method: 'PUT', headers: { authorization: user.basic }, body: Buffer.alloc(MAX_UPLOAD + 1, 0x45) });
      expect(res.status).toBe(413);
      expect(await res.text()).toContain(LIMIT_TEXT);
      const chunked = await streamOverHttp(port, {
        method: 'PUT', path: `/dav/${org.slug}/finance/chunked-${Date.now()}.bin`, headers: { authorization: user.basic }, chunks: 4, chunkBytes: MAX_UPLOAD / 2,
      });
      expect(chunked.status, chunked.body).toBe(413);
      expect(chunked.body).toContain(LIMIT_TEXT);
    });
    expect((await documentsIn(user, org.collections.finance!)).filter(([name]: [string]) => /^(big|chunked)-/.test(name))).toEqual([]);
  });

  it('lets a client that keeps sending after the refusal read the 413, and serves nothing pipelined behind the body', async () => {
    const user = await davUser(t.vault, org, { teams: ['finance'] });
    const folder = `pipelined-${Date.now()}`;
    // A WebDAV client streams its file whole before it reads the answer, as curl and mapped drives do.
    const body = Buffer.alloc(MAX_UPLOAD * 4, 0x45);
    const head = `PUT /dav/${org.slug}/finance/big-${Date.now()}.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user.basic}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const behind = `MKCOL /dav/${org.slug}/finance/${folder} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user.basic}\r\n\r\n`;
    // The body's last piece and the pipelined request in one write, so the server parses both in one pass.
    const pieces = chunksOf(body, 16 * 1024);
    pieces.push(Buffer.concat([pieces.pop()!, Buffer.from(behind)]));
    let answer = { received: '', errors: [] as Error[] };
    await storesNothing(async () => {
      answer = await sendSlowly(port, [Buffer.from(head), ...pieces]);
    });
    expect(answer.errors).toEqual([]);
    expect(answer.received).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.received).toContain(LIMIT_TEXT);
    expect(answer.received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const propfind = await fetch(`${base}/dav/${org.slug}/finance/${folder}`, { method: 'PROPFIND', headers: { authorization: user.basic, depth: '0' } });
    expect(propfind.status).toBe(404);
  });

  it('closes the same way after refusing an address it cannot decode while the body is still coming', async () => {
    const user = await davUser(t.vault, org, { teams: ['finance'] });
    const folder = `after-bad-url-${Date.now()}`;
    const body = Buffer.alloc(MAX_UPLOAD * 2, 0x45);
    const head = `PUT /dav/${org.slug}/finance/%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user.basic}\r\nContent-Length: ${body.length}\r\n\r\n`;
    const behind = `MKCOL /dav/${org.slug}/finance/${folder} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${user.basic}\r\n\r\n`;
    const answer = await sendSlowly(port, [Buffer.from(head), ...chunksOf(body, 16 * 1024), Buffer.from(behind)]);
    expect(answer.errors).toEqual([]);
    expect(answer.received).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer.received).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    expect(answer.received.match(/HTTP\/1\.1 /g)).toHaveLength(1);
    const propfind = await fetch(`${base}/dav/${org.slug}/finance/${folder}`, { method: 'PROPFIND', headers: { authorization: user.basic, depth: '0' } });
    expect(propfind.status).toBe(404);
  });

  it.each([
    ['REST', 'upload' as const, (o: TestOrganisation, name: string) => `POST /api/v1/collections/${o.collections.payroll}/documents?name=${name} HTTP/1.1`],
    ['WebDAV', 'upload' as const, (o: TestOrganisation, name: string) => `PUT /dav/${o.slug}/payroll/${name} HTTP/1.1`],
  ])('never stores a %s upload whose body ends before its Content-Length', async (label, method, requestLine) => {
    const user = await davUser(t.vault, org, { teams: ['payroll'] });
    const name = `cut-short-${Date.now()}.bin`;
    const spy = vi.spyOn(t.vault.documents, method);
    try {
      await storesNothing(async () => {
        const authorization = label === 'WebDAV' ? user.basic : `Bearer ${user.token}`;
        const head = `${requestLine(org, name)}\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${MAX_UPLOAD}\r\n\r\n`;
        await abortMidBody(port, head, Buffer.alloc(40 * 1024, 0x46));
        // The server may still be unwinding the upload when the connection closes: wait for the service call to settle.
        await expect.poll(() => spy.mock.results.length).toBe(1);
        await expect(spy.mock.results[0]!.value).rejects.toBeDefined();
      });
    } finally {
      spy.mockRestore();
    }
    expect((await documentsIn(user, org.collections.payroll!)).filter(([n]: [string]) => n === name)).toEqual([]);
  });
});
