// `strongroom import` into a data directory, as a real process: killed (SIGKILL) part-way through
// 1,000 files, the same command run again completes with every file in exactly once (one document,
// one version, the file's own hash), and its report lists every file. A tree with EICAR, a symbolic
// link, a FIFO and hostile names is imported past its refusals, each reported, with exit status 1.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { runCli, seedWithCli, spawnCli } from '../support/cli.js';
import { readReport, sha256, smallTree, vaultTree } from '../support/import-tree.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { makeRealArchives } from '../support/real-archives.js';
import * as samples from '../support/samples.js';
import { DIALECTS } from '../support/vault.js';

const clamd = useClamd();
const FILES = 1000;

describe.each(DIALECTS)('strongroom import on %s', (dialect) => {
  let place: SharedVaultPlace;
  let work: string;
  let seeded: { collectionId: string; token: string; email: string };
  let env: Record<string, string>;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-import-');
    work = await mkdtemp(path.join(tmpdir(), 'sr-import-src-'));
    // The killed run's upload slots are leases that lapse only after a minute; room for a second run's four meanwhile.
    env = { ...place.env, STRONGROOM_UPLOADS_PER_ACCOUNT: '8' };
    seeded = await seedWithCli(place.dataDir, env, `import-${dialect}`);
  }, 300_000);
  afterAll(async () => {
    await place?.remove();
    await rm(work, { recursive: true, force: true });
  });

  /** The vault's view of the collection, read through the API of a vault opened on the same data directory. */
  async function documentsNow(collectionId: string) {
    const v = await place.open();
    try {
      return await vaultTree((url) => api(v.app, { token: seeded.token }).get(url).then((r) => ({ status: r.statusCode, json: () => r.json() as unknown })), collectionId);
    } finally {
      await closeKeepingData(v);
    }
  }

  it('killed part-way through 1,000 files, a re-run brings each file in exactly once and reports every file', { timeout: 240_000 }, async () => {
    const source = path.join(work, 'share');
    const hashes = await smallTree(source, FILES, 10);
    const modified = new Date('2019-04-01T08:30:00.000Z');
    await utimes(path.join(source, 'folder-03', 'note-00003.txt'), modified, modified);
    const firstReport = path.join(work, 'first.csv');
    const args = ['--data', place.dataDir, 'import', source, '--collection', seeded.collectionId, '--as', seeded.email, '--jobs', '4'];

    const first = spawnCli([...args, '--report', firstReport], { env });
    let said = '';
    first.stderr?.on('data', (d: Buffer) => (said += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => first.once('exit', (_code, signal) => resolve(signal)));
    // Killed once a fifth of the files are settled: mid-way through uploads, with more in flight.
    for (;;) {
      const rows = (await readFile(firstReport, 'utf8').catch(() => '')).split('\r\n').length - 2;
      if (rows >= FILES / 5) break;
      if (first.exitCode !== null) throw new Error(`the import ended before it could be killed: ${said}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    first.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const afterKill = await documentsNow(seeded.collectionId);
    expect(afterKill.size).toBeGreaterThanOrEqual(FILES / 5);
    expect(afterKill.size).toBeLessThan(FILES);

    const secondReport = path.join(work, 'second.csv');
    const second = await runCli([...args, '--report', secondReport], { env, timeoutMs: 200_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain(`Imported ${FILES - afterKill.size} file(s); 0 refused; ${afterKill.size} skipped (already there); 0 held for review; 0 failed.`);
    // Not a terminal: plain progress lines, never the in-place redraw.
    expect(second.stderr).not.toContain('\x1b[2K');

    const after = await documentsNow(seeded.collectionId);
    expect([...after.keys()].sort()).toEqual([...hashes.keys()].sort());
    for (const [rel, hash] of hashes) {
      const document = after.get(rel)!;
      expect(document.sha256, rel).toBe(hash);
      // One version: a file sent twice would be a second version (or a refused duplicate), never silently the same.
      expect(document.version, rel).toBe(1);
    }
    expect(after.get(path.join('folder-03', 'note-00003.txt'))!.sourceModifiedAt).toBe(modified.toISOString());

    const rows = await readReport(secondReport);
    expect(rows[0]).toEqual(['path', 'outcome', 'document_id', 'version', 'detail']);
    const byPath = new Map(rows.slice(1).map((r) => [path.relative(source, r[0]!), r]));
    expect(rows.length - 1).toBe(FILES);
    expect([...byPath.keys()].sort()).toEqual([...hashes.keys()].sort());
    for (const [rel, row] of byPath) {
      expect(row[2], rel).toBe(after.get(rel)!.id);
      if (afterKill.has(rel)) expect(row.slice(1), rel).toEqual(['skipped', afterKill.get(rel)!.id, '', 'already imported (same name and SHA-256)']);
      else expect(row.slice(1), rel).toEqual(['imported', after.get(rel)!.id, '1', '']);
    }
  });

  it('refuses EICAR, password-protected archives (a zip, a real 7z with hidden names), a link, a FIFO and names the vault does not allow, and goes on; exit 1, each in the report, formula-safe', { timeout: 120_000 }, async () => {
    const collection = await runCli(['--data', place.dataDir, 'collection', 'add', '--org', `import-${dialect}`, '--name', 'hostile', '--service', 'payroll', '--classification', 'OFFICIAL'], { env });
    expect(collection.code, collection.stderr).toBe(0);
    const collectionId = collection.stdout.trim();
    // A folder whose name a spreadsheet would run as a formula, given as a relative path: the report's path column starts with it.
    const source = path.join(work, 'hostile-src', '=1+2');
    await mkdir(path.join(source, 'nul'), { recursive: true });
    await writeFile(path.join(source, 'eicar.txt'), samples.eicar());
    await writeFile(path.join(source, 'payees.csv'), samples.csv());
    await writeFile(path.join(source, 'report, final.txt'), 'Final report.\n');
    await writeFile(path.join(source, 'aux.txt'), 'A device name on Windows.\n');
    // The organisation's file policy refuses archives nobody can look inside.
    await writeFile(path.join(source, 'protected.zip'), samples.zipOf([{ name: 'salaries.xlsx', data: samples.xlsx(), encrypted: true }]));
    // A real 7z with encrypted headers (-mhe=on), made by 7-Zip: its names are hidden too.
    await writeFile(path.join(source, 'hidden.7z'), makeRealArchives().encryptedHeaders);
    await writeFile(path.join(source, 'nul', 'inside.txt'), 'In a folder Windows cannot open.\n');
    await writeFile(path.join(work, 'outside.txt'), 'Outside the tree.\n');
    await symlink(path.join(work, 'outside.txt'), path.join(source, 'link.txt'));
    execFileSync('mkfifo', [path.join(source, 'pipe')]);
    const report = path.join(work, 'hostile.csv');

    const result = await runCli(['--data', place.dataDir, 'import', '=1+2', '--collection', collectionId, '--as', seeded.email, '--report', report],
      { env, cwd: path.join(work, 'hostile-src'), timeoutMs: 100_000 });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^✗ =1\+2\/eicar\.txt: malware \([^)]*eicar[^)]*\); quarantined$/im);
    expect(result.stderr).toContain('Imported 2 file(s); 7 refused; 0 skipped (already there); 0 held for review; 0 failed.');

    const rows = await readReport(report);
    const reserved = (name: string) => `"${name}" is reserved by Windows for a device (CON, PRN, AUX, NUL, COM1–COM9 and LPT1–LPT9 are, with any extension). Choose another`;
    const byPath = new Map(rows.slice(1).map((r) => [r[0]!, r]));
    expect([...byPath.keys()].sort()).toEqual(["'=1+2/aux.txt", "'=1+2/eicar.txt", "'=1+2/hidden.7z", "'=1+2/link.txt", "'=1+2/nul/inside.txt", "'=1+2/payees.csv", "'=1+2/pipe", "'=1+2/protected.zip", "'=1+2/report, final.txt"]);
    const zip = byPath.get("'=1+2/protected.zip")!;
    expect(zip.slice(1, 4)).toEqual(['refused', '', '']);
    expect(zip[4]).toMatch(/password/i);
    expect(byPath.get("'=1+2/hidden.7z")!.slice(1)).toEqual(['refused', '', '', expect.stringMatching(/^Blocked: the 7-Zip archive is protected by a password/)]);
    expect(byPath.get("'=1+2/aux.txt")!.slice(1)).toEqual(['refused', '', '', `${reserved('aux.txt')} document name.`]);
    expect(byPath.get("'=1+2/link.txt")!.slice(1)).toEqual(['refused', '', '', 'symbolic link: not followed']);
    expect(byPath.get("'=1+2/pipe")!.slice(1)).toEqual(['refused', '', '', 'not a regular file (device, socket or pipe)']);
    expect(byPath.get("'=1+2/nul/inside.txt")!.slice(1)).toEqual(['refused', '', '', `its folder "nul" cannot be a collection: ${reserved('nul')} collection name.`]);
    const eicar = byPath.get("'=1+2/eicar.txt")!;
    expect(eicar[1]).toBe('refused');
    expect(eicar[4]).toMatch(/^malware \([^)]*eicar[^)]*\); quarantined$/i);
    // The quoting a spreadsheet needs: the comma kept inside one field.
    expect((await readFile(report, 'utf8'))).toContain(`"'=1+2/report, final.txt",imported,`);

    const landed = await documentsNow(collectionId);
    expect([...landed.keys()].sort()).toEqual(['eicar.txt', 'payees.csv', 'report, final.txt']);
    expect(landed.get('eicar.txt')!.status).toBe('quarantined');
    expect(eicar[2]).toBe(landed.get('eicar.txt')!.id);
    expect(landed.get('payees.csv')!.sha256).toBe(sha256(samples.csv()));

    // Run again: nothing new is stored; the malware is still reported as refused (exit 1), the rest skipped.
    const again = await runCli(['--data', place.dataDir, 'import', '=1+2', '--collection', collectionId, '--as', seeded.email],
      { env, cwd: path.join(work, 'hostile-src'), timeoutMs: 100_000 });
    expect(again.code, again.stderr).toBe(1);
    expect(again.stderr).toContain('Imported 0 file(s); 7 refused; 2 skipped (already there); 0 held for review; 0 failed.');
    expect(again.stderr).toMatch(/eicar\.txt: already in the vault, quarantined: [^\n]*eicar/i);
    const still = await documentsNow(collectionId);
    expect([...still.values()].map((d) => [d.name, d.version])).toEqual([...landed.values()].map((d) => [d.name, d.version]));
  });
});
