// Arrangement commands for administrators: add (optionally approved at once), list, show, accept for a partner, suspend, end, report.
import type { Command } from 'commander';
import { reportCsv } from '../../services/report-csv.js';
import { systemActor } from '../../services/identity.service.js';
import { list, output, say, terminalSafe, withVault } from '../context.js';

export function registerArrangementCommands(program: Command): void {
  const arrangement = program.command('arrangement').description('shared-service arrangements');

  arrangement
    .command('add')
    .description('add an arrangement (draft until every partner accepts, or active at once with --approve); prints its id')
    .requiredOption('--host <slug>', 'the providing organisation')
    .requiredOption('--partners <slugs>', 'the served organisations, comma-separated')
    .requiredOption('--service <area>', 'service area, e.g. payroll')
    .requiredOption('--access <level>', 'read, contribute or manage')
    .requiredOption('--ceiling <classification>', 'OFFICIAL or OFFICIAL-SENSITIVE')
    .requiredOption('--purpose <text>', 'what the sharing is for')
    .requiredOption('--lawful-basis <text>', 'UK GDPR lawful basis, e.g. "Art 6(1)(e) public task"')
    .option('--agreement <ref>', 'data-sharing or processing agreement reference')
    .option('--starts <date>', 'start date, YYYY-MM-DD: access begins at the start of that day, UK time (default now)')
    .option('--ends <date>', 'end date, YYYY-MM-DD: access stops at the start of that day, UK time (optional)')
    .option('--saving <pounds>', 'annual saving in pounds, for the register', '0')
    .option('--approve', 'administrators setting up: record every party\'s approval now (active at once)')
    .action(async (opts: Record<string, string | boolean | undefined>, command: Command) => {
      const created = await withVault(command, async (vault) => {
        const host = await vault.organisations.organisationBySlug(String(opts.host));
        const partners = await Promise.all(list(String(opts.partners)).map(async (s) => (await vault.organisations.organisationBySlug(s)).id));
        return vault.arrangements.propose(systemActor(), {
          hostOrganisationId: host.id, partnerOrganisationIds: partners, serviceArea: String(opts.service), accessLevel: String(opts.access),
          ceiling: String(opts.ceiling), purpose: String(opts.purpose), lawfulBasis: String(opts.lawfulBasis),
          agreementReference: (opts.agreement as string | undefined) ?? null, ...(opts.starts ? { startsAt: String(opts.starts) } : {}),
          endsAt: (opts.ends as string | undefined) ?? null, annualSavingPounds: Number(opts.saving),
        }, { approve: opts.approve === true });
      });
      output(created.id);
    });

  arrangement
    .command('list')
    .description('list arrangements: id, standing (what it means now), host, partners, service area, access, ceiling, end date')
    .option('--status <status>', 'lifecycle status: draft, active, suspended or ended')
    .option('--standing <standing>', 'what it means now: draft, scheduled, in-force, expired, suspended or ended')
    .action(async (opts: { status?: string; standing?: string }, command: Command) => {
      await withVault(command, async (vault) => {
        const orgs = new Map((await vault.organisations.listOrganisations()).map((o) => [o.id, o.slug]));
        const all = await vault.arrangements.list(systemActor(), { ...(opts.status ? { status: opts.status } : {}), ...(opts.standing ? { standing: opts.standing } : {}) });
        for (const a of all) {
          output([a.id, a.standing, orgs.get(a.hostOrganisationId), a.partnerOrganisationIds.map((p) => orgs.get(p)).join(','), a.serviceArea, a.accessLevel, a.ceiling, a.endsAt ?? '-'].join('\t'));
        }
      });
    });

  arrangement
    .command('show')
    .description('an arrangement and every revision of it, as JSON (the revision numbers are what accept asks for)')
    .argument('<id>')
    .action(async (id: string, _opts, command: Command) => {
      const shown = await withVault(command, (vault) => vault.arrangements.get(systemActor(), id));
      output(JSON.stringify(shown, null, 2));
    });

  arrangement
    .command('accept')
    .description('record a partner\'s acceptance of the terms it reviewed; refused if they were amended after that revision')
    .argument('<id>')
    .requiredOption('--partner <slug>', 'the partner organisation whose acceptance this is')
    .requiredOption('--revision <n>', 'the revision of the terms the partner reviewed (see `arrangement show`)')
    .action(async (id: string, opts: { partner: string; revision: string }, command: Command) => {
      const updated = await withVault(command, async (vault) => {
        const partner = await vault.organisations.organisationBySlug(opts.partner);
        const revision = /^\d+$/.test(opts.revision) ? Number(opts.revision) : Number.NaN;
        return vault.arrangements.accept(systemActor(), id, { revision, partnerOrganisationId: partner.id });
      });
      say(`Arrangement ${updated.id} is now ${updated.status} (revision ${updated.revision}).`);
    });

  for (const step of ['suspend', 'end'] as const) {
    arrangement
      .command(step)
      .description(`${step} an arrangement now (takes effect on the next request)`)
      .argument('<id>')
      .action(async (id: string, _opts, command: Command) => {
        const updated = await withVault(command, (vault) => vault.arrangements[step](systemActor(), id));
        say(`Arrangement ${updated.id} is now ${updated.status}.`);
      });
  }

  arrangement
    .command('report')
    .description('arrangements by service area and region, with partner counts and annual savings')
    .option('--csv', 'CSV instead of JSON')
    .action(async (opts: { csv?: boolean }, command: Command) => {
      const report = await withVault(command, (vault) => vault.arrangements.report(systemActor()));
      // Names in the report are partners' and hosts' text: inert on the terminal, like everything the CLI prints.
      process.stdout.write(terminalSafe(opts.csv ? reportCsv(report) : `${JSON.stringify(report, null, 2)}\n`));
    });
}
