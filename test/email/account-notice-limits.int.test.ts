// Security notices in a burst (domain/mail/notice-limits.ts, services/notice-windows.ts), through a real SMTP
// server, on both dialects: within a window (15 minutes by default) a person is sent the first 3 notices one by
// one and the rest in one summary at the window's end, each change in it as its own notice tells it; a summary
// goes to the address each held notice was for (an address change still tells the old one); the summary is a
// job in the database, sent by a node restarted meanwhile; and a send that fails is retried, nothing lost.
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneFinishedJobsJob } from '../../src/domain/jobs/kinds.js';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { TestSmtp, toAddress } from '../support/smtp.js';
import { DIALECTS, createOrganisation, openTestVault, realClockUnless, type RestartableTestVault, type TestOrganisation } from '../support/vault.js';

const clamd = useClamd();
const WINDOW_MS = 15 * 60_000;
/** When each test's worker first runs, after its burst: the window opens with the first notice sent. */
const SENT = 10_000;
const TOKEN_CREATED = 'A new API token was created for your account (your account page lists it).';

describe.each(DIALECTS)('security notices in a burst on %s', (dialect) => {
  const clock = realClockUnless();
  let smtp: TestSmtp;
  let t: RestartableTestVault;
  let org: TestOrganisation;
  beforeAll(async () => {
    smtp = await TestSmtp.started();
    t = await openTestVault({
      dialect, clamdSocket: clamd.socketPath, clock,
      env: { STRONGROOM_SMTP_URL: smtp.url, STRONGROOM_MAIL_FROM: 'Records vault <no-reply@vault.test>', STRONGROOM_PUBLIC_URL: 'https://vault.test' },
    });
    org = await createOrganisation(t.vault);
    await t.vault.organisations.changeEmailDomains(systemActor(), org.slug, { add: [`${org.slug}.gov.uk`] });
  });
  afterAll(async () => {
    clock.set(null);
    await t?.close();
    await smtp?.stop();
  });

  /** Sets the clock `ms` after `start` and runs the jobs due then. */
  async function runAt(start: number, ms: number): Promise<void> {
    clock.set(new Date(start + ms).toISOString());
    await t.vault.worker.runDue();
  }

  /** The security notices sent to `address` so far, singles and summaries apart, each checked to go there. */
  function mailsTo(address: string): { singles: ParsedMail[]; summaries: ParsedMail[] } {
    const mails = smtp.to(address);
    for (const mail of mails) expect(toAddress(mail)).toBe(address);
    return {
      singles: mails.filter((m) => String(m.text).includes("Your account's sign-in changed\n")),
      summaries: mails.filter((m) => String(m.text).includes("Your account's sign-in changed several times")),
    };
  }

  const occurrences = (text: unknown, what: string) => String(text).split(what).length - 1;

  /** `count` tokens for the person, made `stepMs` apart from `from` (all before SENT). */
  async function tokensFor(userId: string, count: number, from: number, stepMs = 1000): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      clock.set(new Date(from + i * stepMs).toISOString());
      await t.vault.credentials.createCredential(systemActor(), userId, 'api_token', `script ${i}`);
    }
  }

  /**
   * A person made `before` tokens, then their address changed to `renamed` by the directory (from `network`), then
   * `after` more tokens, a second apart; the worker runs at SENT.
   */
  async function addressChangedInBurst(before: number, renamed: string, network: string, after: number): Promise<{ person: { id: string; email: string }; start: number }> {
    const { secret } = await t.vault.scim.tokens.create(systemActor(), org.id, `Entra ID ${renamed}`);
    const directory = await t.vault.scim.tokens.authenticate(secret, { channel: 'api', clientAddress: network, requestId: null });
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, before, start);
    clock.set(new Date(start + (before + 1) * 1000).toISOString());
    await t.vault.scim.users.patch(directory, person.id, { userName: renamed });
    await tokensFor(person.id, after, start + (before + 2) * 1000);
    await runAt(start, SENT);
    return { person, start };
  }

  it('sends 3 of a burst of 10 notices one by one and, at the window\'s end, one summary naming the other 7', async () => {
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, 10, start);
    await runAt(start, SENT);
    expect(mailsTo(person.email).singles).toHaveLength(3);
    expect(mailsTo(person.email).summaries).toHaveLength(0);

    // Not before the window ends.
    await runAt(start, SENT + WINDOW_MS - 1000);
    expect(mailsTo(person.email).summaries).toHaveLength(0);
    await runAt(start, SENT + WINDOW_MS);
    const { singles, summaries } = mailsTo(person.email);
    expect(singles).toHaveLength(3);
    expect(summaries).toHaveLength(1);
    const [summary] = summaries;
    expect(summary!.subject).toBe('7 more changes were made to your Strongroom account\'s sign-in');
    expect(occurrences(summary!.text, TOKEN_CREATED)).toBe(7);
    expect(occurrences(summary!.text, 'By: The operator of Strongroom (on the server\'s command line)')).toBe(7);
    expect(String(summary!.text)).toContain('7. A new API token was created');
    expect(String(summary!.text)).not.toContain('8. ');

    // The next change, after the window, opens a new one: sent at once, alone.
    await tokensFor(person.id, 1, start + SENT + WINDOW_MS + 60_000);
    await runAt(start, SENT + WINDOW_MS + 61_000);
    expect(mailsTo(person.email).singles).toHaveLength(4);
    expect(mailsTo(person.email).summaries).toHaveLength(1);
  });

  it('tells the OLD address of an address change made in a burst at once, its held notices in its own summary, and the new one of what came after', async () => {
    const renamed = `burst.renamed@${org.slug}.gov.uk`;
    const { person, start } = await addressChangedInBurst(4, renamed, '198.51.100.9', 2);
    // The address change is never held (NEVER_HELD): the fourth token waits, the change does not.
    expect(mailsTo(person.email).singles).toHaveLength(4);
    expect(String(mailsTo(person.email).singles[3]!.text)).toContain(`The e-mail address of your account was changed from this address to ${renamed}.`);
    expect(String(mailsTo(person.email).singles[3]!.text)).toContain('From network: 198.51.100.9');
    expect(mailsTo(renamed).singles).toHaveLength(0);

    await runAt(start, SENT + WINDOW_MS);
    const old = mailsTo(person.email);
    expect(old.singles).toHaveLength(4);
    expect(old.summaries).toHaveLength(1);
    expect(old.summaries[0]!.subject).toBe('1 more change was made to your Strongroom account\'s sign-in');
    expect(occurrences(old.summaries[0]!.text, TOKEN_CREATED)).toBe(1);
    const now = mailsTo(renamed);
    expect(now.singles).toHaveLength(0);
    expect(now.summaries).toHaveLength(1);
    expect(now.summaries[0]!.subject).toBe('3 more changes were made to your Strongroom account\'s sign-in');
    expect(String(now.summaries[0]!.text)).toContain('1. This address is now the e-mail address of your account.');
    expect(occurrences(now.summaries[0]!.text, TOKEN_CREATED)).toBe(2);
  });

  it('never holds a change that hands the account to someone else: three token notices first, then the address change still goes at once', async () => {
    // Someone holding a stolen session spends the window's singles on trivial changes, then changes the address and
    // the password: the owner must hear of those now, not at the window's end.
    const taken = `taken.over@${org.slug}.gov.uk`;
    const { person, start } = await addressChangedInBurst(3, taken, '198.51.100.7', 1);
    const old = mailsTo(person.email);
    expect(old.singles.map((m) => m.subject)).toEqual([
      ...Array(3).fill('A new API token was created for your Strongroom account'), 'The e-mail address of your Strongroom account was changed',
    ]);
    expect(String(old.singles[3]!.text)).toContain(`The e-mail address of your account was changed from this address to ${taken}.`);
    expect(old.summaries).toHaveLength(0);

    // What can wait still waits: the new address's notice and the token after it, in one summary to the new address.
    await runAt(start, SENT + WINDOW_MS);
    expect(mailsTo(person.email).summaries).toHaveLength(0);
    const now = mailsTo(taken);
    expect(now.singles).toHaveLength(0);
    expect(now.summaries.map((m) => m.subject)).toEqual(['2 more changes were made to your Strongroom account\'s sign-in']);
  });

  it('splits a flood into summaries of at most 100 notices each, so no mail outgrows what a relay takes', async () => {
    // A token in a loop for an hour held thousands of notices; one mail listing them all (megabytes) is refused by
    // the council's relay every time, retried for a day and dead-lettered: the owner heard of none of them.
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, 3 + 105, start, 50);
    await runAt(start, SENT);
    expect(mailsTo(person.email).singles).toHaveLength(3);
    await runAt(start, SENT + WINDOW_MS);
    const { singles, summaries } = mailsTo(person.email);
    expect(singles).toHaveLength(3);
    expect(summaries.map((m) => m.subject)).toEqual([
      '100 more changes were made to your Strongroom account\'s sign-in', '5 more changes were made to your Strongroom account\'s sign-in',
    ]);
    expect(occurrences(summaries[0]!.text, TOKEN_CREATED)).toBe(100);
    expect(occurrences(summaries[1]!.text, TOKEN_CREATED)).toBe(5);
  });

  it('forgets a finished window\'s notices with the finished jobs, 30 days on, even if no later notice opens a window', async () => {
    // A held notice keeps its message: the network it came from and a new address, personal data kept no longer
    // than the send-email job that carried it, which the daily prune deletes after 30 days.
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, 5, start);
    await runAt(start, SENT);
    await runAt(start, SENT + WINDOW_MS);
    expect(mailsTo(person.email).summaries).toHaveLength(1);
    expect(await t.vault.store.repos.mail.latestNoticeWindow(person.id)).toEqual({ openedAt: new Date(start + SENT).toISOString(), counted: 5 });

    const prune = async (days: number) => {
      const now = new Date(start + SENT + WINDOW_MS + days * 86_400_000);
      clock.set(now.toISOString());
      await t.vault.store.transaction((repos) => repos.jobs.enqueue(pruneFinishedJobsJob, { day: now.toISOString().slice(0, 10) }, { now, organisationId: null }));
      await t.vault.worker.runDue();
    };
    await prune(29);
    expect(await t.vault.store.repos.mail.latestNoticeWindow(person.id)).toEqual({ openedAt: new Date(start + SENT).toISOString(), counted: 5 });
    await prune(31);
    expect(await t.vault.store.repos.mail.latestNoticeWindow(person.id)).toBeUndefined();
  });

  it('loses no notice when sending fails: the singles and the summary are retried, and each is sent once', async () => {
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, 6, start);
    await smtp.stop();
    try {
      await runAt(start, SENT);
    } finally {
      await smtp.start();
    }
    expect(mailsTo(person.email).singles).toHaveLength(0);
    // The first attempts' backoff is 30 seconds; each retry is still a notice sent alone (its fate was decided once).
    await runAt(start, 60_000);
    expect(mailsTo(person.email).singles).toHaveLength(3);
    expect(mailsTo(person.email).summaries).toHaveLength(0);

    await smtp.stop();
    try {
      await runAt(start, SENT + WINDOW_MS);
    } finally {
      await smtp.start();
    }
    expect(mailsTo(person.email).summaries).toHaveLength(0);
    await runAt(start, SENT + WINDOW_MS + 60_000);
    const { singles, summaries } = mailsTo(person.email);
    expect(singles).toHaveLength(3);
    expect(summaries).toHaveLength(1);
    expect(occurrences(summaries[0]!.text, TOKEN_CREATED)).toBe(3);
  });

  it('keeps a notice sent alone alone while its send is retried, even after the person\'s next window opens', async () => {
    // The relay down past the window's end: the next window's notices forgot the first window's decisions, and the
    // first notices, retried, were decided again in it and held, a summary instead of the alarm they were.
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, 3, start);
    const later = SENT + WINDOW_MS + 1000;
    await smtp.stop();
    try {
      await runAt(start, SENT);
      await tokensFor(person.id, 3, start + later - 500, 100);
      await runAt(start, later);
    } finally {
      await smtp.start();
    }
    expect(mailsTo(person.email).singles).toHaveLength(0);
    await runAt(start, later + 2 * 3_600_000);
    const { singles, summaries } = mailsTo(person.email);
    expect(singles).toHaveLength(6);
    expect(summaries).toHaveLength(0);
  });

  it('sends the summary from the database after the node restarts', async () => {
    const person = await org.user({});
    const start = Date.now();
    await tokensFor(person.id, 5, start);
    await runAt(start, SENT);
    expect(mailsTo(person.email).singles).toHaveLength(3);

    // Last in the suite: the organisation's factory holds the vault stopped here.
    t = await t.restarted();
    await runAt(start, SENT + WINDOW_MS);
    const { singles, summaries } = mailsTo(person.email);
    expect(singles).toHaveLength(3);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.subject).toBe('2 more changes were made to your Strongroom account\'s sign-in');
    expect(occurrences(summaries[0]!.text, TOKEN_CREATED)).toBe(2);
  });
});
