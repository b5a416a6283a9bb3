// The file plan from the command line, for the operator on the server: an organisation's record
// series, read as the system actor. Changes go through the web page or the API, where a records
// manager gives a reason and sees which due dates move before they do.
import type { Command } from 'commander';
import type { RecordSeries } from '../../domain/records/series.js';
import { systemActor } from '../../services/identity.service.js';
import { output, table, withVault } from '../context.js';

const COLUMNS = ['code', 'title', 'trigger', 'years', 'action', 'authority'] as const;

const cellsOf = (s: RecordSeries): string[] => [s.code, s.title, s.trigger, String(s.retainYears), s.action, s.authority];

export function registerSeriesCommands(program: Command): void {
  const series = program.command('series').description('the file plan: record series and their retention rules');

  series
    .command('list')
    .description("list an organisation's record series: code, title, trigger, years, action, authority")
    .requiredOption('--org <slug>', 'the organisation whose file plan to list')
    .option('--tsv', 'tab-separated, no padding (for scripts)')
    .addHelpText('after', '\nA trigger starts the period: created and financial_year_end (31 March after the document was created) need no event; '
      + 'the others wait for a records manager to record the event.\nExample: strongroom series list --org north-shire')
    .action(async (opts: { org: string; tsv?: boolean }, command: Command) => {
      const rows = await withVault(command, async (vault) => vault.retention.listSeries(systemActor(), (await vault.organisations.organisationBySlug(opts.org)).id));
      const cells = [[...COLUMNS], ...rows.map(cellsOf)];
      for (const line of opts.tsv ? cells.map((r) => r.join('\t')) : table(cells)) output(line);
    });

  series
    .command('show')
    .description('show one record series and every revision of it (who changed it, when and why)')
    .argument('<code>', 'the series code, e.g. PAY-01')
    .requiredOption('--org <slug>', 'the organisation whose file plan it is in')
    .action(async (code: string, opts: { org: string }, command: Command) => {
      const { series: s, revisions } = await withVault(command, async (vault) => vault.retention.series(systemActor(), (await vault.organisations.organisationBySlug(opts.org)).id, code));
      for (const [label, value] of [['code', s.code], ['title', s.title], ['service area', s.serviceArea], ['trigger', s.trigger],
        ['years', String(s.retainYears)], ['action', s.action], ['authority', s.authority], ['revision', String(s.revision)]] as const) {
        output(`${label.padEnd(13)}${value}`);
      }
      output('revisions:');
      for (const r of revisions) output(`  ${r.revision}\t${r.changedAt}\t${r.changedBy ?? 'system'}\t${r.snapshot.retainYears} years from ${r.snapshot.trigger}, ${r.snapshot.action}\t${r.reason}`);
    });
}
