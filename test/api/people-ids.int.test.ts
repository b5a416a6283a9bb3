// The REST API identifies people as the web pages do: a document's versions name their author, and an
// arrangement's revisions the person who made each change, only to those decide() lets identify them
// (person.identify: colleagues and themselves; for a document, also the owning organisation's auditors).
// Another council's staff read a null id, as the pages say "someone in <organisation>".
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createOrganisation, createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(['sqlite', 'postgres'] as const)('people ids over REST on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it("gives a partner's staff no author id for the host team's versions, and the author's colleagues theirs", async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'contribute', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostTeam = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, partnerStaff, partner.collections.payroll!, 'rota.csv', 'a\n1\n')).json();
    const second = await api(t.app, hostTeam).put(`documents/${doc.id}/content`, 'a\n2\n');
    expect(second.statusCode, second.body).toBe(200);
    const versions = async (user: { token: string }) => {
      const res = await api(t.app, user).get(`documents/${doc.id}/versions`);
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().versions as { number: number; authorId: string | null }[]).sort((a, b) => a.number - b.number).map((v) => v.authorId);
    };
    expect(await versions(partnerStaff)).toEqual([partnerStaff.id, null]);
    expect(await versions(hostTeam)).toEqual([null, hostTeam.id]);
    const partnerAuditor = await partner.user({ teams: ['payroll'], roles: ['member', 'auditor'] });
    expect(await versions(partnerAuditor)).toEqual([partnerStaff.id, hostTeam.id]);
  });

  it("gives another council reading the register no id for the person who proposed or accepted an arrangement", async () => {
    const host = await createOrganisation(t.vault);
    const partner = await createOrganisation(t.vault);
    const hostAdmin = await host.user({ roles: ['member', 'org_admin'] });
    const partnerAdmin = await partner.user({ roles: ['member', 'org_admin'] });
    const proposed = await api(t.app, hostAdmin).post('arrangements', {
      partners: [partner.slug], serviceArea: 'payroll', purpose: 'Payroll service', lawfulBasis: 'Art 6(1)(e) public task', accessLevel: 'read', ceiling: 'OFFICIAL',
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const id = proposed.json().id as string;
    expect((await api(t.app, partnerAdmin).post(`arrangements/${id}/accept`, { revision: proposed.json().revision })).statusCode).toBe(200);
    const bystander = await (await createOrganisation(t.vault)).user({});
    const changedBy = async (user: { token: string }) => {
      const res = await api(t.app, user).get(`arrangements/${id}`);
      expect(res.statusCode, res.body).toBe(200);
      return (res.json().revisions as { revision: number; changedBy: string | null }[]).sort((a, b) => a.revision - b.revision).map((r) => r.changedBy);
    };
    // The bystander reads only the revision in force (the draft stays between the parties: arrangement-drafts).
    expect(await changedBy(bystander)).toEqual([null]);
    expect(await changedBy(partnerAdmin)).toEqual([null, partnerAdmin.id]);
    expect(await changedBy(hostAdmin)).toEqual([hostAdmin.id, null]);
  });
});
