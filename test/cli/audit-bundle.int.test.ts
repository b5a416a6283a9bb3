// Offline audit bundles: `strongroom audit export` writes an organisation's events with proofs;
// `strongroom audit check` verifies it with only the file and the public key (no data directory),
// including consistency with a checkpoint an auditor saved earlier; one flipped byte fails it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('audit bundle export and offline check on %s', (dialect) => {
  let place: SharedVaultPlace;
  let dataDir: string;
  let work: string;
  let empty: string;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-bundle-');
    dataDir = place.dataDir;
    work = await mkdtemp(path.join(tmpdir(), 'sr-bundle-out-'));
    empty = await mkdtemp(path.join(tmpdir(), 'sr-bundle-cwd-'));
  });
  afterAll(async () => {
    await place?.remove();
    for (const d of [work, empty]) if (d) await rm(d, { recursive: true, force: true });
  });

  it('verifies offline, proves growth since a saved checkpoint, and fails on one flipped byte', { timeout: 180_000 }, async () => {
    const v = await place.open();
    const org = await createOrganisation(v.vault);
    const user = await org.user({ teams: ['payroll'] });
    const auditor = await org.user({ roles: ['auditor'] });
    const first = (await upload(v.app, user, org.collections.payroll!, 'one.csv', 'a\n')).json();
    await v.vault.audit.sequencer.flush();
    // The auditor keeps the checkpoint as it stands today.
    const saved = await api(v.app, auditor).get('audit/checkpoints/latest', { accept: 'text/plain' });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.headers['content-type']).toMatch(/^text\/plain/);
    const savedSize = Number(saved.body.split('\n')[1]);
    expect(savedSize).toBeGreaterThan(0);
    await writeFile(path.join(work, 'saved.note'), saved.body);
    // Later activity.
    await upload(v.app, user, org.collections.payroll!, 'two.csv', 'b\n');
    expect((await api(v.app, user).get(`documents/${first.id}/content`)).statusCode).toBe(200);
    await v.vault.audit.sequencer.flush();
    const key = (await v.app.inject({ method: 'GET', url: '/.well-known/strongroom-audit-key' })).body.trim();
    await closeKeepingData(v);

    const env = place.env;
    const bundleFile = path.join(work, 'bundle.json');
    const exported = await runCli(['--data', dataDir, 'audit', 'export', '--org', org.slug, '--out', bundleFile, '--since-size', String(savedSize)], { env });
    expect(exported.code, exported.stderr).toBe(0);
    const bundleText = await readFile(bundleFile, 'utf8');
    const bundle = JSON.parse(bundleText) as { events: { event: { action: string } }[] };
    expect(bundle.events.map((e) => e.event.action)).toEqual(expect.arrayContaining(['document.upload', 'document.download']));

    // Offline: empty working directory, no --data, and STRONGROOM_DATA pointing nowhere.
    const offline = { STRONGROOM_DATA: path.join(empty, 'does-not-exist'), STRONGROOM_CLAMD: undefined };
    const check = (file: string, extra: string[] = []) => runCli(['audit', 'check', file, '--key', key, ...extra], { cwd: empty, env: offline });
    const good = await check(bundleFile);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stderr).toMatch(/Bundle verified/);
    const since = await check(bundleFile, ['--since', path.join(work, 'saved.note')]);
    expect(since.code, since.stderr).toBe(0);
    expect(since.stderr).toMatch(/grew from your saved checkpoint/);
    // The key can also be given as a file.
    await writeFile(path.join(work, 'audit.pub'), `${key}\n`);
    expect((await runCli(['audit', 'check', bundleFile, '--key', path.join(work, 'audit.pub')], { cwd: empty, env: offline })).code).toBe(0);
    // Nothing was created where the command ran.
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(empty)).toEqual([]);

    // Flip one byte inside an event (keeping the JSON valid): "document.download" -> "document.downloae".
    const at = bundleText.indexOf('"document.download"');
    expect(at).toBeGreaterThan(0);
    const bytes = Buffer.from(bundleText, 'utf8');
    const offset = Buffer.byteLength(bundleText.slice(0, at), 'utf8') + '"document.download'.length - 1;
    expect(String.fromCharCode(bytes[offset]!)).toBe('d');
    bytes[offset] = bytes[offset]! ^ 0x01;
    const tamperedFile = path.join(work, 'tampered.json');
    await writeFile(tamperedFile, bytes);
    const bad = await check(tamperedFile);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stderr).toMatch(/FAILED/);
  });
});
