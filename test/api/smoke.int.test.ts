// Smoke: upload, list, download, range, delete and restore through the REST API on both dialects.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { DIALECTS, auth, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('REST API round trip on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('uploads, lists, downloads (whole and range), deletes and restores', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const body = Buffer.from('employee,net\nA1,100\n'.repeat(5000));
    const res = await upload(t.app, user, org.collections.payroll!, 'payslips.csv', body);
    expect(res.statusCode, res.body).toBe(201);
    const created = res.json();
    expect(created).toMatchObject({ version: 1, size: body.length, status: 'available' });

    const listing = await t.app.inject({ method: 'GET', url: `/api/v1/collections/${org.collections.payroll}`, headers: auth(user) });
    expect(listing.json().documents.map((d: { name: string }) => d.name)).toEqual(['payslips.csv']);

    const download = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${created.id}/content`, headers: auth(user) });
    expect(download.statusCode).toBe(200);
    expect(download.rawPayload.equals(body)).toBe(true);
    expect(download.headers['content-disposition']).toContain('attachment');
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    // A stored file, were it ever shown rather than saved, runs nothing as the service.
    expect(download.headers['content-security-policy']).toBe("default-src 'none'; sandbox");

    const ranged = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${created.id}/content`, headers: { ...auth(user), range: 'bytes=70000-70009' } });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.rawPayload.equals(body.subarray(70000, 70010))).toBe(true);

    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${created.id}`, headers: auth(user) })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/documents/${created.id}/content`, headers: auth(user) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/documents/${created.id}/restore`, headers: auth(user) })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/documents/${created.id}/content`, headers: auth(user) })).statusCode).toBe(200);
  });

  it('sends a small file (from memory) whole and in ranges, and answers a HEAD without reading or auditing a download', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const outsider = await (await createOrganisation(t.vault)).user({ teams: ['payroll'] });
    const body = Buffer.from('employee,net\nA1,100\n'.repeat(200));
    const created = (await upload(t.app, user, org.collections.payroll!, 'small.csv', body)).json();
    const url = `/api/v1/documents/${created.id}/content`;
    const downloads = async () => {
      await t.vault.audit.sequencer.flush();
      return (await t.vault.store.repos.audit.forDocument(created.id, 50)).filter((e) => e.action === 'document.download').length;
    };

    const whole = await t.app.inject({ method: 'GET', url, headers: auth(user) });
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-length']).toBe(String(body.length));
    expect(whole.rawPayload.equals(body)).toBe(true);
    const ranged = await t.app.inject({ method: 'GET', url, headers: { ...auth(user), range: `bytes=${body.length - 5}-` } });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes ${body.length - 5}-${body.length - 1}/${body.length}`);
    expect(ranged.rawPayload.equals(body.subarray(body.length - 5))).toBe(true);
    expect(await downloads()).toBe(2);

    const head = await t.app.inject({ method: 'HEAD', url, headers: auth(user) });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(body.length));
    expect(head.headers.etag).toBe(whole.headers.etag);
    expect(head.rawPayload).toHaveLength(0);
    expect(await downloads()).toBe(2);
    // Still decided like a GET: another council's user learns nothing.
    expect((await t.app.inject({ method: 'HEAD', url, headers: auth(outsider) })).statusCode).toBe(404);
  });
});
