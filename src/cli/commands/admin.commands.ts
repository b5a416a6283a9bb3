// Administration commands: init, org add|list|brand, user add|reset-password|disable|enable, collection add, token create, app-password create.
import { open } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { LOGO_MAX_BYTES } from '../../domain/branding/brand.js';
import { credentialsUsable } from '../../domain/identity/mfa.js';
import { CREDENTIAL_SCOPES, type CredentialScope } from '../../domain/types.js';
import { INVITATION_DAYS, SHOWN_RESET_LINK_HOURS } from '../../domain/mail/message.js';
import { systemActor } from '../../services/identity.service.js';
import { list, output, readStdin, say, withVault } from '../context.js';

export function registerAdminCommands(program: Command): void {
  program
    .command('init')
    .description('create the data directory, master key, audit signing key and database; gives every organisation the record series of the retention schedule it lacks')
    .action(async (_opts, command: Command) => {
      // Organisations get their file plan when they are added; this fills in series a schedule update added.
      // Said once withVault has returned, i.e. once the writes are durable (docs/architecture.md "Durability").
      const { dataDir, dialect, added } = await withVault(command, async (vault) => ({
        dataDir: vault.config.dataDir, dialect: vault.config.databaseUrl ? 'PostgreSQL' : 'embedded SQLite', added: await vault.retention.seedAll(systemActor()),
      }), { create: true });
      say(`Initialised ${dataDir} (${dialect}).`);
      if (added > 0) say(`Added ${added} record series from the retention schedule to existing file plans.`);
      say('Keep keys/master.key safe and backed up separately: without it nothing can be read.');
    });

  const org = program.command('org').description('organisations');
  org
    .command('add')
    .description('add an organisation, with the file plan of the retention schedule (assets/retention-schedule.csv); prints its id')
    .requiredOption('--slug <slug>', 'short name used in URLs, e.g. north-shire')
    .requiredOption('--name <name>', 'full name, e.g. "North Shire Council"')
    .option('--region <region>', 'region, for the shared-services report')
    .option('--kind <kind>', 'district, county, unitary, joint-committee…', 'council')
    .action(async (opts: { slug: string; name: string; region?: string; kind: string }, command: Command) => {
      const created = await withVault(command, (vault) => vault.organisations.addOrganisation(systemActor(), { slug: opts.slug, name: opts.name, kind: opts.kind, ...(opts.region ? { region: opts.region } : {}) }));
      output(created.id);
    });
  org
    .command('list')
    .description('list organisations')
    .action(async (_opts, command: Command) => {
      const orgs = await withVault(command, (vault) => vault.organisations.listOrganisations());
      for (const o of orgs) output(`${o.id}\t${o.slug}\t${o.name}\t${o.region}`);
    });

  org
    .command('domains')
    .description("show, assign or withdraw the organisation's e-mail domains: its identity providers create accounts at first sign-in (just in time), and its org admins and SCIM directory add people, only for addresses in them; a domain belongs to one organisation; with no changes given, lists them")
    .requiredOption('--org <slug>', 'organisation slug')
    .option('--add <domain...>', 'assign domains, e.g. northshire.gov.uk')
    .option('--remove <domain...>', 'withdraw domains')
    .action(async (opts: { org: string; add?: string[]; remove?: string[] }, command: Command) => {
      const domains = await withVault(command, (vault) => (opts.add || opts.remove
        ? vault.organisations.changeEmailDomains(systemActor(), opts.org, { add: opts.add ?? [], remove: opts.remove ?? [] })
        : vault.organisations.emailDomains(opts.org)));
      for (const domain of domains) output(domain);
    });

  org
    .command('brand')
    .description("show or set the organisation's own header brand (name, colour, logo) that its staff see when signed in; with no changes given, shows it")
    .requiredOption('--org <slug>', 'organisation slug')
    .option('--name <name>', 'name shown in the header ("" for the deployment\'s)')
    .option('--colour <#rrggbb>', 'header colour, dark enough for white text (contrast at least 4.5:1); "" for the deployment\'s')
    .option('--logo <file>', 'PNG or JPEG logo, 200 KB or smaller, at most 1000 × 1000 pixels (re-encoded; SVG refused)')
    .option('--remove-logo', 'remove the logo')
    .option('--reset', "remove the organisation's name, colour and logo: back to the deployment's header")
    .action(async (opts: { org: string; name?: string; colour?: string; logo?: string; removeLogo?: boolean; reset?: boolean }, command: Command) => {
      if (opts.reset && (opts.name !== undefined || opts.colour !== undefined || opts.logo || opts.removeLogo)) throw new Error('--reset cannot be combined with other changes.');
      if (opts.logo && opts.removeLogo) throw new Error('Give --logo or --remove-logo, not both.');
      // At most a byte over the limit is read: enough for the service to refuse a larger file.
      const logo = opts.logo ? await readHead(opts.logo, LOGO_MAX_BYTES + 1) : opts.removeLogo ? null : undefined;
      const brand = await withVault(command, async (vault) => {
        if (opts.reset) {
          await vault.branding.reset(systemActor(), opts.org);
          return null;
        }
        if (opts.name === undefined && opts.colour === undefined && logo === undefined) return (await vault.branding.settings(systemActor(), opts.org)).brand;
        return vault.branding.update(systemActor(), opts.org, {
          ...(opts.name !== undefined ? { displayName: opts.name } : {}), ...(opts.colour !== undefined ? { colour: opts.colour } : {}), ...(logo !== undefined ? { logo } : {}),
        });
      });
      // One line: name, colour, logo type and SHA-256 ("-" where the deployment's applies).
      output(brand ? [brand.displayName ?? '-', brand.colour ?? '-', brand.logo ? `${brand.logo.type} ${brand.logo.sha256}` : '-'].join('\t') : '-\t-\t-');
    });

  const user = program.command('user').description('people');
  user
    .command('add')
    .description('add a user; prints their id. Without --password-stdin: with e-mail configured (STRONGROOM_SMTP_URL) they are e-mailed a link to set their password; without it a generated password is printed, once')
    .requiredOption('--org <slug>', 'organisation slug')
    .requiredOption('--email <email>', 'e-mail address (the sign-in name)')
    .requiredOption('--name <name>', 'full name')
    .option('--role <role...>', 'member, records_manager, org_admin, security_admin, auditor, dpo', ['member'])
    .option('--team <area...>', 'service areas, e.g. payroll hr', [])
    .option('--clearance <level>', 'OFFICIAL or OFFICIAL-SENSITIVE', 'OFFICIAL')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (opts: { org: string; email: string; name: string; role: string[]; team: string[]; clearance: string; passwordStdin?: boolean }, command: Command) => {
      const password = opts.passwordStdin ? await readStdin() : undefined;
      const { user, generatedPassword, invited, signsInWith } = await withVault(command, (vault) =>
        vault.userCreation.addUser(systemActor(), {
          organisationSlug: opts.org, email: opts.email, name: opts.name, roles: opts.role.flatMap(list), teams: opts.team.flatMap(list),
          clearance: opts.clearance, ...(password !== undefined ? { password } : {}),
        }),
      );
      output(user.id);
      if (signsInWith) say(`${user.email} signs in with their organisation account (${signsInWith}): no Strongroom password.${invited ? ' An invitation with the sign-in address is e-mailed to them.' : ''}`);
      else if (invited) say(`An invitation is e-mailed to ${user.email}: its link lets them set their password (once, within ${INVITATION_DAYS} days).`);
      if (generatedPassword) {
        say('Generated password (shown once; the user should change it at first sign-in):');
        output(generatedPassword);
      }
    });
  user
    .command('reset-password')
    .description(`reset a forgotten password, as the operator: the old one stops working and every web session of theirs ends, and they set a new one themselves through a link that works once. With e-mail configured (STRONGROOM_SMTP_URL) the link is e-mailed to them (within ${INVITATION_DAYS} days); without it the link is printed, once, on stdout (within ${SHOWN_RESET_LINK_HOURS} hours): a full address with STRONGROOM_PUBLIC_URL set, else its path, to put after the address people reach Strongroom at. Give it only to them: whoever opens it first sets their password. No password is ever printed. API tokens, app passwords and two-factor authentication are unchanged (disable the account if it may be in someone else's hands). Refused for a disabled account and for someone whose organisation signs in through its identity provider`)
    .requiredOption('--email <email>', "the person's e-mail address (their sign-in name)")
    .action(async (opts: { email: string }, command: Command) => {
      const { reset, publicUrl } = await withVault(command, async (vault) => ({
        reset: await vault.people.resetPassword(systemActor(), (await vault.identity.userByEmail(opts.email)).id),
        publicUrl: vault.config.publicUrl ?? null,
      }));
      const person = reset.user;
      say(`The password of ${person.email} was reset: their old password no longer works and they were signed out everywhere. Their API tokens, app passwords and two-factor authentication are unchanged.`);
      if (reset.delivery === 'e-mail') {
        say(`A link to set a new password is e-mailed to ${person.email} (it works once, within ${INVITATION_DAYS} days).`);
        return;
      }
      say(`A link to set a new password (shown once; it works once, until ${reset.link.expiresAt}): give it to them through a separate, trusted channel. Whoever opens it first sets their password.`);
      if (!publicUrl) say('STRONGROOM_PUBLIC_URL is not set, so this is the path only: put the address people reach Strongroom at before it (e.g. https://vault.example.gov.uk/invitation/...).');
      output(`${publicUrl ?? ''}${reset.link.path}`);
    });

  // The operator switches an account off or on through the same service call as an org admin's page and the REST
  // API, so the same events, the same revocations and (switching on) the same security notice to its owner.
  const switches = [
    ['disable', true, "switch a person's account off, as the operator: every web session of theirs ends and their API tokens and WebDAV app passwords are revoked; they sign in nowhere until it is switched on again, by the operator (user enable) or an org admin of their organisation (its web Users page or the REST API), never by their organisation's directory (SCIM). May switch off an organisation's last enabled org admin, which its org admins cannot. Audited"],
    ['enable', false, "switch a person's account on again, as the operator: they can sign in as before (API tokens and app passwords revoked when it was switched off stay revoked). They are sent a security notice, by e-mail with STRONGROOM_SMTP_URL set (the server's worker sends it), else to the server log. Audited"],
  ] as const;
  for (const [name, disabled, description] of switches) {
    user
      .command(name)
      .description(description)
      .argument('<email>', "the person's e-mail address (their sign-in name)")
      .action(async (email: string, _opts, command: Command) => {
        await withVault(command, async (vault) => vault.people.setDisabled(systemActor(), (await vault.identity.userByEmail(email)).id, disabled));
        say(disabled ? `The account of ${email} is switched off: their sessions ended and their API tokens and app passwords were revoked.`
          : `The account of ${email} is switched on: they can sign in again. If it was off, they are sent a security notice saying so.`);
      });
  }

  program
    .command('collection')
    .description('the file plan')
    .command('add')
    .description('add a collection; prints its id')
    .requiredOption('--org <slug>', 'organisation slug')
    .requiredOption('--name <name>', 'collection name')
    .requiredOption('--service <area>', 'service area, e.g. payroll')
    .option('--classification <level>', 'OFFICIAL or OFFICIAL-SENSITIVE', 'OFFICIAL')
    .option('--parent <id>', 'parent collection id')
    .action(async (opts: { org: string; name: string; service: string; classification: string; parent?: string }, command: Command) => {
      const collection = await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        return vault.collectionCreation.create(systemActor(), { organisationId: org.id, name: opts.name, serviceArea: opts.service, classification: opts.classification, parentId: opts.parent ?? null });
      });
      output(collection.id);
    });

  program
    .command('keys')
    .description('encryption keys')
    .command('rotate')
    .description("give an organisation a new key-encryption key (new versions use it; old ones stay readable); prints the key id")
    .requiredOption('--org <slug>', 'organisation slug')
    .action(async (opts: { org: string }, command: Command) => {
      const keyId = await withVault(command, async (vault) => vault.keys.rotate(systemActor(), (await vault.organisations.organisationBySlug(opts.org)).id));
      output(keyId);
    });

  for (const [name, kind, what, plural] of [['token', 'api_token', 'an API token', 'API tokens'], ['app-password', 'app_password', 'a WebDAV app password', 'WebDAV app passwords']] as const) {
    program
      .command(name)
      .description(plural)
      .command('create')
      .description(`create ${what} for a user (they are e-mailed a security notice naming it, never the secret); prints the secret, once`)
      .requiredOption('--user <email>', "the user's e-mail")
      .option('--name <name>', 'a label to recognise it by', name)
      .addOption(new Option('--scope <scope>', 'full: everything the user may do; read: only what reads (list, download, search), for a system that only pulls documents').choices(CREDENTIAL_SCOPES).default('full'))
      .action(async (opts: { user: string; name: string; scope: CredentialScope }, command: Command) => {
        const { secret, usable } = await withVault(command, async (vault) => {
          const user = await vault.identity.userByEmail(opts.user);
          return { ...(await vault.credentials.createCredential(systemActor(), user.id, kind, opts.name, opts.scope)), usable: credentialsUsable(user) };
        });
        if (!usable) say(`Note: ${opts.user} must set up two-factor authentication (at their next web sign-in) before this works.`);
        output(secret);
      });
  }
}

/** The first `max` bytes of a file (all of it, when smaller). */
async function readHead(file: string, max: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(max);
    const { bytesRead } = await handle.read(buffer, 0, max, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
