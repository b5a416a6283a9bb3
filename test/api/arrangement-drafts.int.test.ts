// The register opens an arrangement in force to every council, and its drafts stay between the
// parties: its revision history shows a reader only the revisions decide() lets them read as each
// stood (attack review of 5 December). Before, a council that was never a party read every draft's
// snapshot: the partner dropped during negotiation, the purpose and the saving first proposed.
import { beforeAll, describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation } from '../support/vault.js';
import { FormClient, PASSWORD, addPerson } from '../ui/support.js';

const clamd = useClamd();

const TERMS = { serviceArea: 'payroll', lawfulBasis: 'UK GDPR Art 6(1)(e) public task', accessLevel: 'read', ceiling: 'OFFICIAL' };
const DRAFT_PURPOSE = 'Payroll for Dropped Council while its own team is made redundant';

interface Shown {
  arrangement: { revision: number };
  revisions: { revision: number; change: string; snapshot: { partnerOrganisationIds: string[]; purpose: string } }[];
}

describe.each(DIALECTS)('an arrangement\'s drafts in the register on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });
  let base: string;
  beforeAll(async () => {
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  it('shows each reader only the revisions they could read as they stood: a non-party the ones in force', async () => {
    const [host, kept, dropped, outsider] = [await createOrganisation(t.vault), await createOrganisation(t.vault), await createOrganisation(t.vault), await createOrganisation(t.vault)];
    const hostAdmin = await host.user({ roles: ['org_admin'] });
    const keptAdmin = await kept.user({ roles: ['org_admin'] });
    const droppedAdmin = await dropped.user({ roles: ['org_admin'] });
    const outsiderStaff = await outsider.user({ teams: ['payroll'] });

    // Negotiated with one council (revision 1), then offered to another instead (2), accepted by it (3).
    const proposed = await api(t.app, hostAdmin).post('arrangements', { ...TERMS, purpose: DRAFT_PURPOSE, annualSavingPounds: 98765, partners: [dropped.slug] });
    expect(proposed.statusCode, proposed.body).toBe(201);
    const id = proposed.json().id as string;
    const amended = await api(t.app, hostAdmin).patch(`arrangements/${id}`, { purpose: 'Payroll processing', annualSavingPounds: 1000, partners: [kept.slug] });
    expect(amended.statusCode, amended.body).toBe(200);
    const accepted = await api(t.app, keptAdmin).post(`arrangements/${id}/accept`, { revision: 2 });
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.json().status).toBe('active');

    const revisionsFor = async (user: { token: string }) => {
      const res = await api(t.app, user).get(`arrangements/${id}`);
      expect(res.statusCode, res.body).toBe(200);
      return (res.json() as Shown).revisions.map((r) => [r.revision, r.change]);
    };
    // The outsider reads the register's arrangement, never the draft it was negotiated from.
    const outsiderView = await api(t.app, outsiderStaff).get(`arrangements/${id}`);
    expect(outsiderView.statusCode).toBe(200);
    expect((outsiderView.json() as Shown).revisions.map((r) => [r.revision, r.change])).toEqual([[3, 'accepted; now active']]);
    expect(outsiderView.body).not.toContain(DRAFT_PURPOSE);
    expect(outsiderView.body).not.toContain(dropped.id);
    expect(outsiderView.body).not.toContain('98765');
    // The parties see what they were party to: the host all of it, each partner the drafts that named it.
    expect(await revisionsFor(hostAdmin)).toEqual([[1, 'proposed'], [2, 'amended (partners must accept again)'], [3, 'accepted; now active']]);
    expect(await revisionsFor(keptAdmin)).toEqual([[2, 'amended (partners must accept again)'], [3, 'accepted; now active']]);
    expect(await revisionsFor(droppedAdmin)).toEqual([[1, 'proposed'], [3, 'accepted; now active']]);

    // The web page lists the same revisions.
    const person = await addPerson(t.vault, outsider.slug, { teams: ['payroll'] });
    const browser = new FormClient(base);
    await browser.signIn(person.email, PASSWORD);
    const page = await browser.get(`/arrangements/${id}`);
    expect(page.status).toBe(200);
    const listed = [...page.text.matchAll(/<tr class="govuk-table__row"><td class="govuk-table__cell">(\d+)<\/td>/g)].map((m) => Number(m[1]));
    expect(listed).toEqual([3]);
  });
});
