// A database administrator (who can write any row but holds neither the master key nor the
// signing key) inserts audit events that never happened: to frame someone, or to cover a change
// they made to another table. The sequencer must not sequence them, so the signer never signs
// them; the alarm is raised and `audit verify` names the row.
import { afterAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';
import { systemActor } from '../../src/services/identity.service.js';
import { toAuditEvent } from '../../src/db/repos/audit.repo.js';
import { eventLeafHash } from '../../src/domain/audit/event.js';
import { CompactRange } from '../../src/domain/audit/merkle.js';
import { subtreesOf } from '../../src/services/audit-log-check.js';

const clamd = useClamd();

type Forge = (row: Record<string, unknown>, t: TestVault) => Promise<Record<string, unknown>> | Record<string, unknown>;

const forgeries: [string, Forge][] = [
  ['an event row with no seal', (row) => ({ ...row, seal: null })],
  // What once let events written before seals through unsealed: every seal cleared (so none comes
  // first) and the mark of the last such event raised above the forged row.
  ['an event row with no seal, every seal cleared and the old mark for events before seals raised', async (row, t) => {
    const db = t.vault.store.db;
    await db.updateTable('audit_events').set({ seal: null }).execute();
    await db.insertInto('key_values').values({ key: 'audit.unsealed_through_id', value: '999999999' }).execute();
    return { ...row, seal: null };
  }],
  ["a genuine event's seal on a changed event", (row) => ({ ...row, action: 'document.delete', reason: 'own_team' })],
  ['an event row with a made-up seal', (row) => ({ ...row, seal: 'A'.repeat(43) })],
  // It cannot even be read as an event: the sequencer must stop on it as on any other forgery, not fail unseen.
  ['a genuine seal on a row whose target ids are not JSON', (row) => ({ ...row, target_ids: '{not json' })],
];

describe.each(DIALECTS)('audit events forged in the database on %s', (dialect) => {
  let t: TestVault;
  afterAll(async () => {
    await t?.close();
  });

  it.each(forgeries)('%s is never sequenced or signed; the alarm is raised and verify names it', async (_what, forge) => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = (await upload(t.app, user, org.collections.payroll!, 'pay.csv', 'a,b\n1,2\n')).json();
    expect((await api(t.app, user).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    await t.vault.audit.sequencer.flush();
    expect((await t.vault.audit.verification.verify(systemActor())).ok).toBe(true);

    const db = t.vault.store.db;
    const genuine = await db.selectFrom('audit_events').selectAll().where('action', '=', 'document.download').executeTakeFirstOrThrow();
    const { id: _id, ...rest } = genuine;
    const forged = await forge({ ...rest, seq: null, leaf_hash: null, time: new Date().toISOString(), request_id: 'forged-by-dba' }, t);
    await db.insertInto('audit_events').values(forged as never).execute();
    const sizeBefore = await t.vault.store.repos.audit.treeSize();

    await t.vault.audit.sequencer.flush();

    const stored = await db.selectFrom('audit_events').select(['seq']).where('request_id', '=', 'forged-by-dba').executeTakeFirstOrThrow();
    expect(stored.seq).toBeNull();
    expect(await t.vault.store.repos.audit.treeSize()).toBe(sizeBefore);
    expect((await t.vault.store.repos.audit.latestCheckpoint())!.treeSize).toBe(sizeBefore);
    expect(t.vault.audit.alarm.alarmRaised).toBe(true);
    const check = await t.vault.audit.verification.verify(systemActor());
    expect(check.ok).toBe(false);
    expect(check.ok ? '' : check.problem).toContain('written into the database directly');
    await t.close();
    t = undefined as unknown as TestVault;
  });

  /** A vault whose log holds an upload and a download, all sequenced and signed. */
  async function signedVault(): Promise<{ t: TestVault; signed: number }> {
    const v = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const doc = (await upload(v.app, user, org.collections.payroll!, 'pay.csv', 'a,b\n1,2\n')).json();
    expect((await api(v.app, user).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    await v.vault.audit.sequencer.flush();
    const signed = (await v.vault.store.repos.audit.latestCheckpoint())!.treeSize;
    expect(await v.vault.store.repos.audit.treeSize()).toBe(signed);
    return { t: v, signed };
  }

  // Doing the sequencer's work by hand: a forged event's leaf appended to the tree's nodes and its
  // size raised, all rows the database administrator can write. At the leaf's seq: the forged row
  // itself, no row, or a sealed copy of a genuine event (the seal does not cover the seq) for as long
  // as the signer looks, to be swapped for the forged event once signed, under the checkpoint.
  it.each(['the forged row', 'no row', 'a sealed copy of a genuine event'])('a forged leaf numbered into the tree by hand, with %s at its seq, is never signed; the alarm is raised and verify names it', async (atItsSeq) => {
    const made = await signedVault();
    t = made.t;
    const { signed: seq } = made;
    const repos = t.vault.store.repos;
    const db = t.vault.store.db;
    const genuine = await db.selectFrom('audit_events').selectAll().where('action', '=', 'document.download').executeTakeFirstOrThrow();
    const { id: _id, ...rest } = genuine;
    const forged = { ...rest, seq, seal: null, action: 'document.delete', reason: 'own_team', time: new Date().toISOString(), request_id: 'forged-by-dba' };
    const leaf = eventLeafHash(toAuditEvent(forged));
    const tree = await CompactRange.load(seq, subtreesOf(repos));
    await repos.audit.putNodes(tree.append(leaf).map(([level, index, hash]) => ({ level, index, hash })));
    await repos.audit.setTreeSize(seq + 1);
    if (atItsSeq === 'the forged row') await db.insertInto('audit_events').values({ ...forged, leaf_hash: leaf } as never).execute();
    if (atItsSeq === 'a sealed copy of a genuine event') await db.insertInto('audit_events').values({ ...rest, seq, leaf_hash: leaf } as never).execute();

    await t.vault.audit.sequencer.flush();

    expect((await repos.audit.latestCheckpoint())!.treeSize).toBe(seq);
    expect(t.vault.audit.alarm.alarmRaised).toBe(true);
    const check = await t.vault.audit.verification.verify(systemActor());
    expect(check).toMatchObject({ ok: false, firstBadSeq: seq });
    if (atItsSeq === 'the forged row') {
      expect(check.ok ? '' : check.problem).toBe(`Event ${seq} (document.delete) carries no valid seal: it was numbered and written into the tree in the database directly, not by Strongroom's sequencer.`);
    }
    await t.close();
    t = undefined as unknown as TestVault;
  });
});

// SQLite keeps text that does not read as a number as text in the integer seq column, and every such
// text sorts after the numbers: '0x0', '0x00', '0b0' … are distinct rows that Number() reads as 0.
// Paging by Number(seq) met them again and again, and the signer's loop held the whole process.
describe('audit event rows given text for a seq on sqlite', () => {
  it('stop the signer with the alarm, and verify names them, instead of holding the process', async () => {
    const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath });
    try {
      const org = await createOrganisation(t.vault);
      const user = await org.user({ teams: ['payroll'] });
      await upload(t.app, user, org.collections.payroll!, 'pay.csv', 'a,b\n1,2\n');
      await t.vault.audit.sequencer.flush();
      const db = t.vault.store.db;
      const signed = (await t.vault.store.repos.audit.latestCheckpoint())!.treeSize;
      const template = await db.selectFrom('audit_events').selectAll().where('seq', '=', 0).executeTakeFirstOrThrow();
      const { id: _id, ...rest } = template;
      // More than one page (5,000 rows) of them, so a page ends on one.
      const rows = ['0x', '0X', '0b', '0B', '0o', '0O'].flatMap((prefix) => Array.from({ length: 840 }, (_, k) => ({ ...rest, seq: `${prefix}${'0'.repeat(k + 1)}` })));
      for (let i = 0; i < rows.length; i += 200) await db.insertInto('audit_events').values(rows.slice(i, i + 200) as never).execute();
      await upload(t.app, user, org.collections.payroll!, 'more.csv', 'a,b\n3,4\n');

      await t.vault.audit.sequencer.flush();

      expect(t.vault.audit.alarm.alarmRaised).toBe(true);
      expect((await t.vault.store.repos.audit.latestCheckpoint())!.treeSize).toBe(signed);
      const check = await t.vault.audit.verification.verify(systemActor());
      expect(check.ok).toBe(false);
      expect(check.ok ? '' : check.problem).toMatch(/^The audit event row \d+ holds a seq that is not a number \("0[xXbBoO]0+"\): it was written into the database directly, not by Strongroom\.$/);
      // Nor are they shown as events.
      expect((await t.vault.store.repos.audit.query({ organisationId: org.id, limit: 10_000 })).every((e) => Number.isSafeInteger(e.seq) && e.seq < 100)).toBe(true);
    } finally {
      await t.close();
    }
  }, 60_000);
});
