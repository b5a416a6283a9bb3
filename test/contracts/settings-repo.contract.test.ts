// The settings repository's contract on every dialect: set replaces, replace only over the value expected, and two processes setting a key
// nobody has set yet at the same moment both succeed, the later value kept (never a failure on the key).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from '../support/store.js';
import { raceAgainstUncommitted } from '../support/uncommitted-race.js';
import { DIALECTS } from '../support/vault.js';

describe.each(DIALECTS)('settings repository on %s', (dialect) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(async () => {
    await t?.remove();
  });

  it('sets, then replaces', async () => {
    const key = `test.${randomUUID()}`;
    await t.store.repos.settings.set(key, 'one');
    await t.store.repos.settings.set(key, 'two');
    expect(await t.store.repos.settings.get(key)).toBe('two');
  });

  it('two first sets of one key at once: the later value is kept', async () => {
    const key = `test.${randomUUID()}`;
    await raceAgainstUncommitted(t.store, (repos) => repos.settings.set(key, 'first'), () => t.store.repos.settings.set(key, 'second'));
    expect(await t.store.repos.settings.get(key)).toBe('second');
  });

  it('replaces only the value expected, and none when none was expected', async () => {
    const key = `test.${randomUUID()}`;
    expect(await t.store.repos.settings.replace(key, undefined, 'one')).toBe(true);
    expect(await t.store.repos.settings.replace(key, undefined, 'other')).toBe(false);
    expect(await t.store.repos.settings.replace(key, 'two', 'three')).toBe(false);
    expect(await t.store.repos.settings.get(key)).toBe('one');
    expect(await t.store.repos.settings.replace(key, 'one', 'two')).toBe(true);
    expect(await t.store.repos.settings.get(key)).toBe('two');
  });

  it('two replaces of the same value at once: the one that waited for the other\'s commit changes nothing', async () => {
    const key = `test.${randomUUID()}`;
    await t.store.repos.settings.set(key, 'seen');
    let first: boolean | undefined;
    const second = await raceAgainstUncommitted(t.store, async (repos) => void (first = await repos.settings.replace(key, 'seen', 'first')), () => t.store.repos.settings.replace(key, 'seen', 'second'));
    expect([first, second]).toEqual([true, false]);
    expect(await t.store.repos.settings.get(key)).toBe('first');
  });
});
