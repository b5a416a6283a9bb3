// Quarantined content is downloadable by no one, whatever the route: a security admin reviewing a
// pending new version must not be able to fetch an older version that was found infected.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('older quarantined versions on %s', (dialect) => {
  let t: TestVault;
  let org: TestOrganisation;
  let member: TestUser;
  let security: TestUser;
  beforeAll(async () => {
    // Small files are scanned before the upload answers; bigger ones wait, pending, for the (unstarted) worker.
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: { STRONGROOM_INLINE_SCAN_MAX_BYTES: '64' } });
    org = await createOrganisation(t.vault, { areas: { finance: 'OFFICIAL' } });
    member = await org.user({ teams: ['finance'] });
    security = await org.user({ roles: ['security_admin'] });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** v1 clean on upload then found infected (or blocked) by a later rescan; v2 still pending. */
  async function documentWithBadOldVersion(status: 'infected' | 'blocked') {
    const created = await upload(t.app, member, org.collections.finance!, `ledger-${status}-${Date.now()}.txt`, 'first version\n');
    expect(created.statusCode).toBe(201);
    const id = created.json().id as string;
    const v1 = (await t.vault.store.repos.documents.version(id, 1))!;
    await t.vault.store.repos.documents.updateVersionScan(v1.id, { status, detail: 'Strongroom.Test.Sample', engine: 'ClamAV', at: new Date().toISOString() });
    const v2 = await api(t.app, member).put(`documents/${id}/content`, 'second version, long enough to be scanned later by the worker\n'.repeat(4));
    expect(v2.statusCode, v2.body).toBe(200);
    expect((await t.vault.store.repos.documents.byId(id))!.status).toBe('pending_scan');
    return id;
  }

  it.each([['infected' as const], ['blocked' as const]])('refuses the security admin an older %s version while the newest is pending (423)', async (status) => {
    const id = await documentWithBadOldVersion(status);
    const problem = expectProblem(await api(t.app, security).get(`documents/${id}/versions/1/content`), 423);
    expect(problem.detail).toContain('quarantined');
    // The version under review is theirs to fetch.
    const pending = await api(t.app, security).get(`documents/${id}/versions/2/content`);
    expect(pending.statusCode).toBe(200);
    expect(pending.body).toContain('second version');
    expect((await api(t.app, security).get(`documents/${id}/content`)).statusCode).toBe(200);
  });

  it('refuses the uploader every version while one is pending (423)', async () => {
    const id = await documentWithBadOldVersion('infected');
    expectProblem(await api(t.app, member).get(`documents/${id}/versions/1/content`), 423);
    expectProblem(await api(t.app, member).get(`documents/${id}/versions/2/content`), 423);
  });

  it('refuses an older infected version of an available document to its team (423)', async () => {
    const created = await upload(t.app, member, org.collections.finance!, `clean-now-${Date.now()}.txt`, 'v1\n');
    const id = created.json().id as string;
    expect((await api(t.app, member).put(`documents/${id}/content`, 'v2\n')).statusCode).toBe(200);
    const v1 = (await t.vault.store.repos.documents.version(id, 1))!;
    await t.vault.store.repos.documents.updateVersionScan(v1.id, { status: 'infected', detail: 'Strongroom.Test.Sample', engine: 'ClamAV', at: new Date().toISOString() });
    expectProblem(await api(t.app, member).get(`documents/${id}/versions/1/content`), 423);
    expect((await api(t.app, member).get(`documents/${id}/versions/2/content`)).statusCode).toBe(200);
  });
});
