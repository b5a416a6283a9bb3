// Bad input to the REST API: unknown ids, malformed and oversized JSON, missing or path-like
// names and oversized uploads are refused with problem+json, and nothing is stored.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { actorFor } from '../../src/services/identity.service.js';
import { api, expectProblem, filesUnder, streamOverHttp } from '../support/http.js';
import { blobFilesUnder } from '../support/blob-files.js';
import { DIALECTS, auth, createOrganisation, upload } from '../support/vault.js';

const MAX_UPLOAD = 64 * 1024;

const clamd = useClamd();

describe.each(DIALECTS)('bad input on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true, env: { STRONGROOM_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) } });

  const blobCount = () => blobFilesUnder(`${t.dataDir}/blobs`);
  const partCount = async () => (await filesUnder(`${t.dataDir}/tmp`)).filter((f) => f.endsWith('.part')).length;

  // RFC 9110 §14.5: a PUT with Content-Range is likely a part of a file sent as if it were the whole.
  it('refuses a body that says it is part of a file (Content-Range) with 400, storing nothing, on REST', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, user, org.collections.payroll!, 'ledger.csv', 'a,b\n1,2\n')).json();
    const blobs = await blobCount();
    const part = { 'content-range': 'bytes 0-3/100', 'content-type': 'application/octet-stream' };
    const created = await t.app.inject({ method: 'POST', url: `/api/v1/collections/${org.collections.payroll}/documents?name=part.csv`, headers: { ...auth(user), ...part }, payload: 'a,b\n' });
    expect(expectProblem(created, 400).detail).toMatch(/only whole files can be stored/);
    const version = await t.app.inject({ method: 'PUT', url: `/api/v1/documents/${doc.id}/content`, headers: { ...auth(user), ...part }, payload: 'a,b\n' });
    expect(expectProblem(version, 400).detail).toMatch(/only whole files can be stored/);
    expect(await blobCount()).toBe(blobs);
    const listed = (await api(t.app, user).get(`collections/${org.collections.payroll}`)).json().documents.map((d: { name: string; version: number }) => [d.name, d.version]);
    expect(listed).toEqual([['ledger.csv', 1]]);
  });

  it('answers 404 problem+json for unknown ids', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const as = api(t.app, user);
    const unknown = '6f1c1f1e-0000-4000-8000-000000000000';
    for (const res of [
      await as.get(`documents/${unknown}`),
      await as.get(`documents/${unknown}/content`),
      await as.get(`documents/${unknown}/versions`),
      await as.get(`collections/${unknown}`),
      await as.get('documents/not-a-uuid-at-all'),
      await as.patch(`documents/${unknown}`, { name: 'x.txt' }),
      await as.delete(`documents/${unknown}`),
      await as.post(`documents/${unknown}/restore`),
      await as.put(`documents/${unknown}/content`, Buffer.from('x')),
      await upload(t.app, user, unknown, 'x.txt', 'x'),
    ]) {
      expectProblem(res, 404);
    }
  });

  it('refuses malformed JSON with a clear 400', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin'] });
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/collections', headers: { ...auth(admin), 'content-type': 'application/json' }, payload: '{"name": "x", ' });
    const problem = expectProblem(res, 400);
    expect(problem.detail).toMatch(/JSON/i);
    const wrongShape = await api(t.app, admin).post('collections', { name: 42 });
    expect(expectProblem(wrongShape, 400).detail).toMatch(/name/);
  });

  it('refuses a JSON body over 1 MiB with 413', async () => {
    const org = await createOrganisation(t.vault);
    const admin = await org.user({ roles: ['org_admin', 'records_manager'] });
    const huge = JSON.stringify({ name: 'x'.repeat(1024 * 1024 + 10), serviceArea: 'payroll', classification: 'OFFICIAL' });
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/collections', headers: { ...auth(admin), 'content-type': 'application/json' }, payload: huge });
    expectProblem(res, 413);
    const roots = (await api(t.app, admin).get('collections')).json().collections;
    expect(roots.map((c: { name: string }) => c.name).sort()).toEqual(['finance', 'hr', 'payroll']);
  });

  it('refuses an upload without a name with 400 and stores nothing', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const blobs = await blobCount();
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/collections/${org.collections.payroll}/documents`, headers: { ...auth(user), 'content-type': 'application/octet-stream' }, payload: 'hello' });
    expect(expectProblem(res, 400).detail).toMatch(/name/i);
    expect((await api(t.app, user).get(`collections/${org.collections.payroll}`)).json().documents).toEqual([]);
    expect(await blobCount()).toBe(blobs);
  });

  it('refuses an upload over STRONGROOM_MAX_UPLOAD_BYTES with 413 and leaves no blob behind', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const blobs = await blobCount();
    const big = Buffer.alloc(MAX_UPLOAD + 1, 0x41);
    expectProblem(await upload(t.app, user, org.collections.payroll!, 'big.txt', big), 413);
    // Without Content-Length (chunked, over a real socket) the limit is enforced while streaming.
    const port = (t.app.server.address() as { port: number }).port;
    const chunked = await streamOverHttp(port, {
      method: 'POST', path: `/api/v1/collections/${org.collections.payroll}/documents?name=big2.txt`,
      headers: { ...auth(user), 'content-type': 'application/octet-stream' }, chunks: 4, chunkBytes: MAX_UPLOAD / 2,
    });
    expect(chunked.status, chunked.body).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ status: 413 });
    const small = (await upload(t.app, user, org.collections.payroll!, 'ok.txt', 'fine')).json();
    expect((await api(t.app, user).put(`documents/${small.id}/content`, big)).statusCode).toBe(413);
    const listing = (await api(t.app, user).get(`collections/${org.collections.payroll}`)).json();
    expect(listing.documents.map((d: { name: string; version: number }) => [d.name, d.version])).toEqual([['ok.txt', 1]]);
    expect(await blobCount()).toBe(blobs + 1);
    expect(await partCount()).toBe(0);
  });

  it('refuses a stream that is too large from its first chunk without crashing the process', async () => {
    // The first chunk arrives before the blob writer has its data key: the refusal must not emit an
    // error on a stream nobody listens to yet (an uncaught exception would take the server down).
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const actor = actorFor((await t.vault.identity.userByEmail(user.email)), { channel: 'api', clientAddress: null, requestId: null });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      for (let i = 0; i < 5; i++) {
        await expect(t.vault.documents.upload(actor, org.collections.payroll!, { name: `burst-${i}.bin`, body: Readable.from([Buffer.alloc(MAX_UPLOAD + 1, 0x43)]) }))
          .rejects.toMatchObject({ code: 'TOO_LARGE' });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(await partCount()).toBe(0);
  });

  it.each([
    ['../x', 'parent path'],
    ['a/b', 'slash'],
    ['a\\b', 'backslash'],
    ['bad\u0000name.txt', 'NUL'],
    ['x'.repeat(300), '300 characters'],
    ['..', 'dot dot'],
  ])('refuses the name %j (%s) with 400 and stores nothing', async (name) => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const blobs = await blobCount();
    const res = await upload(t.app, user, org.collections.payroll!, name, 'content');
    expect(expectProblem(res, 400).detail).toMatch(/name/i);
    expect((await api(t.app, user).get(`collections/${org.collections.payroll}`)).json().documents).toEqual([]);
    expect(await blobCount()).toBe(blobs);
    const doc = (await upload(t.app, user, org.collections.payroll!, 'fine.txt', 'ok')).json();
    expectProblem(await api(t.app, user).patch(`documents/${doc.id}`, { name }), 400);
    expect((await api(t.app, user).get(`documents/${doc.id}`)).json().name).toBe('fine.txt');
  });
});
