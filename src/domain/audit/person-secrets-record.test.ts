import { describe, expect, it } from 'vitest';
import { mfaBinding, passwordBinding, replayedSignInSecret, unrecordedSignInSecret, type StoredSignInSecrets } from './person-secrets-record.js';

const person: StoredSignInSecrets = { id: 'p1', organisationId: 'o1', passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$first', mfaEnabled: false, mfaSecret: null };
const event = (action: string, ids: Record<string, string>, decision: 'allow' | 'deny' = 'allow') => ({ action, decision, targetIds: { userId: 'p1', ...ids } });
const created = event('user.create', { passwordBinding: passwordBinding('p1', person.passwordHash), mfaBinding: mfaBinding('p1', false, null) });

describe('passwords and MFA vouched for by their latest recorded write', () => {
  it('binds the person as well as the value', () => {
    expect(passwordBinding('p1', 'h')).not.toBe(passwordBinding('p2', 'h'));
    expect(passwordBinding('p1', null)).not.toBe(passwordBinding('p1', 'h'));
    expect(mfaBinding('p1', true, 'S')).not.toBe(mfaBinding('p1', false, 'S'));
  });

  it('passes a person as their latest writes left them, and names a password or MFA state changed since', () => {
    expect(unrecordedSignInSecret([person], [created])).toBeNull();
    expect(unrecordedSignInSecret([{ ...person, passwordHash: 'known' }], [created])).toBe(
      "Person p1 (organisation o1)'s password hash is not what their latest recorded password change set: it was written into the database directly, not by Strongroom.");
    expect(unrecordedSignInSecret([{ ...person, passwordHash: null }], [created])).toMatch(/password hash is not/);
    expect(unrecordedSignInSecret([{ ...person, mfaEnabled: true, mfaSecret: 'HELD' }], [created])).toBe(
      "Person p1 (organisation o1)'s two-factor authentication (on or off, or its secret) is not what their latest recorded set-up or reset left: it was written into the database directly, not by Strongroom.");
  });

  it('compares with the latest write, not any recorded once; denied events vouch for nothing', () => {
    const enrolled = { ...person, passwordHash: 'second', mfaEnabled: true, mfaSecret: 'S' };
    const events = [created, event('auth.password-change', { passwordBinding: passwordBinding('p1', 'second') }), event('auth.mfa-enrol', { mfaBinding: mfaBinding('p1', true, 'S') })];
    expect(unrecordedSignInSecret([enrolled], events)).toBeNull();
    expect(unrecordedSignInSecret([{ ...enrolled, passwordHash: person.passwordHash }], events)).toMatch(/password hash/);
    const reset = [...events, event('user.mfa-reset', { mfaBinding: mfaBinding('p1', false, null) })];
    expect(unrecordedSignInSecret([enrolled], reset)).toMatch(/two-factor/);
    expect(unrecordedSignInSecret([{ ...enrolled, mfaEnabled: false, mfaSecret: null }], reset)).toBeNull();
    expect(unrecordedSignInSecret([{ ...person, passwordHash: 'other' }], [created, event('auth.password-change', { passwordBinding: passwordBinding('p1', 'other') }, 'deny')])).toMatch(/password hash/);
  });

  it('tolerates a person whose latest write predates bindings, until it is next written', () => {
    const anything = { ...person, passwordHash: 'anything', mfaEnabled: true, mfaSecret: 'ANY' };
    expect(unrecordedSignInSecret([anything], [])).toBeNull();
    expect(unrecordedSignInSecret([anything], [event('user.create', {})])).toBeNull();
    // A write recorded without a binding after one with (an older build run again) leaves the person unchecked as before.
    expect(unrecordedSignInSecret([anything], [created, event('auth.password-change', {}), event('user.mfa-reset', {})])).toBeNull();
    expect(unrecordedSignInSecret([anything], [event('user.create', {}), event('auth.password-change', { passwordBinding: passwordBinding('p1', 'new') })])).toMatch(/password hash/);
    expect(unrecordedSignInSecret([anything], [event('user.create', {}), event('user.mfa-reset', { mfaBinding: mfaBinding('p1', false, null) })])).toMatch(/two-factor/);
  });
});

describe('a row put back whole to an earlier state of its own', () => {
  const invited = event('user.create', { passwordBinding: passwordBinding('p1', null), mfaBinding: mfaBinding('p1', false, null) });
  const accepted = event('user.invitation-accept', { passwordBinding: passwordBinding('p1', 'first') });
  const enrolled = event('auth.mfa-enrol', { mfaBinding: mfaBinding('p1', true, 'S') });
  const reset = event('user.mfa-reset', { mfaBinding: mfaBinding('p1', false, null) });

  it('passes what Strongroom does: an invitation taken once, MFA set up, reset and set up again', () => {
    expect(replayedSignInSecret([invited, accepted, event('auth.password-change', { passwordBinding: passwordBinding('p1', 'second') }), enrolled, reset, enrolled])).toBeNull();
    // Writes from before bindings are not judged; nor are refusals, nor someone else's writes.
    expect(replayedSignInSecret([event('user.invitation-accept', {}), event('user.invitation-accept', {}), event('auth.mfa-enrol', {}), event('auth.mfa-enrol', {})])).toBeNull();
    expect(replayedSignInSecret([invited, accepted, { ...accepted, decision: 'deny' }, enrolled, { ...enrolled, decision: 'deny' }])).toBeNull();
    expect(replayedSignInSecret([invited, accepted, enrolled, { ...accepted, targetIds: { ...accepted.targetIds, userId: 'p2' } }])).toBeNull();
  });

  it('names an invitation taken after a password was set, and MFA set up while it was on', () => {
    expect(replayedSignInSecret([invited, accepted, enrolled, accepted])).toBe(
      'Person p1 took an invitation after they had set a password: their row was put back to before their first password, in the database directly, not by Strongroom.');
    expect(replayedSignInSecret([created, event('user.invitation-accept', { passwordBinding: passwordBinding('p1', 'x') })])).toMatch(/took an invitation/);
    expect(replayedSignInSecret([invited, accepted, enrolled, enrolled])).toBe(
      'Person p1 set up two-factor authentication while it was on: their row was put back to a state with it off, in the database directly, not by Strongroom.');
  });

  it("passes an invitation taken after an admin's reset to no password, and names one taken again with no reset between", () => {
    const passwordReset = event('user.password-reset', { passwordBinding: passwordBinding('p1', null) });
    const acceptedAgain = event('user.invitation-accept', { passwordBinding: passwordBinding('p1', 'after reset') });
    expect(replayedSignInSecret([invited, accepted, passwordReset, acceptedAgain])).toBeNull();
    expect(replayedSignInSecret([invited, accepted, passwordReset, acceptedAgain, passwordReset, acceptedAgain])).toBeNull();
    // The reset's link taken, then the row put back to the reset's state and a link taken again.
    expect(replayedSignInSecret([invited, accepted, passwordReset, acceptedAgain, acceptedAgain])).toMatch(/^Person p1 took an invitation after they had set a password/);
    // A reset binding a hash (the first build's one-time password, still in older logs) is a password: no invitation after it.
    const toOneTime = event('user.password-reset', { passwordBinding: passwordBinding('p1', 'one-time') });
    expect(replayedSignInSecret([invited, accepted, toOneTime, acceptedAgain])).toMatch(/took an invitation/);
    // A refused reset vouches for nothing.
    expect(replayedSignInSecret([invited, accepted, { ...passwordReset, decision: 'deny' }, acceptedAgain])).toMatch(/took an invitation/);
  });

  it("checks a password against an admin's reset like any other write of it", () => {
    const passwordReset = event('user.password-reset', { passwordBinding: passwordBinding('p1', null) });
    expect(unrecordedSignInSecret([{ ...person, passwordHash: null }], [created, passwordReset])).toBeNull();
    expect(unrecordedSignInSecret([person], [created, passwordReset])).toMatch(/password hash is not/);
  });
});
