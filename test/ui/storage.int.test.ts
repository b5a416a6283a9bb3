// The Storage page: an org admin or security admin sees the replica's counts of their own organisation's
// versions (waiting blobs, how long the oldest has waited, versions with no good copy left), never another
// council's; anyone else finds no such page and no link.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestVault } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('the Storage page on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows a security admin what of theirs waits for the replica and what is lost, not another council\'s, and a member nothing', async () => {
    const api = await org.user({ teams: ['payroll'] });
    const stored = await upload(t.app, api, org.collections.payroll!, 'a.bin', randomBytes(100));
    expect(stored.statusCode).toBe(201);
    // Another council's uploads are its own business: they are not counted on this council's page.
    const other = await createOrganisation(t.vault);
    const otherMember = await other.user({ teams: ['payroll'] });
    const otherStored = await Promise.all([1, 2].map(async (n) => upload(t.app, otherMember, other.collections.payroll!, `b-${n}.bin`, randomBytes(100))));
    for (const res of otherStored) expect(res.statusCode).toBe(201);
    const security = await addPerson(t.vault, org.slug, { roles: ['security_admin'] });
    const client = new FormClient(base);
    const home = await client.signIn(security.email, PASSWORD, await enrolTotp(t.vault, security.id));
    expect(home).toContain('href="/admin/storage"');
    let page = await client.get('/admin/storage');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/Versions waiting to be copied offsite\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*1\s*</);
    expect(page.text).toContain('These figures are for your organisation&#39;s documents only.');
    expect(page.text).not.toContain('no good stored copy left');
    expect(page.text).toMatch(/Last database backup\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*None yet\s*</);
    // Recorded as the scheduled backup job records it (test/backup/scheduled-backup.int.test.ts runs the job).
    await t.vault.backups.recordScheduled('2026-11-30', { id: 'b1', at: '2026-11-30T02:15:00.000Z', location: '/mnt/offsite/backups/20261130T021500Z' });
    page = await client.get('/admin/storage');
    expect(page.text).toMatch(/Last database backup\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*30 November 2026 at 02:15 \(\d+ (second|minute|hour|day)s? ago\)\s*</);
    expect(page.text).not.toContain('/mnt/offsite');

    await t.vault.worker.runDue();
    // One version of this council's and both of the other's lost on both sides: the page counts its own one.
    for (const res of [stored, ...otherStored]) {
      const version = (await t.vault.store.repos.documents.versionById((await t.vault.store.repos.documents.byId(res.json().id as string))!.currentVersionId!))!;
      await t.vault.blobStore.delete(version.blobId);
      await t.vault.replicaStore!.delete(version.blobId);
      await t.vault.scrub.run({ versionId: version.id, bytesPerSecond: 1e9 });
    }
    page = await client.get('/admin/storage');
    expect(page.text).toMatch(/Versions waiting to be copied offsite\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*0\s*</);
    expect(page.text).toContain('1 version of a document has no good stored copy left and cannot be downloaded. The service&#39;s operators have been told; your organisation&#39;s security admins were notified.');
    expect(page.text).toMatch(/Versions with no good copy left\s*<\/dt>\s*<dd class="govuk-summary-list__value">\s*1\s*</);

    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const memberClient = new FormClient(base);
    expect(await memberClient.signIn(member.email)).not.toContain('href="/admin/storage"');
    expect((await memberClient.get('/admin/storage')).status).toBe(404);
  });
});
