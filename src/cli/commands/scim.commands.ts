// `strongroom scim token create|list|revoke --org SLUG`: an organisation's SCIM provisioning tokens, for
// the operator at the server (org admins use the "SCIM provisioning" page). Secrets are printed once.
import type { Command } from 'commander';
import { systemActor } from '../../services/identity.service.js';
import { output, say, withVault } from '../context.js';

export function registerScimCommands(program: Command): void {
  const token = program.command('scim').description('SCIM provisioning (Entra ID and other directories)')
    .command('token').description("an organisation's SCIM bearer tokens");
  token
    .command('create')
    .description('create a SCIM token for an organisation\'s directory; prints the secret, once')
    .requiredOption('--org <slug>', 'organisation slug')
    .option('--name <name>', 'which directory uses it', 'SCIM provisioning')
    .action(async (opts: { org: string; name: string }, command: Command) => {
      const { secret, id } = await withVault(command, async (vault) => {
        const org = await vault.organisations.organisationBySlug(opts.org);
        const created = await vault.scim.tokens.create(systemActor(), org.id, opts.name);
        return { secret: created.secret, id: created.token.id };
      });
      output(secret);
      say(`Token ${id} created. This is the only time the secret is shown: paste it into the directory's "Secret Token" field now.`);
    });
  token
    .command('list')
    .description("list an organisation's SCIM tokens: id, name, created, last used, revoked")
    .requiredOption('--org <slug>', 'organisation slug')
    .action(async (opts: { org: string }, command: Command) => {
      const tokens = await withVault(command, async (vault) => vault.scim.tokens.list(systemActor(), (await vault.organisations.organisationBySlug(opts.org)).id));
      for (const t of tokens) output([t.id, t.name, t.createdAt, t.lastUsedAt ?? 'never', t.revokedAt ?? 'live'].join('\t'));
    });
  token
    .command('revoke')
    .description('revoke a SCIM token at once (the directory\'s next request is refused)')
    .requiredOption('--org <slug>', 'organisation slug')
    .argument('<id>', 'the token id (from `scim token list`)')
    .action(async (id: string, opts: { org: string }, command: Command) => {
      await withVault(command, async (vault) => vault.scim.tokens.revoke(systemActor(), (await vault.organisations.organisationBySlug(opts.org)).id, id));
      say(`Token ${id} revoked.`);
    });
}
