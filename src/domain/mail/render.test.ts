// The mail renderer: every kind gives a subject, plain text and HTML; names from people cannot break out
// of the HTML or add header lines; the HTML loads nothing remote; essential kinds are the ones documented.
import { describe, expect, it } from 'vitest';
import { isEssential, MAIL_KINDS, mailMessageSchema, type AccountChangeMessage, type MailMessage } from './message.js';
import { renderAccountChangeSummary, renderMail } from './render.js';

const context = { serviceName: 'Records vault', publicUrl: 'https://vault.example.gov.uk', recipientName: 'Ada <b>Lovelace</b>' };
const HOSTILE = 'report"><script>alert(1)</script>\r\nBcc: everyone@example.com.txt';

const examples: MailMessage[] = [
  { kind: 'invitation', organisationName: 'Borsetshire <Council>', invitedBy: 'Jo Admin', signInWith: null },
  { kind: 'quarantine-uploader', documentId: 'd1', documentName: HOSTILE, versionNumber: 2, verdict: 'infected', detail: 'Malware detected (Eicar-Test-Signature)' },
  { kind: 'quarantine-admin', documentId: 'd1', versionNumber: 2, verdict: 'held', detail: 'Password-protected archive', size: 2048, at: '2026-11-30T10:00:00.000Z', file: { name: HOSTILE, collection: HOSTILE, classification: 'OFFICIAL', serviceArea: 'payroll' } },
  { kind: 'arrangement-proposal', arrangementId: 'a1', change: 'amended', terms: { hostName: 'Ambridge DC', serviceArea: 'payroll', purpose: HOSTILE, revision: 3 } },
  { kind: 'disposal-review', batchId: 'b1', dueBy: '2026-11-30', items: 3, excluded: 1 },
  { kind: 'storage-damaged', documentId: 'd1', versionNumber: 4 },
  { kind: 'subject-access-partner', requestId: 'r1', requesterName: HOSTILE, reference: HOSTILE, dueOn: '2027-01-05' },
  { kind: 'invitation', organisationName: 'Borsetshire <Council>', invitedBy: 'Jo Admin', signInWith: { provider: HOSTILE, organisationSlug: 'borset&shire' } },
  { kind: 'password-reset', organisationName: 'Borsetshire <Council>', resetBy: HOSTILE },
  { kind: 'account-change', change: 'app-password-created', at: '2026-12-05T14:30:00.000Z', by: 'administrator', byName: HOSTILE, organisationName: HOSTILE, clientAddress: HOSTILE, detail: HOSTILE, address: 'ada@example.gov.uk' },
  { kind: 'account-change', change: 'email-changed', at: '2026-12-05T14:30:00.000Z', by: 'directory', byName: null, organisationName: 'Borsetshire <Council>', clientAddress: null, detail: HOSTILE, address: 'ada@example.gov.uk' },
  { kind: 'account-change', change: 'recovery-code-used', at: '2026-12-05T14:30:00.000Z', by: 'you', byName: null, organisationName: HOSTILE, clientAddress: HOSTILE, detail: null, address: 'ada@example.gov.uk', recoveryCodesLeft: 1 },
  { kind: 'account-change', change: 'account-enabled', at: '2026-12-05T14:30:00.000Z', by: 'administrator', byName: HOSTILE, organisationName: HOSTILE, clientAddress: HOSTILE, detail: null, address: 'ada@example.gov.uk' },
];

describe('renderMail', () => {
  it.each(examples.map((m) => [m.kind, m] as const))('%s: a one-line subject, text and HTML that escape every name and load nothing', (_kind, message) => {
    const mail = renderMail(message, { ...context, invitationLink: 'https://vault.example.gov.uk/invitation/abc' });
    expect(mail.subject).not.toMatch(/[\r\n]/);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).not.toMatch(/<img|src=|url\(|<link|@import/i);
    expect(mail.html).toContain('Records vault');
    expect(mail.html).not.toMatch(/crown|GOV\.UK/); // the domain gov.uk is fine; the brand is not
    expect(mail.text).toContain('Dear Ada <b>Lovelace</b>,');
    expect(mail.text).not.toMatch(/\r/);
    // Every link goes to the service itself.
    for (const [, href] of mail.html.matchAll(/href="([^"]*)"/g)) expect(href).toMatch(/^https:\/\/vault\.example\.gov\.uk\//);
    expect(mailMessageSchema.parse(message)).toEqual(message);
  });

  it('names the file to the uploader and says what the quarantine page shows to the security admins', () => {
    const uploader = renderMail(examples[1]!, context);
    expect(uploader.subject).toBe('Your upload "report"><script>alert(1)</script> Bcc: everyone@example.com.txt" was quarantined');
    expect(uploader.html).toContain('report&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; Bcc: everyone@example.com.txt');
    const admin = renderMail(examples[2]!, context);
    expect(admin.text).toContain('Size: 2.0 KB');
    expect(admin.text).toContain('When: 30 November 2026 at 10:00 (UK time)');
    expect(admin.text).toContain('Review the quarantine:\nhttps://vault.example.gov.uk/admin/quarantine');
  });

  it('tells an uploader who may no longer read the document that a file of theirs was quarantined, without its name or a link to it', () => {
    const mail = renderMail({ kind: 'quarantine-uploader', documentId: 'd1', documentName: null, versionNumber: 3, verdict: 'infected', detail: 'Malware detected (Eicar)' }, context);
    expect(mail.subject).toBe('A file you uploaded was quarantined');
    expect(mail.text).toContain('Version 3 of a file you uploaded was quarantined because malware was found in it. You no longer have access to the document, so it is not named here.');
    expect(mail.html).not.toContain('/documents/d1');
  });

  it('tells a security admin above whose clearance the file is its classification and place, never its name', () => {
    const base = { kind: 'quarantine-admin', documentId: 'd1', versionNumber: 2, verdict: 'infected', detail: 'Malware detected (Eicar)', size: 68, at: '2026-11-30T10:00:00.000Z' } as const;
    const inFolder = renderMail({ ...base, file: { name: null, collection: 'Casework', classification: 'OFFICIAL-SENSITIVE', serviceArea: 'hr' } }, context);
    expect(inFolder.subject).toBe('Quarantined: a file classified OFFICIAL-SENSITIVE in Casework (hr), version 2');
    expect(inFolder.text).toContain('Document: a file classified OFFICIAL-SENSITIVE in Casework (hr), version 2');
    const hiddenFolder = renderMail({ ...base, file: { name: null, collection: null, classification: 'OFFICIAL-SENSITIVE', serviceArea: 'hr' } }, context);
    expect(hiddenFolder.subject).toBe('Quarantined: a file classified OFFICIAL-SENSITIVE in a collection classified OFFICIAL-SENSITIVE (hr), version 2');
    // Never decided for its recipient (the document was gone when it was sent): nothing about the file.
    expect(renderMail(base, context).subject).toBe('Quarantined: a file in your organisation, version 2');
  });

  it('puts the invitation link in both parts, and refuses to render an invitation without one', () => {
    const mail = renderMail(examples[0]!, { ...context, invitationLink: 'https://vault.example.gov.uk/invitation/abc' });
    expect(mail.subject).toBe('You have been invited to Records vault');
    expect(mail.text).toContain('Jo Admin has added you to Borsetshire <Council> in Records vault.');
    expect(mail.text).toContain('Set your password:\nhttps://vault.example.gov.uk/invitation/abc');
    expect(mail.html).toContain('href="https://vault.example.gov.uk/invitation/abc"');
    expect(() => renderMail(examples[0]!, context)).toThrow('an invitation needs its link');
  });

  it('puts a password reset\'s link in both parts, says MFA is unchanged, and refuses to render one without its link', () => {
    const message: MailMessage = { kind: 'password-reset', organisationName: 'Borsetshire <Council>', resetBy: 'Jo Admin' };
    const mail = renderMail(message, { ...context, invitationLink: 'https://vault.example.gov.uk/invitation/abc' });
    expect(mail.subject).toBe('Your Records vault password was reset');
    expect(mail.text).toContain('Jo Admin, your administrator at Borsetshire <Council>, reset your password. Your old password no longer works, and you were signed out everywhere.');
    expect(mail.text).toContain('It works once, and for 7 days. If you sign in with an authenticator app as well, that is unchanged');
    expect(mail.text).toContain('Set a new password:\nhttps://vault.example.gov.uk/invitation/abc');
    expect(mail.html).toContain('href="https://vault.example.gov.uk/invitation/abc"');
    expect(renderMail({ ...message, resetBy: null }, { ...context, invitationLink: 'https://vault.example.gov.uk/invitation/abc' }).text).toContain('Your administrator at Borsetshire <Council> reset your password.');
    expect(() => renderMail(message, context)).toThrow('a password reset needs its link');
  });

  it('says what changed in an account, when, by whom and from where, with no link at all, and what to do if it was not them', () => {
    const mail = renderMail(examples[9]!, context);
    expect(mail.subject).toBe('A new WebDAV app password was created for your Records vault account');
    // A detail given with it is not shown: a credential's name is its maker's words (account-notices.ts).
    expect(mail.text).toContain('A new WebDAV app password was created for your account (your account page lists it).');
    expect(mail.text).toContain('When: 5 December 2026 at 14:30 (UK time)\nBy: report"><script>alert(1)</script> Bcc: everyone@example.com.txt, an administrator of report');
    expect(mail.text).toContain('From network: report"><script>');
    expect(mail.text).toContain('If it was not you, or you did not expect it, tell an administrator of report');
    for (const message of examples.filter((m) => m.kind === 'account-change')) {
      const rendered = renderMail(message, context);
      expect(rendered.html).not.toMatch(/href=|https?:\/\//);
      expect(rendered.text).not.toMatch(/https?:\/\//);
    }
    const self = renderMail({ ...examples[9]!, change: 'password-changed', by: 'you', byName: null, clientAddress: null, detail: null } as MailMessage, context);
    expect(self.subject).toBe('Your Records vault password was changed');
    expect(self.text).toContain('By: You (signed in as yourself)');
    expect(self.text).not.toContain('From network');
    const old = renderMail(examples[10]!, context);
    expect(old.text).toContain('The e-mail address of your account was changed from this address to report"><script>');
    expect(old.text).toContain("By: Borsetshire <Council>'s directory (its identity provider's user provisioning)");
  });

  it('tells of a sign-in with a recovery code: no code, how many are left, and at few or none how to get new ones; the owner\'s name escaped', () => {
    const few = renderMail(examples[11]!, context);
    expect(few.subject).toBe('A recovery code was used to sign in to your Records vault account');
    expect(few.text).toContain('Someone signed in to your account with your password and one of your recovery codes, instead of a code from your authenticator app. That recovery code no longer works. You have 1 unused recovery code left.');
    expect(few.text).toContain('By: Whoever had your password and one of your recovery codes\nFrom network: report"><script>');
    expect(few.text).toContain('If this was you: you are running out of recovery codes. Ask an administrator of report"><script>alert(1)</script> Bcc: everyone@example.com.txt to reset your two-step verification: you then set it up again at your next sign-in, and are given new recovery codes.');
    expect(few.html).toContain('Ask an administrator of report&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; Bcc: everyone@example.com.txt to reset');
    const none = renderMail({ ...examples[11]!, recoveryCodesLeft: 0 } as MailMessage, context);
    expect(none.text).toContain('You have no unused recovery codes left.');
    expect(none.text).toContain('If this was you: without a recovery code, losing your authenticator app would leave you unable to sign in. Ask an administrator of');
    const plenty = renderMail({ ...examples[11]!, recoveryCodesLeft: 7 } as MailMessage, context);
    expect(plenty.text).toContain('You have 7 unused recovery codes left.');
    expect(plenty.text).toContain('If this was you, you need do nothing.');
    expect(plenty.text).not.toContain('reset your two-step verification');
    // A job queued before the count was carried still renders, without one.
    const older = renderMail(mailMessageSchema.parse({ ...examples[11]!, recoveryCodesLeft: undefined }), context);
    expect(older.text).toContain('That recovery code no longer works.\n');
    expect(older.text).not.toContain('unused recovery code');
  });

  it('tells of an account switched back on, naming who did it (escaped)', () => {
    const mail = renderMail(examples[12]!, context);
    expect(mail.subject).toBe('Your Records vault account was switched back on');
    expect(mail.text).toContain('Your account had been switched off and was switched on again, so it can be signed into once more.');
    expect(mail.text).toContain('By: report"><script>alert(1)</script> Bcc: everyone@example.com.txt, an administrator of report');
    expect(mail.html).toContain('report&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; Bcc: everyone@example.com.txt, an administrator of');
    expect(mail.text).toContain('If you expected this, you need do nothing.');
    const directory = renderMail({ ...examples[12]!, by: 'directory', byName: null, organisationName: 'Borsetshire <Council>' } as MailMessage, context);
    expect(directory.text).toContain("By: Borsetshire <Council>'s directory (its identity provider's user provisioning)");
  });

  it('summarises held security notices: each change numbered with its what, when, by whom and network, names escaped, no link', () => {
    const held = [examples[9]!, examples[10]!, examples[11]!] as AccountChangeMessage[];
    const mail = renderAccountChangeSummary(held, context);
    expect(mail.subject).toBe("3 more changes were made to your Records vault account's sign-in");
    expect(mail.text).toContain('1. A new WebDAV app password was created for your account');
    expect(mail.text).toContain('2. The e-mail address of your account was changed from this address to report"><script>');
    expect(mail.text).toContain('3. Someone signed in to your account with your password and one of your recovery codes');
    expect(mail.text.split('When: 5 December 2026 at 14:30 (UK time)').length - 1).toBe(3);
    expect(mail.text).toContain("By: Borsetshire <Council>'s directory (its identity provider's user provisioning)");
    expect(mail.text).toContain('If this was you: you are running out of recovery codes.');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toMatch(/href=|https?:\/\//);
    expect(mail.text).not.toMatch(/https?:\/\//);
    expect(mail.text).not.toContain('/account/email');
    expect(renderAccountChangeSummary([examples[12] as AccountChangeMessage], context).subject).toBe("1 more change was made to your Records vault account's sign-in");
  });

  it('tells how to opt out only in non-essential mail, and the essential kinds are the invitation, a password reset, a security notice, the uploader\'s notice and a partner\'s subject access request', () => {
    expect(MAIL_KINDS.filter((k) => k.essential).map((k) => k.kind)).toEqual(['invitation', 'password-reset', 'account-change', 'quarantine-uploader', 'subject-access-partner']);
    for (const message of examples) {
      const text = renderMail(message, { ...context, invitationLink: 'https://vault.example.gov.uk/invitation/abc' }).text;
      expect(text.includes('/account/email'), message.kind).toBe(!isEssential(message.kind));
    }
  });
});
