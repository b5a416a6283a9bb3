// `strongroom init` gives organisations that predate the file plan the retention schedule's series;
// `org add` creates an organisation with them; `series list` and `series show` print the file plan.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('series commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-series-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('seeds on init and org add, lists and shows the series, and refuses an unknown organisation', { timeout: 180_000 }, async () => {
    // An organisation from before the file plan existed: in the database, with no series.
    const old = `old-${randomUUID().slice(0, 8)}`;
    const v = await place.open();
    const oldId = randomUUID();
    await v.vault.store.repos.organisations.insert({ id: oldId, slug: old, name: 'Old Council', kind: 'district', region: 'Test', createdAt: new Date().toISOString() });
    expect(await v.vault.store.repos.retention.listSeries(oldId)).toEqual([]);
    await closeKeepingData(v);

    const cli = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });
    const init = await cli(['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toContain('Added 12 record series from the retention schedule to existing file plans.');
    const again = await cli(['init']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('Added');

    const fresh = `new-${randomUUID().slice(0, 8)}`;
    expect((await cli(['org', 'add', '--slug', fresh, '--name', 'New Council'])).code).toBe(0);
    for (const slug of [old, fresh]) {
      const listed = await cli(['series', 'list', '--org', slug]);
      expect(listed.code, listed.stderr).toBe(0);
      const lines = listed.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(13);
      expect(lines[0]).toMatch(/^code\s+title\s+trigger\s+years\s+action\s+authority$/);
      expect(lines.find((l) => l.startsWith('PAY-01'))).toMatch(/^PAY-01\s+Salary and payroll records\s+financial_year_end\s+6\s+destroy\s+HMRC; council HR retention schedules$/);
    }
    const tsv = await cli(['series', 'list', '--org', fresh, '--tsv']);
    expect(tsv.stdout.split('\n')).toContain('PRO-01\tContracts (ordinary)\tcontract_end\t6\treview\tLimitation Act 1980 s5; IRMS procurement records guidance');

    const shown = await cli(['series', 'show', 'HR-01', '--org', fresh]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('trigger      employment_end');
    expect(shown.stdout).toMatch(/ {2}1\t\S+\tsystem\t7 years from employment_end, review\tFrom the retention schedule/);

    const unknown = await cli(['series', 'list', '--org', 'no-such-council']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No organisation "no-such-council"');
    const missing = await cli(['series', 'show', 'PAY-99', '--org', fresh]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No record series with that id exists');
    const help = await cli(['series', 'list', '--help']);
    expect(help.stdout).toContain('--org <slug>');
  });
});
