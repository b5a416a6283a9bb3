// On SQLite a search's statements run on the search reader's thread (db/sqlite-read-worker.ts), not on
// the main thread every request needs: while one is running, other requests are answered; one that
// outlives STRONGROOM_SEARCH_TIMEOUT_MS is answered 400 as on PostgreSQL, and the thread is replaced.
// The reader is held, for certain, by the test seam that makes its thread wait before each statement
// exactly as a long statement would keep it busy (ReaderSettings.gate): no timing is relied on. Replacing the
// thread ends a wait at the gate at once, unlike a statement, which runs on: src/db/sqlite-read-worker.int.test.ts
// holds a real one for that.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem } from '../support/http.js';
import { useClamd } from '../support/fixture.js';
import { auth, createOrganisation, openTestVault, upload, type TestUser, type TestVault } from '../support/vault.js';
import { canaryWord, drainJobs, foundIds, searchAs } from './support.js';

const clamd = useClamd();

/** [0]: 1 holds the reader's statements; [1]: how many statements have reached it. */
const gate = new Int32Array(new SharedArrayBuffer(8));
const hold = (): void => void Atomics.store(gate, 0, 1);
const release = (): void => {
  Atomics.store(gate, 0, 0);
  Atomics.notify(gate, 0);
};
/** Resolves once the reader's thread has taken up its next statement (and is waiting at the gate). */
async function readerTakesUpStatement(): Promise<void> {
  const before = Atomics.load(gate, 1);
  for (let waited = 0; Atomics.load(gate, 1) === before; waited += 10) {
    if (waited > 20_000) throw new Error('no statement reached the search reader');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A vault whose search statements stop after `timeoutMs`, with one document holding a canary word. */
function useVault(timeoutMs: string) {
  const opened = { word: canaryWord() } as { t: TestVault; member: TestUser; documentId: string; word: string };
  beforeAll(async () => {
    opened.t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, env: { STRONGROOM_SEARCH_TIMEOUT_MS: timeoutMs }, searchReadGate: gate });
    const org = await createOrganisation(opened.t.vault);
    opened.member = await org.user({ teams: ['finance'] });
    const res = await upload(opened.t.app, opened.member, org.collections.finance!, 'rates.txt', `council tax ${opened.word}`);
    expect(res.statusCode).toBe(201);
    opened.documentId = (res.json() as { id: string }).id;
    await drainJobs(opened.t.vault);
  }, 60_000);
  afterEach(release);
  afterAll(async () => {
    release();
    await opened.t?.close();
  });
  return opened;
}

describe('a search on sqlite', () => {
  const v = useVault('60000');

  it('leaves the main thread free: other requests while a search is running, then the search', async () => {
    hold();
    const taken = readerTakesUpStatement();
    const { t, member, documentId, word } = v;
    const search = searchAs(t.app, member, { q: word });
    await taken;
    const health = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect([health.statusCode, health.json()]).toEqual([200, { status: 'ok' }]);
    const document = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${documentId}`, headers: auth(member) });
    expect([document.statusCode, (document.json() as { id: string }).id]).toEqual([200, documentId]);
    release();
    const res = await search;
    expect(res.statusCode).toBe(200);
    expect((res.json() as { hits: { documentId: string }[] }).hits.map((h) => h.documentId)).toEqual([documentId]);
  });
});

describe('a search past the statement timeout on sqlite', () => {
  const v = useVault('300');

  it('is answered 400 "took too long", as on PostgreSQL; the next search runs on a new thread', async () => {
    const { t, member, documentId, word } = v;
    hold();
    const res = await searchAs(t.app, member, { q: word });
    const problem = expectProblem(res, 400);
    expect([problem.detail, res.headers['retry-after']]).toEqual(['Your search took too long. Use fewer or more specific words.', undefined]);
    release();
    expect(await foundIds(t.app, member, word)).toEqual([documentId]);
  });
});
