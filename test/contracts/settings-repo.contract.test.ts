// The settings repository's contract on every dialect: set replaces, and two processes setting a key
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
});
