// `strongroom token create --scope read` and `app-password create --scope read`: the operator makes a
// read-only credential for a system that only pulls documents (docs/identity.md, "Read-only API tokens and
// app passwords"); without --scope it is full, as before; any other scope is refused before anything is made.
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAdminCommands } from '../../src/cli/commands/admin.commands.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, createOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();

it('--help of token create and app-password create offers the scope (read in-process: no process spawned)', () => {
  const program = new Command();
  registerAdminCommands(program);
  for (const name of ['token', 'app-password']) {
    const help = program.commands.find((c) => c.name() === name)!.commands.find((c) => c.name() === 'create')!.helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('--scope <scope> full: everything the user may do; read: only what reads (list, download, search), for a system that only pulls documents (choices: "full", "read", default: "full")');
  }
});

describe.each(DIALECTS)('strongroom token create --scope on %s', (dialect) => {
  let place: SharedVaultPlace;
  let member: TestUser;
  const cli = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });

  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-token-scope-');
    const v = await place.open();
    try {
      member = await (await createOrganisation(v.vault)).user({ teams: ['payroll'] });
    } finally {
      await closeKeepingData(v);
    }
  }, 120_000);
  afterAll(async () => {
    await place?.remove();
  });

  it('makes read-only and full credentials, and refuses any other scope', async () => {
    const read = await cli(['token', 'create', '--user', member.email, '--name', 'reporting', '--scope', 'read']);
    expect(read.code, read.stderr).toBe(0);
    const password = await cli(['app-password', 'create', '--user', member.email, '--name', 'payroll system', '--scope', 'read']);
    expect(password.code, password.stderr).toBe(0);
    const full = await cli(['token', 'create', '--user', member.email, '--name', 'laptop']);
    expect(full.code, full.stderr).toBe(0);
    const odd = await cli(['token', 'create', '--user', member.email, '--scope', 'admin']);
    expect(odd.code).not.toBe(0);
    expect(odd.stderr).toContain("option '--scope <scope>' argument 'admin' is invalid. Allowed choices are full, read.");

    const v = await place.open();
    try {
      const listed = await v.vault.store.repos.users.listCredentials(member.id);
      expect(listed.map((c) => [c.name, c.kind, c.scope])).toEqual([['test', 'api_token', 'full'], ['reporting', 'api_token', 'read'], ['payroll system', 'app_password', 'read'], ['laptop', 'api_token', 'full']]);
      const made = await v.vault.identity.authenticateSecret(read.stdout.trim(), ['api_token']);
      expect(made.credential.scope).toBe('read');
      expect((await v.vault.identity.authenticateSecret(full.stdout.trim(), ['api_token'])).credential.scope).toBe('full');
    } finally {
      await closeKeepingData(v);
    }
  });
});
