// What an outsider's attack on the #11 changes left open, closed: service methods that trusted
// their caller or answered anyone. Each case checks that the door is shut and that the legitimate
// path still works. Every case runs on SQLite and PostgreSQL.
import { describe, expect, it, vi } from 'vitest';
import type { Decision } from '../../src/domain/access/policy.js';
import { DomainError } from '../../src/domain/errors.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { INTEGRITY_REUSE_SECONDS } from '../../src/services/audit-verification.service.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, createPartnership, upload } from '../support/vault.js';
import { FormClient, enrolTotp } from '../ui/support.js';

const clamd = useClamd();

const FORGED: Decision = { allow: true, reason: 'team', via: null };
const codeOf = (p: Promise<unknown>) => p.then(() => 'allowed', (e: unknown) => (e instanceof DomainError ? e.code : String(e)));

describe.each(DIALECTS)('hardening the #11 boundaries on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, { listen: true });

  const actorOf = async (userId: string) => actorFor((await t.vault.identity.userById(userId))!, { channel: 'api', clientAddress: '127.0.0.1', requestId: 'hardening' });

  // AccessService is handed to every interface (AppServices). arrangementsFor(actor, ids) answered
  // any organisation's arrangements, drafts included, to any actor, and context() the same inside a
  // DecisionContext: a partner's proposal still between its parties could be read by anyone.
  it('keeps the arrangements it reads for decide() to itself', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    const access = t.vault.access as unknown as Record<string, unknown>;
    expect(access['arrangementsFor']).toBeUndefined();
    expect(access['context']).toBeUndefined();
    // decide() still reads them: the host's finance team serves the partner; a colleague outside it does not.
    const partnerFinance = { kind: 'collection', id: 'not-a-collection', organisationId: partner.id, serviceArea: 'finance', classification: 'OFFICIAL', arrangementId: null } as const;
    const server = await actorOf((await host.user({ teams: ['finance'] })).id);
    expect(await t.vault.access.reachableOrganisations(server)).toEqual([partner.id]);
    expect(await t.vault.access.may(server, 'collection.list', partnerFinance)).toBe(true);
    const stranger = await actorOf((await host.user({ teams: [] })).id);
    expect(await t.vault.access.reachableOrganisations(stranger)).toEqual([]);
    expect(await t.vault.access.may(stranger, 'collection.list', partnerFinance)).toBe(false);
    expect(await t.vault.access.may(systemActor(), 'collection.list', partnerFinance)).toBe(true);
  });

  // requireCreatable(actor, action, parent, created, granted) handed back the caller's `granted`
  // Decision whenever what was created sat within the parent's classification: anyone holding
  // AppServices got an allow for creating inside any council's collection by handing in one.
  it('decides creating inside a collection itself, on the stored parent, whatever Decision is handed in', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    const finance = host.collections['finance']!;
    const requireCreatable = t.vault.access.requireCreatable.bind(t.vault.access) as (...args: unknown[]) => Promise<Decision>;
    const denials = async () => t.vault.store.db.selectFrom('audit_events').select(['action', 'reason']).where('target_organisation_id', '=', host.id)
      .where('decision', '=', 'deny').where('action', 'in', ['document.create', 'collection.create']).orderBy('id').execute();

    const outsider = await actorOf((await partner.user({ roles: ['org_admin'], teams: ['finance'] })).id);
    expect(await codeOf(requireCreatable(outsider, 'document.create', finance, 'OFFICIAL', FORGED))).toBe('NOT_FOUND');
    expect(await codeOf(requireCreatable(outsider, 'collection.create', finance, 'OFFICIAL', FORGED))).toBe('NOT_FOUND');
    expect((await denials()).map((e) => `${e.action} ${e.reason}`)).toEqual(['document.create no_arrangement', 'collection.create no_arrangement']);
    // A colleague outside the finance team may not create there either.
    const colleague = await actorOf((await host.user({ teams: ['payroll'] })).id);
    expect(await codeOf(requireCreatable(colleague, 'document.create', finance, 'OFFICIAL', FORGED))).toBe('NOT_FOUND');
    expect(await codeOf(requireCreatable(outsider, 'document.create', 'no-such-collection', 'OFFICIAL'))).toBe('NOT_FOUND');

    // The finance team creates within its clearance; above it, it is told plainly (it sees the folder).
    const member = await actorOf((await host.user({ teams: ['finance'], clearance: 'OFFICIAL' })).id);
    expect(await requireCreatable(member, 'document.create', finance, 'OFFICIAL')).toMatchObject({ allow: true, via: null });
    expect(await codeOf(requireCreatable(member, 'document.create', finance, 'OFFICIAL-SENSITIVE'))).toBe('FORBIDDEN');
  });

  // WebSessionsService.endAllFor(userId) took no actor and asked nothing: any holder of
  // AppServices could sign any council's staff out. Nothing called it (disabling a person,
  // resetting their MFA and changing a password end sessions inside their own transactions), so it
  // is gone; ending someone's sessions is UsersAdminService's, decided by organisation.manage-users.
  it('ends a person\'s sessions only through a decided action', async () => {
    const { host, partner } = await createPartnership(t.vault, { accessLevel: 'manage', ceiling: 'OFFICIAL', serviceArea: 'finance' });
    expect('endAllFor' in t.vault.sessions).toBe(false);
    const person = await host.user({ teams: ['finance'] });
    const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'hardening' } as const;
    const { sessionId, stage } = await t.vault.passwordSignIn.signIn(person.email, TEST_PASSWORD, request);
    expect(stage).toBe('active');
    expect(await t.vault.sessions.resolve(sessionId)).toMatchObject({ user: { id: person.id } });

    const partnerAdmin = await actorOf((await partner.user({ roles: ['org_admin'] })).id);
    expect(await codeOf(t.vault.people.setDisabled(partnerAdmin, person.id, true))).toBe('NOT_FOUND');
    expect(await t.vault.sessions.resolve(sessionId)).toMatchObject({ user: { id: person.id } });

    const hostAdmin = await actorOf((await host.user({ roles: ['org_admin'] })).id);
    await t.vault.people.setDisabled(hostAdmin, person.id, true);
    expect(await t.vault.sessions.resolve(sessionId)).toBeNull();
  });

  // /audit/verify showed any council's auditor, DPO or admin where the whole log failed (event row
  // ids, actions, other councils' organisation ids), and every visit recomputed the whole log from
  // every council's events: a cheap way to keep the server busy. Last in this file: it raises the
  // alarm, which stays raised for this vault.
  describe('the integrity of the audit log, as a council sees it', () => {
    const base = () => {
      const address = t.app.server.address();
      return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    };
    const recomputations = () => vi.spyOn(t.vault.audit.verification as unknown as { recomputeLog(): Promise<unknown> }, 'recomputeLog');
    const stored = async () => JSON.parse((await t.vault.store.repos.settings.get('audit.last_verification'))!) as { ok: boolean; checkedAt: string };

    it('is a yes or no with the checkpoint, served from the last recomputation while it is recent', async () => {
      const here = await createOrganisation(t.vault);
      const there = await createOrganisation(t.vault);
      const auditor = await here.user({ roles: ['auditor'] });
      const otherAdmin = await there.user({ roles: ['org_admin'] });
      await upload(t.app, await there.user({ teams: ['payroll'] }), there.collections['payroll']!, 'pay.csv', 'a,b\n1,2\n');
      await t.vault.audit.sequencer.flush();
      const client = new FormClient(base());
      await client.signIn(auditor.email, TEST_PASSWORD, await enrolTotp(t.vault, auditor.id));
      const other = new FormClient(base());
      await other.signIn(otherAdmin.email, TEST_PASSWORD, await enrolTotp(t.vault, otherAdmin.id));

      const spy = recomputations();
      try {
        const first = await client.get('/audit/verify');
        expect(first.status).toBe(200);
        expect(first.text).toContain('The audit log verified');
        expect(spy).toHaveBeenCalledTimes(1);
        const checked = await stored();
        expect(checked.ok).toBe(true);
        // Again, and from another council: the same result, not another pass over the whole log.
        for (const c of [client, other, client]) expect((await c.get('/audit/verify')).text).toContain('The audit log verified');
        expect(spy).toHaveBeenCalledTimes(1);
        expect((await stored()).checkedAt).toBe(checked.checkedAt);
        // Once the last result is older than INTEGRITY_REUSE_SECONDS, the next visit recomputes it.
        const old = new Date(Date.now() - (INTEGRITY_REUSE_SECONDS + 5) * 1000).toISOString();
        await t.vault.store.repos.settings.set('audit.last_verification', JSON.stringify({ ...checked, checkedAt: old }));
        expect((await other.get('/audit/verify')).text).toContain('The audit log verified');
        expect(spy).toHaveBeenCalledTimes(2);
        expect((await stored()).checkedAt > old).toBe(true);
        // A stored result dated in the future (written into the database, say) is not reused.
        const future = new Date(Date.now() + 3600_000).toISOString();
        await t.vault.store.repos.settings.set('audit.last_verification', JSON.stringify({ ...checked, checkedAt: future }));
        expect((await client.get('/audit/verify')).text).toContain('The audit log verified');
        expect(spy).toHaveBeenCalledTimes(3);
        expect((await stored()).checkedAt < future).toBe(true);
        // The operator's verify always recomputes.
        expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
        expect(spy).toHaveBeenCalledTimes(4);
      } finally {
        spy.mockRestore();
      }

      // Recomputing on demand, and reading where the log fails, is the operator's: refused to a council, audited.
      const asAuditor = await actorOf(auditor.id);
      expect(await codeOf(t.vault.audit.verification.verify(asAuditor))).toBe('NOT_FOUND');
      const refusals = await t.vault.store.db.selectFrom('audit_events').select(['reason']).where('action', '=', 'audit.verify')
        .where('target_organisation_id', '=', here.id).where('decision', '=', 'deny').execute();
      expect(refusals.map((r) => r.reason)).toEqual(['system_only']);
      // Those who may not see the log's checkpoints are told nothing, as before.
      const member = new FormClient(base());
      await member.signIn((await here.user({ teams: ['payroll'] })).email);
      expect((await member.get('/audit/verify')).status).toBe(404);
    });

    it('does not tell a council where the log failed when the failure is in another council\'s events', async () => {
      const here = await createOrganisation(t.vault);
      const there = await createOrganisation(t.vault);
      const auditor = await here.user({ roles: ['auditor'] });
      const clerk = await there.user({ teams: ['payroll'] });
      await upload(t.app, clerk, there.collections['payroll']!, 'pay.csv', 'a,b\n1,2\n');
      await t.vault.audit.sequencer.flush();
      // An event of the other council's, written straight into the database with a made-up seal.
      const db = t.vault.store.db;
      const genuine = await db.selectFrom('audit_events').selectAll().where('target_organisation_id', '=', there.id).orderBy('id').executeTakeFirstOrThrow();
      const { id: _id, ...rest } = genuine;
      await db.insertInto('audit_events').values({ ...rest, seq: null, leaf_hash: null, seal: 'A'.repeat(43), request_id: 'forged-by-dba' } as never).execute();
      const forged = await db.selectFrom('audit_events').select(['id', 'action']).where('request_id', '=', 'forged-by-dba').executeTakeFirstOrThrow();
      await t.vault.audit.sequencer.flush();
      expect(t.vault.audit.alarm.alarmRaised).toBe(true);

      // The operator reads exactly where.
      const full = await t.vault.audit.verification.verify(systemActor());
      expect(full.ok).toBe(false);
      expect(full.ok ? '' : full.problem).toContain(`row ${String(forged.id)} (${forged.action})`);
      expect((await t.vault.audit.alarm.integrityAlarm(systemActor()))?.problem).toContain(`row ${String(forged.id)} (${forged.action})`);

      // A council's auditor reads that it failed, and nothing about the other council's events.
      const client = new FormClient(base());
      await client.signIn(auditor.email, TEST_PASSWORD, await enrolTotp(t.vault, auditor.id));
      const page = await client.get('/audit/verify');
      expect(page.status).toBe(200);
      expect(page.text).toContain('The audit log did NOT verify');
      expect(page.text).toContain('Signing of the audit log has stopped');
      for (const detail of [`row ${String(forged.id)}`, forged.action, there.id, 'forged-by-dba', 'first bad event']) expect(page.text).not.toContain(detail);
      const search = await client.get('/audit');
      expect(search.status).toBe(200);
      expect(search.text).toContain('Signing of the audit log has stopped');
      expect(search.text).not.toContain(`row ${String(forged.id)}`);
      const alarm = await t.vault.audit.alarm.integrityAlarm(await actorOf(auditor.id));
      expect(alarm).toMatchObject({ source: 'signer' });
      expect(alarm?.problem).not.toContain(String(forged.id));
      expect(await t.vault.audit.verification.integrity(await actorOf(auditor.id))).toEqual({
        ok: false, checkedAt: expect.any(String) as string, treeSize: null, checkpoints: null, unsignedEvents: null, offsite: 'mismatch', offsiteCheckpoints: expect.any(Number) as number,
      });
    });
  });
});
