// A database administrator (any row, but neither the master key nor the signing key) has the bin purge
// crypto-shred a record by writing rows: a held, binned record's row moved out of its held folder, the
// hold's released_at written, or documents.deleted_at backdated (or set on a record never binned). The
// purge must not take those rows' word for it: it purges the documents the audit log vouches for, keeps
// the others in the bin, audits each refusal and raises the integrity alarm, as the disposal job does.
import { afterEach, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, realClockUnless, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const DAY_MS = 24 * 60 * 60 * 1000;
const pause = () => new Promise((resolve) => setTimeout(resolve, 20));

describe.each(DIALECTS)('the bin purge and rows written in the database on %s', (dialect) => {
  let t: TestVault | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /**
   * An organisation with the folder "Tribunal" under HR and "Evidence" under it, a records manager and
   * an hr member; `binned(name, folder)` uploads a record there and deletes it through the API.
   */
  async function setting() {
    const clock = realClockUnless();
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, clock });
    const v = t;
    const org = await createOrganisation(v.vault);
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const member = await org.user({ teams: ['hr'] });
    const hr = org.collections.hr!;
    const folder = async (name: string, parentId: string) => (await v.vault.collectionCreation.create(systemActor(), { organisationId: org.id, parentId, name, serviceArea: 'hr', classification: 'OFFICIAL-SENSITIVE' })).id;
    const tribunal = await folder('Tribunal', hr);
    const evidence = await folder('Evidence', tribunal);
    const uploaded = async (name: string, collectionId = hr) => {
      const up = await upload(v.app, member, collectionId, name, `${name}\n`);
      expect(up.statusCode, up.body).toBe(201);
      return up.json().id as string;
    };
    const remove = async (id: string) => expect((await api(v.app, member).delete(`documents/${id}`)).statusCode).toBe(204);
    const restore = async (id: string) => expect((await api(v.app, member).post(`documents/${id}/restore`)).statusCode).toBe(200);
    const binned = async (name: string, collectionId = hr) => {
      const id = await uploaded(name, collectionId);
      await remove(id);
      return id;
    };
    const hold = async (over: { documentIds?: string[]; collectionIds?: string[] }) => {
      const created = (await api(v.app, manager).post('holds', { name: 'Smith v Council', reason: 'Employment tribunal claim 2401' })).json() as { id: string };
      const added = await api(v.app, manager).post(`holds/${created.id}/items`, over);
      expect(added.statusCode, added.body).toBe(200);
      return created.id;
    };
    const deletedAt = async (id: string) => (await v.vault.store.repos.documents.byId(id))!.deletedAt!;
    /** The purge, run `days` days (and `ms` milliseconds) after `from`. */
    const purgeAt = async (from: string, days: number, ms = 0) => {
      clock.set(new Date(Date.parse(from) + days * DAY_MS + ms).toISOString());
      return v.vault.disposal.purgeBin(org.id).finally(() => clock.set(null));
    };
    const status = async (id: string) => (await v.vault.store.repos.documents.byId(id))!.status;
    const purgeEvents = async (id: string) => {
      await v.vault.audit.sequencer.flush();
      return (await v.vault.store.repos.audit.forOrganisation(org.id)).filter((e) => e.action === 'document.purge' && e.targetIds.documentId === id)
        .map((e) => ({ decision: e.decision, reason: e.reason }));
    };
    /**
     * Refused: kept (not shredded, no stub), the refusal audited, the alarm raised; naming the document
     * and `problem` when given (the alarm keeps the first problem raised).
     */
    const expectRefused = async (id: string, problem?: string) => {
      expect(await status(id)).not.toBe('disposed');
      expect(await v.vault.store.repos.disposal.stub(id)).toBeUndefined();
      for (const version of await v.vault.store.repos.documents.versions(id)) expect(version.wrappedKey.length).toBeGreaterThan(0);
      expect(await purgeEvents(id)).toEqual([{ decision: 'deny', reason: 'not_vouched_for' }]);
      const alarm = await v.vault.audit.alarm.currentAlarm();
      expect(alarm).toMatchObject({ source: 'disposal' });
      if (problem === undefined) return;
      expect(alarm!.problem).toContain(`The bin purge refused to purge document ${id}; it stays in the bin.`);
      expect(alarm!.problem).toContain(problem);
    };
    return { v, db: v.vault.store.db, org, hr, tribunal, evidence, uploaded, remove, restore, binned, hold, deletedAt, purgeAt, status, purgeEvents, expectRefused };
  }

  it('a record deleted through the service 31 days before the purge is purged, with no alarm', async () => {
    const s = await setting();
    const id = await s.binned('old-payslip.txt');
    expect(await s.purgeAt(await s.deletedAt(id), 31)).toMatchObject({ purged: [id], held: [] });
    expect(await s.status(id)).toBe('disposed');
    expect(await s.purgeEvents(id)).toMatchObject([{ decision: 'allow' }]);
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
    expect(await s.v.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true });
  });

  it('a record deleted, restored and deleted again counts its time in the bin from the last deletion', async () => {
    const s = await setting();
    const id = await s.binned('twice.txt');
    const first = await s.deletedAt(id);
    await pause();
    await s.restore(id);
    await pause();
    await s.remove(id);
    const last = await s.deletedAt(id);
    expect(Date.parse(last) - Date.parse(first)).toBeGreaterThanOrEqual(30);
    // 30 days after the first deletion, and 30 days less 10 ms after the last: not yet.
    expect(await s.purgeAt(last, 30, -10)).toMatchObject({ purged: [], held: [] });
    expect(await s.purgeAt(last, 30, 10)).toMatchObject({ purged: [id], held: [] });
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
  });

  it('a record restored and deleted again while the purge runs (after its page was read) is kept, its new bin period honoured; no alarm', async () => {
    const s = await setting();
    const id = await s.binned('changed-mind.txt');
    const kept = await s.binned('old-payslip.txt');
    // A member restores the record and deletes it again between the purge's read of the bin and its
    // destruction: its row is in the bin once more, but only since now, after the cutoff.
    const disposal = s.v.vault.store.repos.disposal;
    const binExpired = disposal.binExpired.bind(disposal);
    let raced = false;
    disposal.binExpired = async (...args) => {
      const ids = await binExpired(...args);
      if (!raced && ids.includes(id)) {
        raced = true;
        await s.restore(id);
        await s.remove(id);
      }
      return ids;
    };
    const result = await s.purgeAt(await s.deletedAt(kept), 31);
    expect(raced).toBe(true);
    expect(result).toEqual({ purged: [kept], held: [], refused: [] });
    expect(await s.status(id)).not.toBe('disposed');
    expect(await s.purgeEvents(id)).toEqual([]);
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
  });

  it('deleted_at written with an offset, before the cutoff as text but after it as an instant: kept, and the purge finishes', async () => {
    const s = await setting();
    const id = await s.binned('offset.txt');
    const from = await s.deletedAt(id);
    const cutoff = Date.parse(from) + DAY_MS;
    // 13 hours after the cutoff, written as local time at UTC-14: its text sorts an hour before the cutoff's.
    const written = `${new Date(cutoff - 60 * 60 * 1000).toISOString().slice(0, -1)}-14:00`;
    expect(Date.parse(written)).toBe(cutoff + 13 * 60 * 60 * 1000);
    await s.db.updateTable('documents').set({ deleted_at: written }).where('id', '=', id).execute();
    // Each page reads the bin once: more reads than the document could take is the purge going round.
    const disposal = s.v.vault.store.repos.disposal;
    const binExpired = disposal.binExpired.bind(disposal);
    let reads = 0;
    disposal.binExpired = async (...args) => {
      if (++reads > 5) throw new Error('the purge read the bin again and again');
      return binExpired(...args);
    };
    expect(await s.purgeAt(from, 31)).toEqual({ purged: [], held: [], refused: [] });
    expect(await s.status(id)).not.toBe('disposed');
  });

  it('a purged record\'s status written back by hand: refused, kept, the alarm raised; the rest of the bin is still purged', async () => {
    const s = await setting();
    const id = await s.binned('purged.txt');
    const from = await s.deletedAt(id);
    expect(await s.purgeAt(from, 31)).toMatchObject({ purged: [id] });
    await s.db.updateTable('documents').set({ status: 'active' }).where('id', '=', id).execute();
    const later = await s.binned('later.txt');
    const result = await s.purgeAt(await s.deletedAt(later), 31);
    expect(result).toEqual({ purged: [later], held: [], refused: [id] });
    expect((await s.purgeEvents(id)).map((e) => e.decision)).toEqual(['allow', 'deny']);
    const alarm = await s.v.vault.audit.alarm.currentAlarm();
    expect(alarm!.problem).toContain(`The bin purge refused to purge document ${id}; it stays in the bin.`);
    expect(alarm!.problem).toContain('its disposal stub');
  });

  it('(c) deleted_at backdated to a deletion before a restore: refused, kept, the alarm raised', async () => {
    const s = await setting();
    const id = await s.binned('twice.txt');
    const first = await s.deletedAt(id);
    await pause();
    await s.restore(id);
    await pause();
    await s.remove(id);
    const last = await s.deletedAt(id);
    await s.db.updateTable('documents').set({ deleted_at: first }).where('id', '=', id).execute();
    expect(await s.purgeAt(last, 30, -10)).toEqual({ purged: [], held: [], refused: [id] });
    await s.expectRefused(id, `was deleted at ${last} by the audit log`);
  });

  it('(c) deleted_at backdated on a record deleted moments ago, set on a live record, and set on a restored one: each refused; a vouched one in the same page is purged', async () => {
    const s = await setting();
    const honest = await s.binned('honest.txt');
    const since = await s.deletedAt(honest);
    // Binned in a later millisecond than the honest one: binned in the same one, moving its deleted_at to
    // `since` would change nothing, and the log would rightly vouch for it (seen on a fast machine).
    await pause();
    const recent = await s.binned('recent.txt');
    const live = await s.uploaded('live.txt');
    const restored = await s.binned('restored.txt');
    await s.restore(restored);
    const recentAt = await s.deletedAt(recent);
    expect(recentAt).not.toBe(since);
    // Moved back to a moment the honest record was in the bin already; the purge runs 30 days and 10 ms after that.
    for (const id of [recent, live, restored]) await s.db.updateTable('documents').set({ deleted_at: since }).where('id', '=', id).execute();
    const result = await s.purgeAt(since, 30, 10);
    expect(result.purged).toEqual([honest]);
    expect(result.held).toEqual([]);
    expect([...result.refused].sort()).toEqual([recent, live, restored].sort());
    expect(await s.status(honest)).toBe('disposed');
    const alarmProblem = (await s.v.vault.audit.alarm.currentAlarm())!.problem;
    const problems = new Map([[recent, `was deleted at ${recentAt} by the audit log`], [live, 'but the audit log records no deletion of it'], [restored, 'but the audit log last records it restored']]);
    for (const id of problems.keys()) await s.expectRefused(id);
    // The alarm keeps the first problem raised: whichever document the purge came to first.
    const first = /document ([0-9a-f-]{36});/.exec(alarmProblem)?.[1] ?? '';
    expect(problems.has(first)).toBe(true);
    await s.expectRefused(first, problems.get(first));
  });

  it('(a) a held, binned record\'s row moved out of its held folder: refused, kept, the alarm raised', async () => {
    const s = await setting();
    const id = await s.binned('evidence.txt', s.evidence);
    await s.hold({ collectionIds: [s.tribunal] });
    await s.db.updateTable('documents').set({ collection_id: s.hr }).where('id', '=', id).execute();
    expect(await s.purgeAt(await s.deletedAt(id), 31)).toEqual({ purged: [], held: [], refused: [id] });
    await s.expectRefused(id, `is in collection ${s.hr}, but the audit log last placed it in collection ${s.evidence}`);
  });

  it('(b) a binned record\'s hold marked released in its row: refused, kept, the alarm raised', async () => {
    const s = await setting();
    const id = await s.binned('held.txt');
    const holdId = await s.hold({ documentIds: [id] });
    await s.db.updateTable('legal_holds').set({ released_at: new Date().toISOString(), release_reason: 'Claim settled out of court' }).where('id', '=', holdId).execute();
    expect(await s.purgeAt(await s.deletedAt(id), 31)).toEqual({ purged: [], held: [], refused: [id] });
    await s.expectRefused(id, `is under legal hold ${holdId} by the audit log, which records no release`);
  });

  it('an honest hold on a binned record keeps it, as decide() refuses; no alarm', async () => {
    const s = await setting();
    const id = await s.binned('held.txt', s.evidence);
    await s.hold({ collectionIds: [s.tribunal] });
    expect(await s.purgeAt(await s.deletedAt(id), 31)).toMatchObject({ purged: [], held: [id] });
    expect(await s.purgeEvents(id)).toEqual([{ decision: 'deny', reason: 'legal_hold' }]);
    expect(await s.v.vault.audit.alarm.currentAlarm()).toBeNull();
  });
});
