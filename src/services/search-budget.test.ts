import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import type { Actor } from '../domain/types.js';
import { SearchBudget } from './search-budget.js';

function clock(start = Date.parse('2026-12-06T09:00:00.000Z')) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => { now += ms; } };
}

const person = (userId: string, organisationId: string): Actor => ({
  kind: 'user', userId, organisationId, roles: ['member'], teams: [], clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null,
} as unknown as Actor);

/** Runs one search that takes `ms` on the clock; returns the refusal instead if there is one. */
function search(budget: SearchBudget, c: ReturnType<typeof clock>, actor: Actor, ms: number): DomainError | null {
  try {
    const charge = budget.admit(actor);
    c.advance(ms);
    charge.finish();
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

/**
 * `actor` is refused with `message`, Retry-After `seconds` and `limit`; still refused (1 s) a millisecond
 * before those seconds have passed, and let through once they have.
 */
function expectRefusedFor(budget: SearchBudget, c: ReturnType<typeof clock>, actor: Actor, seconds: number, limit: string, message: string): void {
  const refused = search(budget, c, actor, 1);
  expect([refused?.code, refused?.message, refused?.details]).toEqual(['RATE_LIMITED', message, { retryAfterSeconds: seconds, limit }]);
  c.advance(seconds * 1000 - 1);
  expect(search(budget, c, actor, 1)?.details).toEqual({ retryAfterSeconds: 1, limit });
  c.advance(1);
  expect(search(budget, c, actor, 1)).toBeNull();
}

describe('SearchBudget', () => {
  it('refuses a person over their share until the window has passed, saying when to try again', () => {
    const c = clock();
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 30_000, windowMs: 60_000, atOnce: 4 }, c);
    const alice = person('alice', 'north');
    expect(search(budget, c, alice, 6_000)).toBeNull();
    c.advance(1_000);
    expect(search(budget, c, alice, 5_000)).toBeNull();
    // 11 s spent: refused; the first search (ended at +6 s) leaves the window at +66 s, 54 s from now (+12 s).
    expectRefusedFor(budget, c, alice, 54, 'person', 'You have run many long searches in the last minute. Try again in 54 seconds, or use fewer or rarer words.');
  });

  it("charges the organisation too; another organisation's people are unaffected", () => {
    const c = clock();
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 15_000, windowMs: 60_000, atOnce: 4 }, c);
    expect(search(budget, c, person('a1', 'north'), 9_000)).toBeNull();
    expect(search(budget, c, person('a2', 'north'), 9_000)).toBeNull();
    const refused = search(budget, c, person('a3', 'north'), 1);
    expect([refused?.message, refused?.details]).toEqual([
      'People in your organisation have run many long searches in the last minute. Try again in 51 seconds, or use fewer or rarer words.',
      { retryAfterSeconds: 51, limit: 'organisation' },
    ]);
    expect(search(budget, c, person('b1', 'south'), 9_000)).toBeNull();
  });

  it('says the longer wait when both the person and their organisation are past their shares, so trying again then is let through', () => {
    const c = clock();
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 15_000, windowMs: 60_000, atOnce: 4 }, c);
    const alice = person('alice', 'north');
    expect(search(budget, c, alice, 6_000)).toBeNull();
    expect(search(budget, c, alice, 5_000)).toBeNull();
    expect(search(budget, c, person('bob', 'north'), 14_000)).toBeNull();
    // At +25 s alice's own share frees at +66 s (41 s), the organisation's only at +71 s (46 s): 46 it is.
    expectRefusedFor(budget, c, alice, 46, 'organisation', 'People in your organisation have run many long searches in the last minute. Try again in 46 seconds, or use fewer or rarer words.');
  });

  it('lets one person run one search at a time', () => {
    const c = clock();
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 30_000, windowMs: 60_000, atOnce: 4 }, c);
    const first = budget.admit(person('alice', 'north'));
    expect(() => budget.admit(person('alice', 'north'))).toThrow(expect.objectContaining({
      code: 'RATE_LIMITED', message: 'You already have a search running. Wait for it to finish, then try again.', details: { retryAfterSeconds: 1, limit: 'running' },
    }));
    budget.admit(person('bob', 'north')).finish();
    first.finish();
    first.finish();
    budget.admit(person('alice', 'north')).finish();
  });

  it('runs at most its number of searches at once on the node, whoever asks; one finishing frees its place', () => {
    const c = clock();
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 30_000, windowMs: 60_000, atOnce: 2 }, c);
    const first = budget.admit(person('alice', 'north'));
    const second = budget.admit(person('bob', 'south'));
    expect(() => budget.admit(person('carol', 'east'))).toThrow(expect.objectContaining({
      code: 'RATE_LIMITED', message: 'Many searches are running at the moment. Try again in a second.', details: { retryAfterSeconds: 1, limit: 'node' },
    }));
    // A refused search takes no place and charges nothing: carol is let in once one finishes, and only then.
    first.finish();
    first.finish();
    budget.admit(person('carol', 'east')).finish();
    const third = budget.admit(person('dave', 'east'));
    expect(() => budget.admit(person('erin', 'west'))).toThrow(expect.objectContaining({ details: { retryAfterSeconds: 1, limit: 'node' } }));
    second.finish();
    third.finish();
    expect(search(budget, c, person('erin', 'west'), 1)).toBeNull();
  });

  it('counts statements still running past their timeout against the node\'s searches at once, and says so', () => {
    const c = clock();
    let abandoned = 1;
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 30_000, windowMs: 60_000, atOnce: 2, abandoned: () => abandoned }, c);
    const first = budget.admit(person('alice', 'north'));
    const slowFinishing = expect.objectContaining({
      code: 'RATE_LIMITED', message: 'Searches that took too long are still finishing on this server. Try again in a few seconds.', details: { retryAfterSeconds: 5, limit: 'node' },
    });
    expect(() => budget.admit(person('bob', 'south'))).toThrow(slowFinishing);
    first.finish();
    abandoned = 2;
    expect(() => budget.admit(person('bob', 'south'))).toThrow(slowFinishing);
    abandoned = 1;
    const second = budget.admit(person('bob', 'south'));
    second.finish();
    abandoned = 0;
    budget.admit(person('carol', 'east'));
    budget.admit(person('dave', 'west'));
    expect(() => budget.admit(person('erin', 'west'))).toThrow(expect.objectContaining({ message: 'Many searches are running at the moment. Try again in a second.' }));
  });

  it('forgets who has not searched for a whole window', () => {
    const c = clock();
    const budget = new SearchBudget({ perPersonMs: 10_000, perOrganisationMs: 30_000, windowMs: 60_000, atOnce: 4 }, c);
    expect(search(budget, c, person('alice', 'north'), 1_000)).toBeNull();
    expect(search(budget, c, person('bob', 'south'), 1_000)).toBeNull();
    expect(budget.tracked()).toBe(4);
    c.advance(61_000);
    expect(search(budget, c, person('carol', 'east'), 1_000)).toBeNull();
    expect(budget.tracked()).toBe(2);
  });
});
