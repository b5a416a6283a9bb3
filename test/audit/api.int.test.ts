// The audit API: auditors and DPOs search their own organisation's events (paginated), nobody
// else's; members get 404; a document's access history is for those who manage it.
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import type { AuditEvent } from '../../src/domain/audit/event.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('audit API on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('shows auditors and DPOs their own organisation’s events, page by page, and nobody else’s', async () => {
    const org = await createOrganisation(t.vault);
    const other = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const auditor = await org.user({ roles: ['auditor'] });
    const dpo = await org.user({ roles: ['dpo'] });
    const member = await org.user({ teams: ['payroll'], roles: ['member', 'org_admin', 'records_manager'] });
    const otherUser = await other.user({ teams: ['payroll'] });
    const otherAuditor = await other.user({ roles: ['auditor'] });
    const docs: string[] = [];
    for (let i = 0; i < 5; i++) {
      docs.push((await upload(t.app, user, org.collections.payroll!, `p${i}.csv`, `x${i}`)).json().id);
      await upload(t.app, otherUser, other.collections.payroll!, `secret-${i}.csv`, `y${i}`);
    }
    for (const id of docs) expect((await api(t.app, user).get(`documents/${id}/content`)).statusCode).toBe(200);

    for (const reader of [auditor, dpo]) {
      const seen: AuditEvent[] = [];
      let url: string | null = 'audit/events?limit=4';
      let pages = 0;
      while (url) {
        const res = await api(t.app, reader).get(url);
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json() as { events: AuditEvent[]; next: string | null };
        expect(page.events.length).toBeLessThanOrEqual(4);
        seen.push(...page.events);
        url = page.next;
        pages += 1;
        expect(pages).toBeLessThan(100);
      }
      expect(pages).toBeGreaterThan(2);
      const seqs = seen.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      for (const e of seen) expect([e.targetOrganisationId, e.actorOrganisationId]).toContain(org.id);
      expect(seen.filter((e) => e.action === 'document.upload').map((e) => e.targetIds.documentId).sort()).toEqual([...docs].sort());
      expect(seen.filter((e) => e.action === 'document.download')).toHaveLength(5);
      expect(JSON.stringify(seen)).not.toContain(other.id);
    }

    const filtered = (await api(t.app, auditor).get(`audit/events?document=${docs[0]}`)).json().events as AuditEvent[];
    expect(filtered.map((e) => e.action).sort()).toEqual(['document.download', 'document.upload']);

    expectProblem(await api(t.app, member).get('audit/events'), 404);
    expectProblem(await api(t.app, user).get('audit/events'), 404);
    // Another organisation's auditor sees only their own organisation.
    const theirs = (await api(t.app, otherAuditor).get('audit/events?limit=1000')).json().events as AuditEvent[];
    expect(theirs.length).toBeGreaterThan(0);
    expect(theirs.some((e) => docs.includes(e.targetIds.documentId ?? ''))).toBe(false);
  });

  it('keeps every filter on the next page, so following `next` never widens a search', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const auditor = await org.user({ roles: ['auditor'] });
    const docs: string[] = [];
    for (let i = 0; i < 3; i++) docs.push((await upload(t.app, user, org.collections.payroll!, `f${i}.csv`, `z${i}`)).json().id);
    for (let i = 0; i < 3; i++) expect((await api(t.app, user).get(`documents/${docs[0]}/content`)).statusCode).toBe(200);

    const seen: AuditEvent[] = [];
    const nexts: (string | null)[] = [];
    let url: string | null = `audit/events?document=${docs[0]}&action=document.download&limit=2`;
    while (url) {
      const res = await api(t.app, auditor).get(url);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { events: AuditEvent[]; next: string | null };
      seen.push(...page.events);
      nexts.push(page.next);
      url = page.next;
      expect(nexts.length).toBeLessThan(10);
    }
    expect(nexts[0]).toBe(`/api/v1/audit/events?document=${docs[0]}&action=document.download&after=${seen[1]!.seq}&limit=2`);
    expect(seen.map((e) => [e.action, e.targetIds.documentId])).toEqual([0, 1, 2].map(() => ['document.download', docs[0]]));
  });

  it('shows a document’s access history to a managing team member, and 404 to a read-only partner', async () => {
    const host = await createOrganisation(t.vault);
    const partner = await createOrganisation(t.vault);
    const hostAdmin = await host.user({ roles: ['org_admin'] });
    const partnerAdmin = await partner.user({ roles: ['org_admin'] });
    const hostPayroll = await host.user({ teams: ['payroll'] });
    const partnerPayroll = await partner.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, partnerPayroll, partner.collections.payroll!, 'slip.csv', 'net\n1\n')).json();

    const proposed = await api(t.app, hostAdmin).post('arrangements', {
      partners: [partner.slug], serviceArea: 'payroll', purpose: 'Payroll service', lawfulBasis: 'Art 6(1)(e) public task', accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE',
    });
    expect(proposed.statusCode, proposed.body).toBe(201);
    expect((await api(t.app, partnerAdmin).post(`arrangements/${proposed.json().id}/accept`, { revision: proposed.json().revision })).statusCode).toBe(200);

    expect((await api(t.app, hostPayroll).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    const history = await api(t.app, partnerPayroll).get(`documents/${doc.id}/access-history`);
    expect(history.statusCode, history.body).toBe(200);
    const events = history.json().events as AuditEvent[];
    // Which council read it, and through which arrangement; not who (the host's staff are not theirs to identify).
    const download = events.find((e) => e.action === 'document.download' && e.actorOrganisationId === host.id);
    expect(download).toMatchObject({ actorUserId: null, arrangementId: proposed.json().id, decision: 'allow' });
    // The serving team can read and download under a read-level arrangement, but not see who else looked.
    expectProblem(await api(t.app, hostPayroll).get(`documents/${doc.id}/access-history`), 404);
  });
});
