// `strongroom import --report` refuses a report that would land among what it imports: inside a folder being
// imported (it would be imported itself, half written, and again as a new version on every run) or on a file
// being imported (opening it wiped the file before it was read). Refused before anything is written, links
// resolved; a report beside the share, in a folder whose name merely begins like it, is written as before.
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli, seedWithCli } from '../support/cli.js';
import { readReport } from '../support/import-tree.js';
import { sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('where strongroom import may write its report, on %s', (dialect) => {
  let place: SharedVaultPlace;
  let work: string;
  let seeded: { collectionId: string; token: string; email: string };
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-report-');
    work = await mkdtemp(path.join(tmpdir(), 'sr-report-src-'));
    seeded = await seedWithCli(place.dataDir, place.env, `report-${dialect}`);
  }, 300_000);
  afterAll(async () => {
    await place?.remove();
    await rm(work, { recursive: true, force: true });
  });

  async function share(name: string) {
    const source = path.join(work, name);
    await mkdir(path.join(source, 'minutes'), { recursive: true });
    await writeFile(path.join(source, 'budget.txt'), 'the budget\n');
    await writeFile(path.join(source, 'minutes', 'march.txt'), 'the minutes\n');
    return source;
  }

  const importing = (sources: string[], report: string) => runCli(
    ['--data', place.dataDir, 'import', ...sources, '--collection', seeded.collectionId, '--as', seeded.email, '--report', report],
    { env: place.env, timeoutMs: 120_000 },
  );

  it('refuses a report inside a folder being imported, or on a file being imported, writing nothing', { timeout: 240_000 }, async () => {
    const source = await share('refused');
    await symlink(source, path.join(work, 'refused-link'));
    const cases = [
      { sources: [source], report: path.join(source, 'report.csv'), says: `inside ${source}, a folder being imported, so the report would be imported with it` },
      { sources: [source], report: path.join(source, 'minutes', 'report.csv'), says: `inside ${source}, a folder being imported, so the report would be imported with it` },
      { sources: [source], report: path.join(work, 'refused-link', 'report.csv'), says: `inside ${source}, a folder being imported, so the report would be imported with it` },
      { sources: [source], report: path.join(source, 'budget.txt'), says: 'a file being imported, which writing the report would overwrite' },
      { sources: [path.join(source, 'budget.txt')], report: path.join(work, 'refused-link', 'budget.txt'), says: 'a file being imported, which writing the report would overwrite' },
    ];
    for (const c of cases) {
      const result = await importing(c.sources, c.report);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`strongroom import: --report ${c.report} is ${c.says}: write it elsewhere. Nothing was written.`);
    }
    expect(await readFile(path.join(source, 'budget.txt'), 'utf8')).toBe('the budget\n');
    await expect(stat(path.join(source, 'report.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(path.join(source, 'minutes', 'report.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes a report beside the share, in a folder named like it', { timeout: 240_000 }, async () => {
    const source = await share('beside');
    await mkdir(path.join(work, 'beside-reports'));
    const report = path.join(work, 'beside-reports', 'report.csv');
    const result = await importing([source], report);
    expect(result.code, result.stderr).toBe(0);
    const [header, ...rows] = (await readReport(report)).map((row) => [row[0], row[1]]);
    expect(header).toEqual(['path', 'outcome']);
    // Files are settled several at once, so rows come in the order they finished.
    expect(rows.sort()).toEqual([[path.join(source, 'budget.txt'), 'imported'], [path.join(source, 'minutes', 'march.txt'), 'imported']]);
  });
});
