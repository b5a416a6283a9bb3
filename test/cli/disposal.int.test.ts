// `strongroom disposal sweep` and `disposal list`: the operator proposes a batch of an organisation's
// records due by a date and lists its batches; a second sweep with nothing new creates nothing. `disposal early`:
// a records manager proposes a binned record for destruction before its retention ends, and only a binned one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { runCli } from '../support/cli.js';
import { HR_03, fileCollectionUnder, recordEvent } from '../support/records.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, upload } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('disposal commands on %s', (dialect) => {
  let place: SharedVaultPlace;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-disposal-');
  });
  afterAll(async () => {
    await place?.remove();
  });

  it('sweeps by a due date, prints the batch id, lists it, and creates nothing when nothing new is due', { timeout: 180_000 }, async () => {
    const v = await place.open();
    const org = await createOrganisation(v.vault);
    await fileCollectionUnder(v.vault, org.id, org.collections.hr!, HR_03);
    const staff = await org.user({ teams: ['hr'] });
    const id = (await upload(v.app, staff, org.collections.hr!, 'applicant.txt', 'application\n')).json().id as string;
    // Process completed 1 March 2025: HR-03 (1 year) makes it due 1 March 2026.
    await recordEvent(v.vault, org.id, id, 'process_complete', '2025-03-01');
    const manager = await org.user({ roles: ['records_manager'], teams: ['hr'] });
    const binned = (await upload(v.app, staff, org.collections.hr!, 'wrong-council.txt', 'payslip\n')).json().id as string;
    expect((await v.app.inject({ method: 'DELETE', url: `/api/v1/documents/${binned}`, headers: { authorization: `Bearer ${staff.token}` } })).statusCode).toBe(204);
    await closeKeepingData(v);
    const cli = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

    const early = await cli(['disposal', 'sweep', '--org', org.slug, '--due-by', '2026-02-28']);
    expect(early.code, early.stderr).toBe(0);
    expect(early.stdout).toBe('');
    expect(early.stderr).toContain('Nothing new is due for disposal');
    const swept = await cli(['disposal', 'sweep', '--org', org.slug, '--due-by', '2026-03-01']);
    expect(swept.code, swept.stderr).toBe(0);
    const batchId = swept.stdout.trim();
    expect(batchId).toMatch(/^[0-9a-f-]{36}$/);
    expect(swept.stderr).toContain('Proposed 1 record(s)');
    const again = await cli(['disposal', 'sweep', '--org', org.slug, '--due-by', '2026-03-01']);
    expect(again.stdout).toBe('');
    const listed = await cli(['disposal', 'list', '--org', org.slug]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toBe(`${batchId}\treview\t2026-03-01\t1\t1\t0\t0\n`);
    const bad = await cli(['disposal', 'sweep', '--org', org.slug, '--due-by', '2026-02-30']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('expected a date as YYYY-MM-DD');
    const help = await cli(['disposal', 'sweep', '--help']);
    expect(help.stdout).toContain('--due-by <date>');

    const live = await cli(['disposal', 'early', id, '--reason', 'Uploaded to the wrong council', '--as', manager.email]);
    expect(live.code).not.toBe(0);
    expect(live.stderr).toContain(`Document ${id} is not in the bin: only a document somebody has deleted can be destroyed before its retention ends.`);
    const proposed = await cli(['disposal', 'early', binned, '--reason', 'Uploaded to the wrong council', '--as', manager.email]);
    expect(proposed.code, proposed.stderr).toBe(0);
    const earlyId = proposed.stdout.trim();
    expect(earlyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(proposed.stderr).toContain(`Proposed 1 record(s) for early destruction: decide batch ${proposed.stdout.trim()}, then another records manager approves it to destroy it (you proposed it, so you cannot).`);
    const json = JSON.parse((await cli(['disposal', 'list', '--org', org.slug, '--json'])).stdout) as { id: string; kind: string }[];
    expect(json.find((b) => b.id === earlyId)).toMatchObject({ kind: 'early' });
    expect((await cli(['disposal', 'early', '--help'])).stdout).toContain('--reason <text>');
  });
});
