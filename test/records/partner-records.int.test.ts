// A partner council's records as the host team serving it meets them: while the arrangement is in force the
// team sees a hold exists (never its name) and is refused what it freezes; once the arrangement is suspended,
// ended or past its end date, the team learns nothing of the record, its retention or its holds (404, audited
// as no_arrangement, never legal_hold), and places, releases or reads no hold. An arrangement suspended in the
// moment between a delete's decision and its commit refuses the delete too: it is decided again in its transaction.
import { describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api, expectProblem } from '../support/http.js';
import { DIALECTS, createPartnership, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('a partner council’s holds and retention through an arrangement on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  async function world() {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const owner = await partner.user({ teams: ['payroll'] });
    const ownerManager = await partner.user({ roles: ['records_manager'], teams: ['payroll'] });
    const serving = await host.user({ teams: ['payroll'] });
    const hostManager = await host.user({ roles: ['records_manager'], teams: ['payroll'] });
    const res = await upload(t.app, owner, partner.collections.payroll!, `payslip-${Math.random().toString(36).slice(2, 8)}.txt`, 'payslip\n');
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json().id as string;
    const hold = (await api(t.app, ownerManager).post('holds', { name: 'Smith v Council', reason: 'Employment tribunal claim' })).json();
    expect((await api(t.app, ownerManager).post(`holds/${hold.id}/items`, { documentIds: [id] })).statusCode).toBe(200);
    return { host, partner, arrangement, owner, ownerManager, serving, hostManager, id, hold };
  }

  async function denials(userId: string, documentId: string) {
    await t.vault.audit.sequencer.flush();
    return t.vault.store.db.selectFrom('audit_events').select(['action', 'reason']).where('decision', '=', 'deny').where('actor_user_id', '=', userId).where('document_id', '=', documentId).orderBy('seq').execute();
  }

  const ended: [string, (w: Awaited<ReturnType<typeof world>>) => Promise<unknown>][] = [
    ['suspended', (w) => t.vault.arrangements.suspend(systemActor(), w.arrangement.id)],
    ['ended', (w) => t.vault.arrangements.end(systemActor(), w.arrangement.id)],
    ['past its end date', (w) => t.vault.store.db.updateTable('arrangements').set({ ends_at: new Date(Date.now() - 60_000).toISOString() }).where('id', '=', w.arrangement.id).execute()],
  ];

  for (const [how, stop] of ended) {
    it(`tells the host team nothing of a held partner record once the arrangement is ${how}`, async () => {
      const w = await world();
      // In force: the hold is in force, unnamed, and refuses the delete.
      const seen = await api(t.app, w.serving).get(`documents/${w.id}`);
      expect(seen.json().retention.holds).toEqual([{ id: w.hold.id, name: 'Legal hold (named only to the owning organisation)' }]);
      expect(expectProblem(await api(t.app, w.serving).delete(`documents/${w.id}`), 409).detail).toContain(`(hold ${w.hold.id})`);
      await stop(w);
      const notFound = 'No document with that id exists, or you do not have access to it.';
      const attempts = [
        await api(t.app, w.serving).get(`documents/${w.id}`),
        await api(t.app, w.serving).delete(`documents/${w.id}`),
        await api(t.app, w.serving).get(`documents/${w.id}/access-history`),
        await api(t.app, w.serving).patch(`documents/${w.id}`, { name: 'renamed.txt' }),
        await api(t.app, w.serving).post(`documents/${w.id}/restore`, {}),
      ];
      for (const res of attempts) {
        const problem = expectProblem(res, 404);
        expect(problem.detail).toBe(notFound);
        expect(res.body).not.toContain(w.hold.id);
      }
      // Holds are the owner's alone, in force or not: neither the team nor its records manager reads or touches them.
      for (const user of [w.serving, w.hostManager]) {
        expectProblem(await api(t.app, user).get(`holds/${w.hold.id}`), 404);
        expectProblem(await api(t.app, user).post(`holds/${w.hold.id}/release`, { reason: 'Not ours to release at all' }), 404);
        expectProblem(await api(t.app, user).get(`holds?organisation=${w.partner.slug}`), 404);
      }
      const refused = await denials(w.serving.id, w.id);
      // The first refusal (in force) was the hold's; every one after is the arrangement's, never telling of the hold.
      expect(refused[0]).toEqual({ action: 'document.delete', reason: 'legal_hold' });
      expect(refused.slice(1).map((r) => r.reason)).toEqual(['no_arrangement', 'no_arrangement', 'no_arrangement', 'no_arrangement', 'no_arrangement']);
      expect((await t.vault.store.repos.holds.byId(w.hold.id))!.releasedAt).toBeNull();
      expect(await t.vault.store.repos.documents.byId(w.id)).toMatchObject({ deletedAt: null });
    });
  }

  it('refuses a delete whose arrangement is suspended between its decision and its commit (404, audited, not binned)', async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL-SENSITIVE' });
    const owner = await partner.user({ teams: ['payroll'] });
    const serving = await host.user({ teams: ['payroll'] });
    const id = (await upload(t.app, owner, partner.collections.payroll!, 'payslip.txt', 'payslip\n')).json().id as string;
    // Right after the delete was decided (allowed through the arrangement), before its transaction: suspended.
    const access = t.vault.access;
    const original = access.require;
    access.require = async function (this: typeof access, ...args: Parameters<typeof original>) {
      const decision = await original.apply(this, args);
      if (args[1] === 'document.delete') {
        access.require = original;
        await t.vault.arrangements.suspend(systemActor(), arrangement.id);
      }
      return decision;
    };
    try {
      const problem = expectProblem(await api(t.app, serving).delete(`documents/${id}`), 404);
      expect(problem.detail).toBe('No document with that id exists, or you do not have access to it.');
    } finally {
      access.require = original;
    }
    expect((await t.vault.store.repos.arrangements.byId(arrangement.id))!.status).toBe('suspended');
    expect(await t.vault.store.repos.documents.byId(id)).toMatchObject({ deletedAt: null });
    expect(await denials(serving.id, id)).toEqual([{ action: 'document.delete', reason: 'no_arrangement' }]);
    await t.vault.audit.sequencer.flush();
    const allowed = await t.vault.store.db.selectFrom('audit_events').select('action').where('decision', '=', 'allow').where('action', '=', 'document.delete').where('document_id', '=', id).execute();
    expect(allowed).toEqual([]);
  });
});
