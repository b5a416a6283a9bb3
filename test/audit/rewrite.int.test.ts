// Rewriting history through the database (issue #10 item 13): whoever can write the database
// deletes an event, resets the sequencing columns so the sequencer re-integrates the rest, and
// grows the log past the newest offsite checkpoint. The signer must refuse to sign the result,
// raise the alarm (metric, admin pages, readiness body, log), and `audit verify` must fail.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { signCheckpoint } from '../../src/domain/audit/signed-note.js';
import { systemActor } from '../../src/services/identity.service.js';
import { api } from '../support/http.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient } from '../ui/support.js';

const clamd = useClamd();

// Only flush() signs, so the checkpoint sizes are exactly those the test chooses.
const ONLY_ON_FLUSH = { STRONGROOM_AUDIT_CHECKPOINT_SECONDS: '86400', STRONGROOM_AUDIT_CHECKPOINT_EVENTS: '1000000' };
const noteName = (size: number) => `${String(size).padStart(12, '0')}.note`;

async function offsiteNotes(t: TestVault): Promise<string[]> {
  return (await readdir(path.join(t.vault.config.offsiteDir, 'audit-checkpoints'))).filter((n) => n.endsWith('.note')).sort();
}

async function work(t: TestVault, org: TestOrganisation, user: TestUser, files: number): Promise<void> {
  for (let i = 0; i < files; i++) {
    const doc = (await upload(t.app, user, org.collections.payroll!, `r-${Date.now()}-${i}.csv`, `a,b\n${i},y\n`)).json();
    expect((await api(t.app, user).get(`documents/${doc.id}/content`)).statusCode).toBe(200);
  }
}

/** What a database administrator does: drop one event and have the sequencer number the rest again. */
async function deleteEventAndResequence(t: TestVault, seq: number): Promise<void> {
  const db = t.vault.store.db;
  await db.deleteFrom('audit_events').where('seq', '=', seq).execute();
  await db.updateTable('audit_events').set({ seq: null, leaf_hash: null }).execute();
  await db.deleteFrom('audit_tree_nodes').execute();
  await db.updateTable('key_values').set({ value: '0' }).where('key', '=', 'audit.tree_size').execute();
  await db.deleteFrom('audit_checkpoints').execute();
}

describe.each(DIALECTS)('rewriting audit history through the database on %s', (dialect) => {
  it('is never signed: the alarm is raised and audit verify names the offsite checkpoint it contradicts', async () => {
    const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, env: ONLY_ON_FLUSH });
    try {
      const org = await createOrganisation(t.vault);
      const user = await org.user({ teams: ['payroll'] });
      const auditor = await org.user({ roles: ['auditor'] });
      await work(t, org, user, 2);
      await t.vault.audit.sequencer.flush();
      const first = await t.vault.store.repos.audit.treeSize();
      await work(t, org, user, 2);
      await t.vault.audit.sequencer.flush();
      const second = await t.vault.store.repos.audit.treeSize();
      expect(second).toBeGreaterThan(first);
      const notesBefore = await offsiteNotes(t);
      expect(notesBefore.slice(-2)).toEqual([noteName(first), noteName(second)]);

      const victim = await t.vault.store.db.selectFrom('audit_events').select('seq').where('action', '=', 'document.download')
        .where('seq', '>=', first).where('seq', '<', second).orderBy('seq').executeTakeFirstOrThrow();
      await deleteEventAndResequence(t, Number(victim.seq));
      // Grow the rewritten log past the newest offsite checkpoint, then let the sequencer run.
      await work(t, org, user, 3);
      await t.vault.audit.sequencer.flush();
      const rewritten = await t.vault.store.repos.audit.treeSize();
      expect(rewritten).toBeGreaterThan(second);

      // Nothing was signed: no checkpoint in the database, none offsite.
      expect(await t.vault.store.db.selectFrom('audit_checkpoints').select('tree_size').execute()).toEqual([]);
      expect(await offsiteNotes(t)).toEqual(notesBefore);

      expect(t.vault.audit.alarm.alarmRaised).toBe(true);
      const alarm = await t.vault.audit.alarm.integrityAlarm(systemActor());
      expect(alarm).toMatchObject({ source: 'signer' });
      expect(alarm?.problem).toContain(noteName(second));

      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/^strongroom_audit_integrity_alarm 1$/m);
      // Reads and writes carry on (events are still recorded); readiness says why signing stopped.
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', audit: 'alarm' } });

      const address = t.app.server.address();
      const client = new FormClient(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
      await client.signIn(auditor.email);
      for (const page of ['/audit', '/audit/verify']) {
        const res = await client.get(page);
        expect(res.status, page).toBe(200);
        expect(res.text, page).toContain('Signing of the audit log has stopped');
      }
      // Those decide() does not let see the log's checkpoints are not told either.
      const bystander = new FormClient(client.base);
      await bystander.signIn(user.email);
      for (const page of ['/audit', '/audit/verify']) {
        const res = await bystander.get(page);
        expect(res.status, page).toBe(404);
        expect(res.text, page).not.toContain('Signing of the audit log has stopped');
      }

      const result = await t.vault.audit.verification.verify(systemActor());
      expect(result, JSON.stringify(result)).toMatchObject({ ok: false, firstBadSeq: first, offsite: 'mismatch' });
      expect(result.ok === false && result.problem).toContain(noteName(second));

      // The operator's command line agrees, and signs nothing either.
      const cli = await runCli(['--data', t.dataDir, 'audit', 'verify'], {
        env: { STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_DATABASE_URL: t.vault.config.databaseUrl },
      });
      expect(cli.code, cli.stderr).toBe(1);
      expect(cli.stderr).toContain(`sequence number ${first}:`);
      expect(cli.stderr).toContain(noteName(second));
      expect(await offsiteNotes(t)).toEqual(notesBefore);
    } finally {
      await t.close();
    }
  });

  it('names an offsite checkpoint signed for another history, and signs nothing after', async () => {
    const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: ONLY_ON_FLUSH });
    try {
      const org = await createOrganisation(t.vault);
      const user = await org.user({ teams: ['payroll'] });
      await work(t, org, user, 1);
      await t.vault.audit.sequencer.flush();
      const first = await t.vault.store.repos.audit.treeSize();
      await work(t, org, user, 2);
      await t.vault.audit.sequencer.flush();
      // What a key holder (or the old, unchecked signer) leaves behind: a valid signature over a root of another history.
      const forkedAt = first + 1;
      const signerKey = (await readFile(path.join(t.dataDir, 'keys', 'audit-signing.key'), 'utf8')).trim();
      const forged = signCheckpoint({ origin: t.vault.config.auditOrigin, treeSize: forkedAt, rootHash: Buffer.alloc(32, 7) }, signerKey);
      await writeFile(path.join(t.vault.config.offsiteDir, 'audit-checkpoints', noteName(forkedAt)), forged);
      const notes = await offsiteNotes(t);

      const result = await t.vault.audit.verification.verify(systemActor());
      expect(result, JSON.stringify(result)).toMatchObject({ ok: false, firstBadSeq: first, offsite: 'mismatch' });
      expect(result.ok === false && result.problem).toContain(`offsite checkpoint ${noteName(forkedAt)}`);
      expect(await t.vault.audit.alarm.integrityAlarm(systemActor())).toMatchObject({ source: 'verify' });

      const signed = (await t.vault.store.repos.audit.latestCheckpoint())?.treeSize;
      await work(t, org, user, 1);
      await t.vault.audit.sequencer.flush();
      expect((await t.vault.store.repos.audit.latestCheckpoint())?.treeSize).toBe(signed);
      expect(await offsiteNotes(t)).toEqual(notes);
    } finally {
      await t.close();
    }
  });

  it('raises the alarm, without failing searches, when the stored tree loses a node the sequencer needs', async () => {
    const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: ONLY_ON_FLUSH });
    try {
      const org = await createOrganisation(t.vault);
      const user = await org.user({ teams: ['payroll'] });
      const auditor = await org.user({ roles: ['auditor'] });
      await work(t, org, user, 2);
      await t.vault.audit.sequencer.flush();
      const notes = await offsiteNotes(t);
      await t.vault.store.db.deleteFrom('audit_tree_nodes').execute();
      await work(t, org, user, 1);
      expect((await api(t.app, auditor).get('audit/events')).statusCode).toBe(200);
      await t.vault.audit.sequencer.flush();
      expect(await t.vault.audit.alarm.integrityAlarm(systemActor())).toMatchObject({ source: 'signer' });
      expect(await offsiteNotes(t)).toEqual(notes);
    } finally {
      await t.close();
    }
  });

  it('keeps signing an honest log, and remembers what it signed beside its key', async () => {
    const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, env: ONLY_ON_FLUSH });
    try {
      const org = await createOrganisation(t.vault);
      const user = await org.user({ teams: ['payroll'] });
      for (let round = 0; round < 3; round++) {
        await work(t, org, user, 1);
        await t.vault.audit.sequencer.flush();
        const size = await t.vault.store.repos.audit.treeSize();
        expect((await offsiteNotes(t)).at(-1)).toBe(noteName(size));
        const remembered = await readFile(path.join(t.dataDir, 'keys', 'audit-last-checkpoint.note'), 'utf8');
        expect(remembered).toBe((await t.vault.store.repos.audit.latestCheckpoint())?.note);
        expect(await readFile(path.join(t.vault.config.offsiteDir, 'audit-newest-checkpoint.note'), 'utf8')).toBe(remembered);
      }
      expect(t.vault.audit.alarm.alarmRaised).toBe(false);
      expect(await t.vault.audit.verification.verify(systemActor())).toMatchObject({ ok: true, offsite: 'matched', unsignedEvents: 0 });
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/^strongroom_audit_integrity_alarm 0$/m);
    } finally {
      await t.close();
    }
  });
});
