// `strongroom user disable EMAIL` and `strongroom user enable EMAIL`: the operator switches an account off (its
// sessions end, its tokens are revoked, it signs in nowhere) and on again (it signs in, and its owner is sent
// one security notice), through the admin pages' service call, audited as the operator's (system, cli).
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAdminCommands } from '../../src/cli/commands/admin.commands.js';
import { runCli } from '../support/cli.js';
import type { Vault } from '../../src/main.js';
import { useClamd } from '../support/fixture.js';
import { closeKeepingData, sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import { DIALECTS, TEST_PASSWORD, createOrganisation, type TestUser } from '../support/vault.js';

const clamd = useClamd();
const request = { channel: 'web', clientAddress: '127.0.0.1', requestId: 'cli-switch' } as const;

it('--help of each says what it does, as the operator (read in-process: no process spawned)', () => {
  const program = new Command();
  registerAdminCommands(program);
  const help = (name: string) => program.commands.find((c) => c.name() === 'user')!.commands.find((c) => c.name() === name)!.helpInformation().replace(/\s+/g, ' ');
  expect(help('disable')).toContain('Usage: user disable [options] <email>');
  expect(help('disable')).toContain("switch a person's account off, as the operator: every web session of theirs ends and their API tokens and WebDAV app passwords are revoked");
  // Who may switch it on again: the operator or an org admin of their organisation (disabledBy 'admin'), never the directory.
  expect(help('disable')).toContain('they sign in nowhere until it is switched on again, by the operator (user enable) or an org admin of their organisation (its web Users page or the REST API), never by their organisation\'s directory (SCIM)');
  expect(help('disable')).toContain("May switch off an organisation's last enabled org admin, which its org admins cannot.");
  expect(help('enable')).toContain('Usage: user enable [options] <email>');
  expect(help('enable')).toContain("switch a person's account on again, as the operator: they can sign in as before");
  expect(help('enable')).toContain('They are sent a security notice');
});

describe.each(DIALECTS)('strongroom user disable and enable on %s', (dialect) => {
  let place: SharedVaultPlace;
  let member: TestUser;
  let sessionId: string;
  const cli = (args: string[]) => runCli(['--data', place.dataDir, ...args], { env: place.env });
  /** The operator's events (no person acting) that switched the member's account, in order. */
  const operatorEvents = async (vault: Vault) => {
    await vault.audit.sequencer.integrate();
    const events: unknown[][] = [];
    for await (const { event: e } of vault.store.repos.audit.sequenced()) {
      if (e.actorUserId === null && e.targetIds.userId === member.id && (e.action === 'user.disable' || e.action === 'user.enable')) events.push([e.action, e.decision, e.reason, e.channel]);
    }
    return events;
  };
  /** What the vault says now: the person's row, whether their session, token and password work, their notices, the operator's events about them. */
  const state = async () => {
    const v = await place.open();
    try {
      const vault = v.vault;
      const works = (attempt: Promise<unknown>) => attempt.then(() => true, () => false);
      const jobs = await vault.store.db.selectFrom('jobs').select('payload').where('kind', '=', 'send-email').execute();
      return {
        user: await vault.identity.userById(member.id),
        session: (await vault.sessions.resolve(sessionId)) !== null,
        token: await works(vault.identity.authenticateSecret(member.token, ['api_token'])),
        signsIn: await works(vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, request)),
        notices: jobs.filter((j) => j.payload.includes(member.id) && j.payload.includes('"change":"account-enabled"')).map((j) => JSON.parse(j.payload) as unknown),
        events: await operatorEvents(vault),
      };
    } finally {
      await closeKeepingData(v);
    }
  };

  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-cli-user-switch-');
    const v = await place.open();
    try {
      member = await (await createOrganisation(v.vault)).user({ teams: ['payroll'] });
      sessionId = (await v.vault.passwordSignIn.signIn(member.email, TEST_PASSWORD, request)).sessionId;
    } finally {
      await closeKeepingData(v);
    }
  }, 120_000);
  afterAll(async () => {
    await place?.remove();
  });

  it('switches the account off, then on again: one notice, each step audited as the operator', async () => {
    const off = await cli(['user', 'disable', member.email]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toBe('');
    expect(off.stderr).toBe(`The account of ${member.email} is switched off: their sessions ended and their API tokens and app passwords were revoked.\n`);
    const afterOff = await state();
    expect(afterOff).toMatchObject({ user: { disabled: true, disabledBy: 'admin' }, session: false, token: false, signsIn: false, notices: [] });
    expect(afterOff.events).toEqual([['user.disable', 'allow', 'system', 'cli']]);

    const on = await cli(['user', 'enable', member.email]);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toBe('');
    expect(on.stderr).toBe(`The account of ${member.email} is switched on: they can sign in again. If it was off, they are sent a security notice saying so.\n`);
    const afterOn = await state();
    // The token revoked when it was switched off stays revoked.
    expect(afterOn).toMatchObject({ user: { disabled: false, disabledBy: null }, token: false, signsIn: true });
    expect(afterOn.notices).toMatchObject([{ userId: member.id, message: { kind: 'account-change', change: 'account-enabled', by: 'operator' } }]);
    expect(afterOn.events).toEqual([['user.disable', 'allow', 'system', 'cli'], ['user.enable', 'allow', 'system', 'cli']]);
  }, 120_000);
});
