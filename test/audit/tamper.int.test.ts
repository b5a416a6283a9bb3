// Tampering with the audit log directly in the database: an altered, deleted, inserted or
// reordered event makes verify() fail at that event's seq; `strongroom audit verify` exits 1; and
// the councils' integrity page is never kept green by a verification result written beside it.
import { rm } from 'node:fs/promises';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { eventLeafHash } from '../../src/domain/audit/event.js';
import { toAuditEvent } from '../../src/db/repos/audit.repo.js';
import { actorFor, systemActor } from '../../src/services/identity.service.js';
import { api } from '../support/http.js';
import { runCli } from '../support/cli.js';
import { markClosed } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();

/** A vault with some uploads, downloads and a refusal, all sequenced and signed. */
async function busyVault(dialect: 'sqlite' | 'postgres'): Promise<TestVault> {
  const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
  const org = await createOrganisation(t.vault);
  const user = await org.user({ teams: ['payroll'] });
  const stranger = await (await createOrganisation(t.vault)).user({ teams: ['payroll'] });
  for (let i = 0; i < 4; i++) {
    const doc = (await upload(t.app, user, org.collections.payroll!, `file-${i}.csv`, `a,b\n${i},x\n`)).json();
    expect((await api(t.app, user).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
    expect((await api(t.app, stranger).get(`documents/${doc.id}`)).statusCode).toBe(404);
  }
  await t.vault.audit.sequencer.flush();
  const check = await t.vault.audit.verification.verify(systemActor());
  expect(check).toMatchObject({ ok: true, unsignedEvents: 0 });
  return t;
}

async function seqOf(t: TestVault, action: string, nth = 0): Promise<number> {
  const rows = await t.vault.store.db.selectFrom('audit_events').select(['seq']).where('action', '=', action).where('seq', 'is not', null).orderBy('seq').execute();
  expect(rows.length).toBeGreaterThan(nth);
  return Number(rows[nth]!.seq);
}

const tampering: [string, (t: TestVault) => Promise<number>][] = [
  ['an event whose action was changed', async (t) => {
    const seq = await seqOf(t, 'document.download', 1);
    await t.vault.store.db.updateTable('audit_events').set({ action: 'document.read' }).where('seq', '=', seq).execute();
    return seq;
  }],
  ['a deleted event', async (t) => {
    const seq = await seqOf(t, 'document.download', 2);
    await t.vault.store.db.deleteFrom('audit_events').where('seq', '=', seq).execute();
    return seq;
  }],
  ['an inserted event (later ones shifted up to make room)', async (t) => {
    const db = t.vault.store.db;
    const seq = await seqOf(t, 'document.download', 1);
    const original = await db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
    const later = await db.selectFrom('audit_events').select(['id', 'seq']).where('seq', '>=', seq).orderBy('seq', 'desc').execute();
    for (const row of later) await db.updateTable('audit_events').set({ seq: Number(row.seq) + 1 }).where('id', '=', row.id).execute();
    // A plausible forgery: an event by the same user, with the leaf hash of the event it displaced.
    const { id: _id, ...rest } = original;
    await db.insertInto('audit_events').values({ ...rest, seq, action: 'document.delete', reason: 'own_team' }).execute();
    return seq;
  }],
  ['two events whose seqs were swapped', async (t) => {
    const db = t.vault.store.db;
    const low = await seqOf(t, 'document.upload', 2);
    const high = await seqOf(t, 'document.download', 2);
    expect(low).toBeLessThan(high);
    const a = await db.selectFrom('audit_events').select('id').where('seq', '=', low).executeTakeFirstOrThrow();
    const b = await db.selectFrom('audit_events').select('id').where('seq', '=', high).executeTakeFirstOrThrow();
    await db.updateTable('audit_events').set({ seq: -1 }).where('id', '=', a.id).execute();
    await db.updateTable('audit_events').set({ seq: low }).where('id', '=', b.id).execute();
    await db.updateTable('audit_events').set({ seq: high }).where('id', '=', a.id).execute();
    return low;
  }],
  // The document id a row is filed under is a column beside the event: the document's history is read by it.
  ['a download taken out of its document\'s history (its row refiled under no document)', async (t) => {
    const seq = await seqOf(t, 'document.download', 1);
    await t.vault.store.db.updateTable('audit_events').set({ document_id: null }).where('seq', '=', seq).execute();
    return seq;
  }],
  ['a download moved into another document\'s history', async (t) => {
    const [first, second] = [await seqOf(t, 'document.download', 0), await seqOf(t, 'document.download', 2)];
    const other = await t.vault.store.db.selectFrom('audit_events').select('document_id').where('seq', '=', first).executeTakeFirstOrThrow();
    await t.vault.store.db.updateTable('audit_events').set({ document_id: other.document_id }).where('seq', '=', second).execute();
    return second;
  }],
  // A seq below the tree: never read as part of it, yet shown in histories and searches, and able to
  // vouch for a row elsewhere. Verify reads every row that has a seq.
  ['a made-up event given a negative seq', async (t) => {
    const db = t.vault.store.db;
    const template = await db.selectFrom('audit_events').selectAll().where('action', '=', 'document.download').orderBy('seq').executeTakeFirstOrThrow();
    const { id: _id, ...rest } = template;
    await db.insertInto('audit_events').values({ ...rest, seq: -1, leaf_hash: null, seal: null, action: 'document.delete', request_id: 'forged-negative' }).execute();
    // Nor is it shown meanwhile: not in the document's history, the organisation's search or its export.
    const repos = t.vault.store.repos;
    const shown = [
      ...(await repos.audit.forDocument(template.document_id!, 100)),
      ...(await repos.audit.query({ organisationId: template.target_organisation_id!, limit: 1000 })),
      ...(await repos.audit.forOrganisation(template.target_organisation_id!)),
    ];
    expect(shown.length).toBeGreaterThan(2);
    expect(shown.filter((e) => e.requestId === 'forged-negative')).toEqual([]);
    return 0;
  }],
  ['an event whose target ids were made into text that is not JSON', async (t) => {
    const seq = await seqOf(t, 'document.download', 1);
    await t.vault.store.db.updateTable('audit_events').set({ target_ids: '{not json' }).where('seq', '=', seq).execute();
    return seq;
  }],
  ['a well-formed event appended past the sequenced tree, with a correct leaf hash', async (t) => {
    const db = t.vault.store.db;
    const size = Number((await db.selectFrom('audit_events').select(sql<number>`max(seq)`.as('m')).executeTakeFirstOrThrow()).m) + 1;
    const template = await db.selectFrom('audit_events').selectAll().where('action', '=', 'document.download').orderBy('seq').executeTakeFirstOrThrow();
    const { id: _id, ...rest } = template;
    const forged = { ...rest, seq: size, action: 'document.delete', time: new Date().toISOString() };
    await db.insertInto('audit_events').values({ ...forged, leaf_hash: eventLeafHash(toAuditEvent(forged)) }).execute();
    return size;
  }],
];

describe.each(DIALECTS)('audit log tampering on %s', (dialect) => {
  it.each(tampering)('verify() fails at the seq of %s', async (_what, tamper) => {
    const t = await busyVault(dialect);
    try {
      const seq = await tamper(t);
      const result = await t.vault.audit.verification.verify(systemActor());
      expect(result.ok, JSON.stringify(result)).toBe(false);
      expect(result).toMatchObject({ ok: false, firstBadSeq: seq });
    } finally {
      await t.close();
    }
  });
});

describe('strongroom audit verify on a tampered SQLite data directory', () => {
  it('exits 1 and names the altered seq', async () => {
    const t = await busyVault('sqlite');
    const offsiteDir = t.vault.config.offsiteDir;
    markClosed(t, async () => {
      await rm(t.dataDir, { recursive: true, force: true });
      await rm(offsiteDir, { recursive: true, force: true });
    });
    try {
      const env = { STRONGROOM_CLAMD: clamd.socketPath };
      // Untouched, the command line agrees the log is sound.
      await t.app.close();
      await t.vault.close();
      const clean = await runCli(['--data', t.dataDir, 'audit', 'verify'], { env });
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stderr).toMatch(/verified/);

      const { openVaultAt, closeKeepingData } = await import('../support/vault-dir.js');
      const v = await openVaultAt(t.dataDir, clamd.socketPath);
      const rows = await v.vault.store.db.selectFrom('audit_events').select(['seq']).where('action', '=', 'document.download').orderBy('seq').execute();
      const seq = Number(rows[1]!.seq);
      await v.vault.store.db.updateTable('audit_events').set({ reason: 'records_manager' }).where('seq', '=', seq).execute();
      await closeKeepingData(v);

      const tampered = await runCli(['--data', t.dataDir, 'audit', 'verify'], { env });
      expect(tampered.code, tampered.stderr).toBe(1);
      expect(tampered.stderr).toContain(`sequence number ${seq}:`);
    } finally {
      await t.close();
    }
  });
});

// With the unique constraint on seq dropped (DDL, which whoever administers PostgreSQL can run), a
// second row can share a seq. Paged by seq alone, the one after a page's last row was skipped, so
// verify never read a forged copy that histories and searches showed. Paged by (seq, id), every row
// is read, and verify names the seq that appears again. (SQLite can drop it only by rebuilding the table.)
describe('a second row with the seq a page ends on, on postgres', () => {
  it('is read by sequenced(), and verify names the seq', async () => {
    const t = await busyVault('postgres');
    try {
      const db = t.vault.store.db;
      await sql`alter table audit_events drop constraint audit_events_seq_key`.execute(db);
      const seq = await seqOf(t, 'document.download', 1);
      const template = await db.selectFrom('audit_events').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
      const { id: _id, ...rest } = template;
      await db.insertInto('audit_events').values({ ...rest, seal: null, action: 'document.delete', request_id: 'forged-duplicate' }).execute();
      // Pages of (seq + 1) rows end exactly on the duplicated seq.
      const read: string[] = [];
      for await (const row of t.vault.store.repos.audit.sequenced({ pageSize: seq + 1 })) read.push(`${row.event.seq}:${row.event.requestId ?? ''}`);
      expect(read.filter((r) => r.startsWith(`${seq}:`))).toHaveLength(2);
      expect(read.filter((r) => r.endsWith(':forged-duplicate'))).toHaveLength(1);
      const result = await t.vault.audit.verification.verify(systemActor());
      expect(result).toMatchObject({ ok: false, firstBadSeq: seq });
    } finally {
      await t.close();
    }
  });
});

// The councils' "Verify the audit log" page is served the last stored verification result while it is
// under INTEGRITY_REUSE_SECONDS old. That row is in the database, so one a database administrator writes
// beside rewritten history must never be shown: only a result signed with the log's key, over exactly
// what it claims, is reused; anything else is recomputed, and the recomputation is what the page shows.
describe.each(DIALECTS)('the integrity page after history was rewritten on %s', (dialect) => {
  const INTEGRITY_KEY = 'audit.last_verification';

  /** A busy vault, one council's auditor as the page's actor, and a first (honest) visit that stores a result. */
  async function setting() {
    const t = await busyVault(dialect);
    const org = await createOrganisation(t.vault);
    const auditorUser = await org.user({ roles: ['auditor'] });
    const auditor = actorFor((await t.vault.identity.userById(auditorUser.id))!, { channel: 'web', clientAddress: null, requestId: null });
    const honest = await t.vault.audit.verification.integrity(auditor);
    expect(honest).toMatchObject({ ok: true });
    // The DBA rewrites a signed event (an upload becomes a refusal).
    const victim = await seqOf(t, 'document.upload');
    await t.vault.store.db.updateTable('audit_events').set({ decision: 'deny', reason: 'not_in_team' }).where('seq', '=', victim).execute();
    return { t, auditor, honest };
  }

  const notVerified = { ok: false, treeSize: null, checkpoints: null, unsignedEvents: null, offsite: 'mismatch' };

  it('a result written in the database saying the log verified is not shown: the page recomputes and says it did not', async () => {
    const { t, auditor, honest } = await setting();
    try {
      await t.vault.store.repos.settings.set(INTEGRITY_KEY, JSON.stringify({ ...honest, ok: true, checkedAt: new Date().toISOString() }));
      expect(await t.vault.audit.verification.integrity(auditor)).toMatchObject(notVerified);
      expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: false });
    } finally {
      await t.close();
    }
  });

  it('the genuine signed result kept fresh by changing its date (or any other claim) is not shown either', async () => {
    const { t, auditor } = await setting();
    try {
      const genuine = JSON.parse((await t.vault.store.repos.settings.get(INTEGRITY_KEY))!) as Record<string, unknown>;
      expect(typeof genuine.signature).toBe('string');
      await t.vault.store.repos.settings.set(INTEGRITY_KEY, JSON.stringify({ ...genuine, checkedAt: new Date().toISOString() }));
      expect(await t.vault.audit.verification.integrity(auditor)).toMatchObject(notVerified);
      // The result stored by that recomputation is signed, and says the log did not verify.
      const stored = JSON.parse((await t.vault.store.repos.settings.get(INTEGRITY_KEY))!) as Record<string, unknown>;
      expect(stored).toMatchObject({ ...notVerified, signature: expect.any(String) as string });
    } finally {
      await t.close();
    }
  });
});
