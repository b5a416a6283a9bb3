import { describe, expect, it } from 'vitest';
import { signInLinkId, unissuedLinkTaken } from './sign-in-link-record.js';

const event = (action: string, ids: Record<string, string>, decision: 'allow' | 'deny' = 'allow', userId = 'p1') => ({ action, decision, targetIds: { userId, ...ids } });
const mailed = (link: string) => event('mail.sign-in-link', { link });
const taken = (link: string) => event('user.invitation-accept', { link });
const resetByMail = event('user.password-reset', { delivery: 'e-mail' });
const resetShown = (link: string) => event('user.password-reset', { delivery: 'link-shown', link });
const NAMED = 'Person p1 set a password with a link that was not their latest one issued, or that was used already: its row was put back in the database directly, not by Strongroom.';

describe('a link that sets a password is one issued, and used once', () => {
  it('ids a link by its stored hash, one way', () => {
    expect(signInLinkId('h1')).not.toBe(signInLinkId('h2'));
    expect(signInLinkId('h1')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signInLinkId('h1')).not.toContain('h1');
  });

  it('passes each latest issued link taken once: an invitation, a reset by e-mail, a reset shown, a resend', () => {
    expect(unissuedLinkTaken([mailed('A'), taken('A')])).toBeNull();
    expect(unissuedLinkTaken([mailed('A'), taken('A'), resetByMail, mailed('B'), taken('B'), resetShown('C'), taken('C')])).toBeNull();
    expect(unissuedLinkTaken([mailed('A'), mailed('B'), taken('B')])).toBeNull();
    // Another person's links are theirs.
    expect(unissuedLinkTaken([mailed('A'), event('mail.sign-in-link', { link: 'Z' }, 'allow', 'p2'), taken('A')])).toBeNull();
  });

  it('names an old link put back after a reset, one used twice, one replaced, and one its reset withdrew', () => {
    expect(unissuedLinkTaken([mailed('A'), taken('A'), resetByMail, mailed('B'), taken('A')])).toBe(NAMED);
    expect(unissuedLinkTaken([mailed('A'), taken('A'), resetByMail, taken('A')])).toBe(NAMED);
    expect(unissuedLinkTaken([resetShown('C'), taken('C'), resetByMail, mailed('B'), taken('C')])).toBe(NAMED);
    expect(unissuedLinkTaken([mailed('A'), taken('A'), taken('A')])).toBe(NAMED);
    expect(unissuedLinkTaken([mailed('A'), mailed('B'), taken('A')])).toBe(NAMED);
    expect(unissuedLinkTaken([mailed('A'), resetByMail, taken('A')])).toBe(NAMED);
  });

  it('names a link a disable or a password change withdrew, put back and taken later; a link issued after them passes', () => {
    const disabled = event('user.disable', {});
    const changed = event('auth.password-change', {});
    expect(unissuedLinkTaken([resetShown('C'), disabled, taken('C')])).toBe(NAMED);
    expect(unissuedLinkTaken([mailed('A'), changed, taken('A')])).toBe(NAMED);
    expect(unissuedLinkTaken([resetShown('C'), disabled, resetShown('D'), taken('D')])).toBeNull();
    // Denied (a wrong current password) withdraws nothing; nor does a disable before any link was named.
    expect(unissuedLinkTaken([mailed('A'), event('auth.password-change', {}, 'deny'), taken('A')])).toBeNull();
    expect(unissuedLinkTaken([disabled, taken('A')])).toBeNull();
  });

  it('lets pass what was recorded before links were named, until a link is named again; denied events are nothing', () => {
    // No issuance recorded (an invitation mailed before mail.sign-in-link), or one without its link.
    expect(unissuedLinkTaken([taken('A')])).toBeNull();
    expect(unissuedLinkTaken([event('mail.sign-in-link', {}), taken('A')])).toBeNull();
    expect(unissuedLinkTaken([event('user.password-reset', { delivery: 'link-shown' }), taken('A')])).toBeNull();
    expect(unissuedLinkTaken([mailed('A'), event('user.invitation-accept', {}), resetByMail, mailed('B'), taken('B')])).toBeNull();
    // From the next named issuance on, judged.
    expect(unissuedLinkTaken([event('mail.sign-in-link', {}), taken('A'), resetByMail, mailed('B'), taken('A')])).toBe(NAMED);
    expect(unissuedLinkTaken([mailed('A'), event('mail.sign-in-link', { link: 'B' }, 'deny'), taken('A')])).toBeNull();
    expect(unissuedLinkTaken([mailed('A'), taken('A'), event('user.invitation-accept', { link: 'A' }, 'deny')])).toBeNull();
  });
});
