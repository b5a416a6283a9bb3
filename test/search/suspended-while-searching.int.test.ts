// A search's scope is worked out from the arrangements before the index is asked, and the statement can run for
// seconds (up to its timeout). An arrangement suspended or ended while it runs must count for what the search
// answers: no hit, snippet, total or facet of the partner's documents it no longer reaches, on both dialects.
// So must the person as they are when it answers (attack review of 7 December): a team taken away or a
// clearance lowered meanwhile narrows what it answers, and a person switched off meanwhile is answered nothing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Vault } from '../../src/main.js';
import { ARRANGEMENT_STOPS } from '../support/shared-service.js';
import { eventsOf } from '../support/audit-log.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { createOrganisation, createPartnership, DIALECTS, upload } from '../support/vault.js';
import { canaryWord, drainJobs, searchAs } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('a search running while the arrangement it reads through stops, on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);
  afterEach(() => vi.restoreAllMocks());

  async function world() {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE', serviceArea: 'payroll' });
    const partnerStaff = await partner.user({ teams: ['payroll'] });
    const hostStaff = await host.user({ teams: ['payroll'] });
    const word = canaryWord();
    const uploaded = await upload(t.app, partnerStaff, partner.collections.payroll!, `payslips ${word}.txt`, `Payslip run for March: ${word} and the pension deductions.\n`);
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    await drainJobs(t.vault);
    return { host, partner, arrangement, hostStaff, word, documentId: uploaded.json().id as string };
  }

  /** Runs `meanwhile` while the next search statement is running (after it was given its scope, before it answers). */
  function whileTheIndexSearches(meanwhile: () => Promise<unknown>): { ran: () => number } {
    const index = t.vault.store.repos.search;
    const original = index.search.bind(index);
    let ran = 0;
    vi.spyOn(index, 'search').mockImplementation(async (request) => {
      const results = await original(request);
      if (ran++ === 0) await meanwhile();
      return results;
    });
    return { ran: () => ran };
  }

  describe.each(ARRANGEMENT_STOPS)('the arrangement %s while the statement runs', (stop, stopIt) => {
    it('answers as the search after it would: no hit, snippet, total or facet of the partner’s document', async () => {
      const { arrangement, hostStaff, word, partner } = await world();
      const before = (await searchAs(t.app, hostStaff, { q: word })).json();
      expect(before.total, `before the arrangement was ${stop}`).toBe(1);
      const spy = whileTheIndexSearches(() => stopIt(t.vault as Vault, arrangement.id));
      const res = await searchAs(t.app, hostStaff, { q: word });
      // Asked once with the scope it began with, and again with the narrower one it found after.
      expect(spy.ran()).toBe(2);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect({ total: body.total, hits: body.hits, organisations: body.facets.organisation }).toEqual({ total: 0, hits: [], organisations: [] });
      // Beyond the query it echoes, nothing names the word or the partner.
      const answered = JSON.stringify({ ...body, q: null });
      expect(answered).not.toContain(word);
      expect(answered).not.toContain(partner.id);
      // The search is recorded once, with what it answered.
      const searches = (await eventsOf(t.vault, hostStaff.id)).filter((e) => e.action === 'search.query');
      expect(searches.map((e) => e.targetIds.results)).toEqual(['1', '0']);
    });
  });

  // The person, not only the arrangements: the scope was read again once the index answered, but from the person as
  // the request began, so a team taken away or a clearance lowered while the statement ran still had the hits, names
  // and decrypted snippets of what they no longer reach answered, and a person switched off meanwhile had them all.
  describe('the person changed while the statement runs', () => {
    async function own(area: 'payroll' | 'finance') {
      const org = await createOrganisation(t.vault);
      const person = await org.user({ teams: [area], clearance: 'OFFICIAL-SENSITIVE' });
      const word = canaryWord();
      const uploaded = await upload(t.app, person, org.collections[area]!, `budget ${word}.txt`, `Budget notes: ${word} and the reserves.\n`);
      expect(uploaded.statusCode, uploaded.body).toBe(201);
      await drainJobs(t.vault);
      expect((await searchAs(t.app, person, { q: word })).json().total, 'before the change').toBe(1);
      return { org, person, word };
    }

    it.each([
      ['their team taken away', { teams: [] }],
      ['their clearance lowered below the document', { clearance: 'OFFICIAL' as const }],
    ])('%s: answers as the search after it would, with no hit, snippet, total or facet', async (_change, patch) => {
      const { org, person, word } = await own('payroll');
      const spy = whileTheIndexSearches(() => t.vault.store.repos.users.update(person.id, patch));
      const res = await searchAs(t.app, person, { q: word });
      expect(spy.ran()).toBe(2);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect({ total: body.total, hits: body.hits, organisations: body.facets.organisation, collections: body.facets.collection }).toEqual({ total: 0, hits: [], organisations: [], collections: [] });
      expect(JSON.stringify({ ...body, q: null })).not.toContain(word);
      expect(JSON.stringify(body.facets)).not.toContain(org.id);
    });

    it('switched off: answers 401 with nothing found, and audits the refusal', async () => {
      const { person, word } = await own('finance');
      whileTheIndexSearches(() => t.vault.store.repos.users.update(person.id, { disabled: true }));
      const res = await searchAs(t.app, person, { q: word });
      expect(res.statusCode, res.body).toBe(401);
      const searches = (await eventsOf(t.vault, person.id)).filter((e) => e.action === 'search.query');
      expect(searches.map((e) => [e.decision, e.reason, e.targetIds.results])).toEqual([['allow', 'search', '1'], ['deny', 'account_disabled', undefined]]);
    });
  });
});
