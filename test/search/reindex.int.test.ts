// `strongroom search reindex`: versions stored before search existed (text pending, no index rows) or whose
// extraction failed in an outage are queued for extraction once, per organisation or all, and found after
// the worker runs; done, superseded and already-queued versions are not queued again; one audit event a run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractTextJob } from '../../src/domain/jobs/kinds.js';
import { systemActor, actorFor } from '../../src/services/identity.service.js';
import { api } from '../support/http.js';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';
import { canaryWord, drainJobs, foundIds } from './support.js';

const clamd = useClamd();

/** Makes a version look as if it was stored before search existed (or its extraction failed): no index rows. */
async function forgetText(t: TestVault, documentId: string, status: 'pending' | 'failed', versionId?: string): Promise<void> {
  const id = versionId ?? (await t.vault.store.repos.documents.byId(documentId))!.currentVersionId;
  await t.vault.store.repos.search.removeVersions([id]);
  await t.vault.store.repos.documents.setTextState(id, { status, reason: status === 'failed' ? 'OCR failed: tesseract is not installed' : null });
}

async function queuedExtractions(t: TestVault): Promise<string[]> {
  const rows = await t.vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', extractTextJob.kind).where('status', '=', 'queued').execute();
  return rows.map((r) => (JSON.parse(r.payload) as { versionId: string }).versionId).sort();
}

describe('strongroom search reindex', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  // Four CLI processes and two vault openings: minutes on a loaded 2-core machine.
  it('queues pending versions (failed ones too with --failed), per organisation or all, once each; audited; found after extraction', { timeout: 300_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-reindex-cli-'));
    dirs.push(dataDir);
    const [pendingWord, failedWord, otherWord, doneWord, oldWord, newWord] = [canaryWord(), canaryWord(), canaryWord(), canaryWord(), canaryWord(), canaryWord()];
    let t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir });
    const north = await createOrganisation(t.vault);
    const south = await createOrganisation(t.vault);
    const northUser = await north.user({ teams: ['finance'] });
    const southUser = await south.user({ teams: ['finance'] });
    const up = async (user: typeof northUser, org: typeof north, name: string, text: string) =>
      (await upload(t.app, user, org.collections.finance!, name, text)).json().id as string;
    const pendingDoc = await up(northUser, north, 'legacy.txt', `Legacy letter ${pendingWord}\n`);
    const failedDoc = await up(northUser, north, 'scan.txt', `Outage letter ${failedWord}\n`);
    const doneDoc = await up(northUser, north, 'done.txt', `Indexed letter ${doneWord}\n`);
    const revisedDoc = await up(northUser, north, 'revised.txt', `First draft ${oldWord}\n`);
    const otherDoc = await up(southUser, south, 'other.txt', `Southern letter ${otherWord}\n`);
    await drainJobs(t.vault);
    const oldVersion = (await t.vault.store.repos.documents.byId(revisedDoc))!.currentVersionId;
    expect((await api(t.app, northUser).put(`documents/${revisedDoc}/content`, `Final text ${newWord}\n`)).statusCode).toBe(200);
    await drainJobs(t.vault);
    await forgetText(t, pendingDoc, 'pending');
    await forgetText(t, failedDoc, 'failed');
    await forgetText(t, otherDoc, 'pending');
    // A superseded version is never extracted, whatever its status says.
    await t.vault.store.repos.documents.setTextState(oldVersion, { status: 'pending', reason: null });
    expect(await foundIds(t.app, northUser, pendingWord)).toEqual([]);
    const versionOf = async (id: string) => (await t.vault.store.repos.documents.byId(id))!.currentVersionId;
    const [pendingVersion, failedVersion, otherVersion] = [await versionOf(pendingDoc), await versionOf(failedDoc), await versionOf(otherDoc)];
    await t.close();

    const env = { STRONGROOM_CLAMD: clamd.socketPath };
    const northOnly = await runCli(['--data', dataDir, 'search', 'reindex', '--org', north.slug], { env });
    expect(northOnly.code, northOnly.stderr).toBe(0);
    expect(northOnly.stdout).toBe('1\n');
    expect(northOnly.stderr).toContain('1 version(s) queued for text extraction.');

    const again = await runCli(['--data', dataDir, 'search', 'reindex', '--org', north.slug], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('0\n');
    expect(again.stderr).toContain('0 version(s) queued for text extraction; 1 already queued.');

    const withFailed = await runCli(['--data', dataDir, 'search', 'reindex', '--failed'], { env });
    expect(withFailed.code, withFailed.stderr).toBe(0);
    expect(withFailed.stdout).toBe('2\n');
    expect(withFailed.stderr).toContain('2 version(s) queued for text extraction; 1 already queued.');

    const unknown = await runCli(['--data', dataDir, 'search', 'reindex', '--org', 'no-such-council'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('strongroom: No organisation has the slug "no-such-council"; "strongroom org list" shows them.\n');

    t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir });
    try {
      expect(await queuedExtractions(t)).toEqual([pendingVersion, failedVersion, otherVersion].sort());
      const events = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'search.reindex').orderBy('seq').execute();
      expect(events.map((e) => ({ org: e.target_organisation_id, actor: e.actor_user_id, channel: e.channel, decision: e.decision, ids: JSON.parse(String(e.target_ids)) as unknown }))).toEqual([
        { org: north.id, actor: null, channel: 'cli', decision: 'allow', ids: { statuses: 'pending', queued: '1', alreadyQueued: '0' } },
        { org: north.id, actor: null, channel: 'cli', decision: 'allow', ids: { statuses: 'pending', queued: '0', alreadyQueued: '1' } },
        { org: null, actor: null, channel: 'cli', decision: 'allow', ids: { statuses: 'pending,failed', queued: '2', alreadyQueued: '1' } },
      ]);

      await drainJobs(t.vault);
      expect(await foundIds(t.app, northUser, pendingWord)).toEqual([pendingDoc]);
      expect(await foundIds(t.app, northUser, failedWord)).toEqual([failedDoc]);
      expect(await foundIds(t.app, southUser, otherWord)).toEqual([otherDoc]);
      expect(await foundIds(t.app, northUser, doneWord)).toEqual([doneDoc]);
      expect(await foundIds(t.app, northUser, newWord)).toEqual([revisedDoc]);
      expect(await foundIds(t.app, northUser, oldWord)).toEqual([]);
      expect((await t.vault.store.repos.documents.textState(failedVersion))).toMatchObject({ status: 'done', reason: null });
      expect((await t.vault.store.repos.documents.textState(oldVersion))?.status).toBe('pending');
    } finally {
      await t.close();
    }
  });

  it('on PostgreSQL: queues in batches through the service, and refuses a person', { timeout: 180_000 }, async () => {
    const t = await openTestVault({ dialect: 'postgres', clamdSocket: clamd.socketPath });
    try {
      const org = await createOrganisation(t.vault);
      const admin = await org.user({ roles: ['org_admin'], teams: ['finance'] });
      const words = [canaryWord(), canaryWord(), canaryWord()];
      const ids: string[] = [];
      for (const [i, word] of words.entries()) ids.push((await upload(t.app, admin, org.collections.finance!, `old-${i}.txt`, `Old file ${word}\n`)).json().id as string);
      await drainJobs(t.vault);
      for (const id of ids) await forgetText(t, id, 'pending');
      expect(await foundIds(t.app, admin, words[0]!)).toEqual([]);

      const refused = t.vault.search.reindex(actorFor(await t.vault.identity.userByEmail(admin.email), { channel: 'api', clientAddress: null, requestId: null }), { organisationSlug: org.slug });
      await expect(refused).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(await queuedExtractions(t)).toEqual([]);

      expect(await t.vault.search.reindex(systemActor(), { organisationSlug: org.slug, batchSize: 2 })).toEqual({ queued: 3, alreadyQueued: 0 });
      expect((await queuedExtractions(t))).toHaveLength(3);
      await drainJobs(t.vault);
      for (const [i, word] of words.entries()) expect(await foundIds(t.app, admin, word)).toEqual([ids[i]]);
      expect(await t.vault.search.reindex(systemActor(), { organisationSlug: org.slug, batchSize: 2 })).toEqual({ queued: 0, alreadyQueued: 0 });
    } finally {
      await t.close();
    }
  });
});
