// STRONGROOM_SMTP_URL, _MAIL_FROM and _PUBLIC_URL: unset by default (mail goes to the log); with SMTP, the
// From address and the public address links point at are required, and every problem is listed at once.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({ env: { STRONGROOM_BACKUP: 'off', ...env } });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('e-mail settings', () => {
  it('are unset by default, so `make run` needs no mail server', () => {
    const config = loadConfig({ env: {} });
    expect(config.smtpUrl).toBeUndefined();
    expect(config.mailFrom).toBeUndefined();
    expect(config.publicUrl).toBeUndefined();
  });

  it('take an smtp:// or smtps:// URL with the From address and the public address (its trailing slash dropped)', () => {
    const config = loadConfig({ env: { STRONGROOM_SMTP_URL: 'smtps://vault:secret@mail.example.gov.uk:465', STRONGROOM_MAIL_FROM: 'Records vault <no-reply@example.gov.uk>', STRONGROOM_PUBLIC_URL: 'https://vault.example.gov.uk/' } });
    expect(config).toMatchObject({ smtpUrl: 'smtps://vault:secret@mail.example.gov.uk:465', mailFrom: 'Records vault <no-reply@example.gov.uk>', publicUrl: 'https://vault.example.gov.uk' });
    expect(loadConfig({ env: { STRONGROOM_SMTP_URL: 'smtp://127.0.0.1:25', STRONGROOM_MAIL_FROM: 'no-reply@example.gov.uk', STRONGROOM_PUBLIC_URL: 'http://127.0.0.1:8080' } }).mailFrom).toBe('no-reply@example.gov.uk');
  });

  it('refuse SMTP without the From address and the public address, naming both', () => {
    expect(problemsOf({ STRONGROOM_SMTP_URL: 'smtp://mail.example.gov.uk:587' })).toEqual([
      'STRONGROOM_PUBLIC_URL: needed with STRONGROOM_SMTP_URL, so links in e-mail point at the service (e.g. https://vault.example.gov.uk)',
      'STRONGROOM_MAIL_FROM: needed with STRONGROOM_SMTP_URL: the address e-mail comes from, e.g. "Records vault <no-reply@example.gov.uk>"',
    ]);
  });

  it('refuse a URL that is not SMTP, a From that is not an address and a public address that is not http(s), all at once', () => {
    expect(problemsOf({ STRONGROOM_SMTP_URL: 'http://mail.example.gov.uk', STRONGROOM_MAIL_FROM: 'Records vault', STRONGROOM_PUBLIC_URL: 'javascript:alert(1)' })).toEqual([
      'STRONGROOM_SMTP_URL: must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.gov.uk:587',
      'STRONGROOM_MAIL_FROM: must be an e-mail address, optionally with a name: "Records vault <no-reply@example.gov.uk>"',
      'STRONGROOM_PUBLIC_URL: must be an http:// or https:// address, e.g. https://vault.example.gov.uk',
    ]);
    expect(problemsOf({ STRONGROOM_SMTP_URL: 'smtp://mail.example.gov.uk', STRONGROOM_MAIL_FROM: 'Vault <a@b.c>\r\nBcc: x@y.z', STRONGROOM_PUBLIC_URL: 'https://vault.example.gov.uk' })).toEqual([
      'STRONGROOM_MAIL_FROM: must be an e-mail address, optionally with a name: "Records vault <no-reply@example.gov.uk>"',
    ]);
  });
});
