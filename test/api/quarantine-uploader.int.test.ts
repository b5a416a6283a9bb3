// The quarantine list names a version's uploader (`authorId`) only to a reader decide() lets identify
// them, as a document's versions do (test/api/people-ids). A host's staff uploading malware into a
// partner's folder through the arrangement had their person id given to the partner's security admins
// over REST (attack review of 5 December); the page never showed it.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { eicar } from '../support/samples.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a quarantined version\'s uploader on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('gives the partner\'s security admin no id for the host\'s staff who uploaded it, and its own colleague\'s id', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const security = await partner.user({ roles: ['security_admin'] });
    const byHost = await upload(t.app, hostStaff, partner.collections.payroll!, 'served.txt', eicar());
    const byColleague = await upload(t.app, partnerStaff, partner.collections.payroll!, 'own.txt', eicar());
    expect([byHost.statusCode, byColleague.statusCode]).toEqual([422, 422]);

    const res = await api(t.app, security).get('quarantine');
    expect(res.statusCode, res.body).toBe(200);
    const authors = Object.fromEntries((res.json().items as { document: { name: string } | null; version: { authorId: string | null } }[])
      .map((i) => [i.document?.name, i.version.authorId]));
    expect(authors).toEqual({ 'served.txt': null, 'own.txt': partnerStaff.id });
    expect(res.body).not.toContain(hostStaff.id);
  });
});
