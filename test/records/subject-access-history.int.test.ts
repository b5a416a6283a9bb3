// A record's access history shows its organisation's records management only to those who may read
// that management (records.read: its records managers, auditors and DPOs). A record put into a subject
// access request told every member of its team, and a partner's staff managing it through an
// arrangement, that a request had reached it, which, when and by whom, where its legal hold (the
// request's own) was already left out (attack review of 5 December).
import { describe, expect, it } from 'vitest';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { openSubjectAccess, subjectAccessWorld } from '../support/subject-access.js';
import { DIALECTS, type TestUser } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('subject access in a record\'s access history on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('shows a request\'s work on a record to the owner\'s DPOs, never to its team or a partner serving it', async () => {
    const w = await subjectAccessWorld(t);
    const request = await openSubjectAccess(t, w);
    const requestId = request.id as string;
    // Each council's DPO includes its own record, then the host's takes it out again.
    let itemId = '';
    for (const [dpo, id] of [[w.dpo, w.own], [w.hostDpo, w.held]] as const) {
      const added = await api(t.app, dpo).post(`subject-access/${requestId}/items`, { documentIds: [id] });
      expect(added.statusCode, added.body).toBe(200);
      itemId = (added.json().items as { id: string; documentId: string }[]).find((i) => i.documentId === id)!.id;
    }
    expect((await api(t.app, w.hostDpo).delete(`subject-access/${requestId}/items/${itemId}`)).statusCode).toBe(204);

    const history = async (user: TestUser, id: string) => {
      const res = await api(t.app, user).get(`documents/${id}/access-history`);
      expect(res.statusCode, res.body).toBe(200);
      return res.json().events as { action: string; targetIds: Record<string, string> }[];
    };
    // The team (its own record) and the council serving it (the partner's record, through the arrangement).
    for (const [user, id] of [[w.hostStaff, w.held], [w.partnerStaff, w.own], [w.hostStaff, w.own]] as const) {
      const events = await history(user, id);
      expect(events.map((e) => e.action)).toContain('document.upload');
      expect(events.filter((e) => e.action.startsWith('subject-access.') || e.targetIds.requestId !== undefined)).toEqual([]);
      expect(JSON.stringify(events)).not.toContain(requestId);
    }
    // The owner's DPOs see it.
    expect((await history(w.hostDpo, w.held)).map((e) => e.action)).toEqual(expect.arrayContaining(['subject-access.add', 'subject-access.remove']));
    expect((await history(w.dpo, w.own)).map((e) => e.action)).toContain('subject-access.add');
  });
});
