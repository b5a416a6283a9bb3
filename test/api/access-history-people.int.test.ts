// Who a document's access history identifies, on REST as on the web page: a person's id, address and
// request id go only to their colleagues and to the owning organisation's auditors (decide():
// person.identify, audit.read); anyone else, such as a partner's manager or the host's team serving a
// partner, reads "someone in <organisation>" and nothing that singles the person out.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

interface HistoryEvent {
  action: string; actorUserId: string | null; actorOrganisationId: string | null; clientAddress: string | null; requestId: string | null; who: string;
}

describe.each(['sqlite', 'postgres'] as const)('access history people on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function partnerDocumentReadByBoth() {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const hostTeam = await host.user({ teams: ['payroll'] });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, partnerStaff, partner.collections.payroll!, 'slip.csv', 'net\n1\n')).json();
    expect((await api(t.app, partnerStaff).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    expect((await api(t.app, hostTeam).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    return { host, partner, arrangement, hostTeam, partnerStaff, doc };
  }

  async function history(user: { token: string }, documentId: string): Promise<HistoryEvent[]> {
    const res = await api(t.app, user).get(`documents/${documentId}/access-history`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().events as HistoryEvent[];
  }

  it("does not give the host's team serving a partner the partner's staff's ids, addresses or request ids", async () => {
    const w = await partnerDocumentReadByBoth();
    const events = await history(w.hostTeam, w.doc.id);
    const theirs = events.filter((e) => e.actorOrganisationId === w.partner.id);
    expect(theirs.map((e) => e.action).sort()).toEqual(['document.download', 'document.upload']);
    for (const e of theirs) {
      expect(e).toMatchObject({ actorUserId: null, clientAddress: null, requestId: null, who: `someone in Test ${w.partner.slug}` });
    }
    expect(JSON.stringify(events)).not.toContain(w.partnerStaff.id);
    expect(JSON.stringify(events)).not.toContain(w.partnerStaff.email);
    // Their own colleague is named to them, as on the web page.
    const own = events.find((e) => e.actorOrganisationId === w.host.id && e.action === 'document.download')!;
    expect(own).toMatchObject({ actorUserId: w.hostTeam.id, clientAddress: '127.0.0.1', who: w.hostTeam.email });
  });

  it("does not give a partner's manager the host's staff's ids or addresses, and gives the owner's auditor everyone", async () => {
    const w = await partnerDocumentReadByBoth();
    const events = await history(w.partnerStaff, w.doc.id);
    const hostRead = events.find((e) => e.action === 'document.download' && e.actorOrganisationId === w.host.id)!;
    expect(hostRead).toMatchObject({ actorUserId: null, clientAddress: null, requestId: null, who: `someone in Test ${w.host.slug}` });
    expect(JSON.stringify(events)).not.toContain(w.hostTeam.id);
    // The owning organisation's auditor (in the team, so the history is theirs to read) knows everyone.
    const auditor = await w.partner.user({ teams: ['payroll'], roles: ['member', 'auditor'] });
    const audited = (await history(auditor, w.doc.id)).find((e) => e.action === 'document.download' && e.actorOrganisationId === w.host.id)!;
    expect(audited).toMatchObject({ actorUserId: w.hostTeam.id, clientAddress: '127.0.0.1', who: w.hostTeam.email });
  });
});
