// A database administrator (any row, but neither the master key nor the signing key) rewrites what an event
// already in the tree says, so that it vouches for a row they forged: an extension's new due date, or a legal
// hold's release. An event in the tree vouched for a row by its place in the tree alone, whatever the row now
// said, until `audit verify` rebuilt the tree. It must vouch only under its seal, as a pending event does; a
// seal cleared is no seal. And an upgraded log's events from before seals are sealed only as far as signed
// checkpoints vouch for what they say, so clearing a seal and having the upgrade run again seals no rewrite.
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { reasonSha256 } from '../../src/domain/audit/disposal-record.js';
import { IntegrityError } from '../../src/domain/errors.js';
import { ukDate } from '../../src/domain/records/retention.js';
import { SEQUENCED_EVENT_SEALS_MIGRATION } from '../../src/db/migrations/202612271940_sequenced_event_seals.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type RestartableTestVault } from '../support/vault.js';

const clamd = useClamd();

const seals = ['with its seal as it was', 'with its seal cleared'] as const;

describe.each(DIALECTS)('events in the tree rewritten in the database on %s', (dialect) => {
  let t: RestartableTestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** An HR record past its due date, in a batch the sweep proposed; a records manager and a member of HR. */
  async function setting() {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    // The vault open now (a test may restart it).
    const vault = () => t!;
    const v = t;
    const org = await createOrganisation(v.vault);
    await fileCollectionUnder(v.vault, org.id, org.collections.hr!, HR_03);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const up = await upload(v.app, member, org.collections.hr!, 'application.txt', 'an unsuccessful application\n');
    expect(up.statusCode, up.body).toBe(201);
    const documentId = up.json().id as string;
    await recordEvent(v.vault, org.id, documentId, 'process_complete', yearsAgo(2));
    const db = () => vault().vault.store.db;
    const sweep = async () => {
      expect(await vault().vault.disposal.dailySweep(org.id, ukDate(new Date()))).toBe('swept');
      return db().selectFrom('disposal_batches').select('id').where('organisation_id', '=', org.id).executeTakeFirstOrThrow();
    };
    /** The one event of `action` whose target ids include `id`, which must be in the tree under a checkpoint. */
    const sequencedEvent = async (action: string, id: string) => {
      const rows = await db().selectFrom('audit_events').selectAll().where('action', '=', action).where('target_ids', 'like', `%${id}%`).execute();
      expect(rows).toHaveLength(1);
      const row = rows[0]!;
      expect(row.seq).not.toBeNull();
      expect((await vault().vault.store.repos.audit.latestCheckpoint())!.treeSize).toBeGreaterThan(Number(row.seq));
      return { id: row.id, seq: Number(row.seq), targetIds: JSON.parse(row.target_ids) as Record<string, string> };
    };
    /** The event's target ids rewritten, and its seal cleared if asked. */
    const rewrite = async (event: { id: number; targetIds: Record<string, string> }, targetIds: Record<string, string>, seal: (typeof seals)[number]) => {
      await db().updateTable('audit_events').set({ target_ids: JSON.stringify({ ...event.targetIds, ...targetIds }), ...(seal === 'with its seal cleared' ? { seal: null } : {}) }).where('id', '=', event.id).execute();
    };
    const refusals = async (action: string) => {
      await vault().vault.audit.sequencer.flush();
      return (await vault().vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === action).map((e) => [e.decision, e.reason]);
    };
    return {
      get v() { return vault(); },
      get db() { return db(); },
      org, manager, member, documentId, sweep, sequencedEvent, rewrite, refusals,
    };
  }

  /** A records manager's honest extension of five years, its event sequenced and signed. */
  async function extended() {
    const s = await setting();
    const batch = await s.sweep();
    const year = new Date().getUTCFullYear();
    const decided = await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'extend', extendTo: `${year + 5}-03-31`, reason: 'Appeal possible' }] });
    expect(decided.statusCode, decided.body).toBe(200);
    await s.v.vault.audit.sequencer.flush();
    expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    return { s, batch, year, decision: await s.sequencedEvent('disposal.decide', batch.id) };
  }

  /** The approval refused as not vouched for: nothing applied, audited, the alarm raised. */
  async function expectApprovalRefused(s: Awaited<ReturnType<typeof setting>>, batchId: string, problem: string) {
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batchId}/approve`, {})).statusCode).toBe(500);
    expect((await s.v.vault.store.repos.disposal.batch(batchId))!.status).toBe('review');
    expect((await s.v.vault.retention.retentionFacts([s.documentId])).get(s.documentId)).toMatchObject({ extended: false });
    expect((await s.v.vault.audit.alarm.currentAlarm())!.problem).toBe(`The approval of disposal batch ${batchId} was refused; no extension took effect. ${problem}`);
    expect(await s.refusals('disposal.approve')).toEqual([['deny', 'not_vouched_for']]);
  }

  it.each(seals)('an extension\'s new due date and reason rewritten in its row and in its decision\'s event in the tree, %s: the approval is refused, alarm; verify names the event', async (seal) => {
    const { s, batch, year, decision } = await extended();
    // The records manager decided five more years; the row and the event now both say one, with another reason.
    await s.db.updateTable('disposal_items').set({ extend_to: `${year + 1}-03-31`, reason: 'Appeal dismissed' }).where('batch_id', '=', batch.id).execute();
    await s.rewrite(decision, { extendTo: `${year + 1}-03-31`, reasonSha256: reasonSha256('Appeal dismissed') }, seal);
    await expectApprovalRefused(s, batch.id, `Document ${s.documentId} of disposal batch ${batch.id} is decided "extend" by person ${s.manager.id}, but no decision on it is recorded: it was written into the database directly, not by Strongroom.`);
    const check = await s.v.vault.audit.verification.verify(systemActor());
    expect(check).toMatchObject({ ok: false, firstBadSeq: decision.seq });
    expect(check.ok ? '' : check.problem).toContain(`Event ${decision.seq} `);
  });

  it('an extension\'s decision whose event in the tree has only its seal cleared vouches for nothing: the approval is refused; verify names the event', async () => {
    const { s, batch, decision } = await extended();
    await s.db.updateTable('audit_events').set({ seal: null }).where('id', '=', decision.id).execute();
    await expectApprovalRefused(s, batch.id, `Document ${s.documentId} of disposal batch ${batch.id} is decided "extend" by person ${s.manager.id}, but no decision on it is recorded: it was written into the database directly, not by Strongroom.`);
    expect(await s.v.vault.audit.verification.verify(systemActor())).toEqual(expect.objectContaining({
      ok: false, firstBadSeq: decision.seq,
      problem: `Event ${decision.seq} (disposal.decide) carries no valid seal, though it says what was signed: a seal was cleared or written into the database directly, not by Strongroom (or, sequenced before seals existed, no checkpoint in the database vouched for it when it was to be sealed), so it vouches for nothing.`,
    }));
  });

  it.each(seals)('a hold released in its row, and another hold\'s release event in the tree rewritten to name it, %s: the disposal job destroys nothing, alarm; verify names the event', async (seal) => {
    const s = await setting();
    const holdOver = async (name: string, over: Record<string, string[]>) => {
      const hold = (await api(s.v.app, s.manager).post('holds', { name, reason: 'Employment tribunal claim' })).json() as { id: string };
      expect((await api(s.v.app, s.manager).post(`holds/${hold.id}/items`, over)).statusCode).toBe(200);
      return hold.id;
    };
    const held = await holdOver('Smith v Council', { documentIds: [s.documentId] });
    // Another record, under another hold, settled honestly.
    const other = await upload(s.v.app, s.member, s.org.collections.hr!, 'another-application.txt', 'another application\n');
    expect(other.statusCode, other.body).toBe(201);
    const settled = await holdOver('Jones v Council', { documentIds: [other.json().id as string] });
    expect((await api(s.v.app, s.manager).post(`holds/${settled}/release`, { reason: 'Claim settled out of court' })).statusCode).toBe(200);
    await s.v.vault.audit.sequencer.flush();
    expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    // The held record freed: its hold's row marked released, and the settled hold's release made to say it was this one.
    const release = await s.sequencedEvent('records.hold.release', settled);
    await s.db.updateTable('legal_holds').set({ released_at: new Date().toISOString(), released_by: s.manager.id, release_reason: 'Claim withdrawn' }).where('id', '=', held).execute();
    await s.rewrite(release, { holdId: held }, seal);
    const batch = await s.sweep();
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/decisions`, { items: [{ documentId: s.documentId, decision: 'destroy' }] })).statusCode).toBe(200);
    expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
    const run = s.v.vault.disposal.execute(batch.id);
    await expect(run).rejects.toBeInstanceOf(IntegrityError);
    await expect(run).rejects.toThrow(`Document ${s.documentId} of disposal batch ${batch.id} is under legal hold ${held} by the audit log, which records no release, but the hold's rows no longer hold it`);
    expect((await s.v.vault.store.repos.documents.byId(s.documentId))!.status).toBe('available');
    expect(await s.v.vault.store.repos.disposal.stub(s.documentId)).toBeUndefined();
    expect(await s.v.vault.audit.alarm.currentAlarm()).toMatchObject({ source: 'disposal' });
    expect(await s.refusals('disposal.execute')).toEqual([['deny', 'not_vouched_for']]);
    const check = await s.v.vault.audit.verification.verify(systemActor());
    expect(check).toMatchObject({ ok: false, firstBadSeq: release.seq });
    expect(check.ok ? '' : check.problem).toContain(`Event ${release.seq} `);
  });

  describe('a log from before seals, upgraded', () => {
    /** The honest extension, then every event in the tree stripped of its seal (as before seals) and `before` run; reopened, the upgrade runs again. */
    async function upgraded(before: (w: Awaited<ReturnType<typeof extended>>) => Promise<void> = async () => undefined) {
      const w = await extended();
      const { s } = w;
      await s.db.updateTable('audit_events').set({ seal: null }).where('seq', 'is not', null).execute();
      await before(w);
      await sql`delete from schema_migrations where name = ${SEQUENCED_EVENT_SEALS_MIGRATION}`.execute(s.db);
      t = await t!.restarted();
      const sealings = async () => (await s.db.selectFrom('audit_events').select('target_ids').where('action', '=', 'audit.event-seals').execute()).map((e) => JSON.parse(e.target_ids) as Record<string, string>);
      return { ...w, sealings, unsealed: () => s.v.vault.store.repos.audit.unsealedSequenced() };
    }

    it('seals every event the checkpoints vouch for: the extension is approved and verify passes', async () => {
      const { s, batch, sealings, unsealed } = await upgraded();
      const found = await sealings();
      expect(found).toEqual([{ found: expect.any(String) as string, sealed: found[0]?.found, left: '0' }]);
      expect(Number(found[0]!.found)).toBeGreaterThan(5);
      expect(await unsealed()).toBeNull();
      expect((await api(s.v.app, s.manager).post(`disposal/batches/${batch.id}/approve`, {})).statusCode).toBe(200);
      expect((await s.v.vault.retention.retentionFacts([s.documentId])).get(s.documentId)).toMatchObject({ extended: true });
      await s.v.vault.audit.sequencer.flush();
      expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
    });

    it('leaves unsealed an event rewritten before it ran (its seal cleared, the upgrade run again): the forged extension is still refused; verify names the event', async () => {
      const { s, batch, decision, sealings, unsealed } = await upgraded(async ({ s: before, batch: b, year, decision: d }) => {
        await before.db.updateTable('disposal_items').set({ extend_to: `${year + 1}-03-31`, reason: 'Appeal dismissed' }).where('batch_id', '=', b.id).execute();
        await before.rewrite(d, { extendTo: `${year + 1}-03-31`, reasonSha256: reasonSha256('Appeal dismissed') }, 'with its seal cleared');
      });
      const [found] = await sealings();
      expect(Number(found!.left)).toBeGreaterThan(0);
      expect(Number(found!.sealed) + Number(found!.left)).toBe(Number(found!.found));
      expect((await unsealed())!.lastSeq).toBeGreaterThanOrEqual(decision.seq);
      const row = await s.db.selectFrom('audit_events').select('seal').where('id', '=', decision.id).executeTakeFirstOrThrow();
      expect(row.seal).toBeNull();
      await expectApprovalRefused(s, batch.id, `Document ${s.documentId} of disposal batch ${batch.id} is decided "extend" by person ${s.manager.id}, but no decision on it is recorded: it was written into the database directly, not by Strongroom.`);
      expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: false, firstBadSeq: decision.seq });
    });
  });
});
