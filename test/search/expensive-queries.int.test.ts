// One person must not be able to stall search (on SQLite, the whole server) with expensive queries:
// a repeated term or clause is searched once; each search's time in the index is charged to the
// searcher and their organisation, and past either share (or with a search of theirs still running) a
// search is refused before it runs, 429 with Retry-After, on REST and the web page; on PostgreSQL a
// statement past STRONGROOM_SEARCH_TIMEOUT_MS is cancelled and answered 400, and charged all the same.
// The index's time is made long by a spy that moves the test's clock while the real search runs.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { IndexQuery } from '../../src/domain/search/repositories.js';
import { DatabaseUnavailableError } from '../../src/db/driver-errors.js';
import { SEARCH_READER_DOWN } from '../../src/db/sqlite-read-worker.js';
import { ukDate } from '../../src/domain/records/retention.js';
import { runCli } from '../support/cli.js';
import { expectProblem } from '../support/http.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient } from '../ui/support.js';
import { canaryWord, drainJobs, searchAs } from './support.js';

const clamd = useClamd();

/** The real time when created, then only moved by the test (so charges and Retry-After are exact). */
function steppedClock() {
  let now = Date.now();
  return { now: () => new Date(now), advance: (ms: number) => { now += ms; } };
}

const BUDGET_ENV = { STRONGROOM_SEARCH_MS_PER_PERSON: '10000', STRONGROOM_SEARCH_MS_PER_ORGANISATION: '15000', STRONGROOM_SEARCH_WINDOW_SECONDS: '60' };
const OVER_BUDGET = (seconds: number) => `You have run many long searches in the last minute. Try again in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}, or use fewer or rarer words.`;

/** The search statement timeout here: long enough for nothing else, stopped for certain while the index is held. */
const TIMEOUT_MS = '300';

/**
 * Runs `work` while another connection holds the search index's scope table (ACCESS EXCLUSIVE), so a
 * search statement waits on it until its timeout stops it: slow for certain, however fast the machine.
 */
async function whileIndexHeld<T>(databaseUrl: string, work: () => Promise<T>): Promise<T> {
  const holder = new pg.Client({ connectionString: databaseUrl });
  await holder.connect();
  try {
    await holder.query('begin');
    await holder.query('lock table search_documents in access exclusive mode');
    return await work();
  } finally {
    await holder.query('rollback').catch(() => undefined);
    await holder.end();
  }
}

async function opened(dialect: (typeof DIALECTS)[number], env: Record<string, string>, clock: ReturnType<typeof steppedClock>) {
  const t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true, env, clock });
  const address = t.app.server.address();
  return { t, base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

describe.each(DIALECTS)('expensive searches on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let north: TestOrganisation;
  let south: TestOrganisation;
  const clock = steppedClock();
  const word = canaryWord();
  /** What the next searches cost on the clock (0: what they take, which the clock does not see). */
  let cost = 0;
  let seen: IndexQuery[] = [];

  beforeAll(async () => {
    ({ t, base } = await opened(dialect, BUDGET_ENV, clock));
    north = await createOrganisation(t.vault);
    south = await createOrganisation(t.vault);
    const uploader = await north.user({ teams: ['finance'] });
    for (const [name, text] of [['a.txt', `council tax ${word}`], ['b.txt', `council payroll ${word}`], ['c.txt', `county rates ${word}`]] as const) {
      expect((await upload(t.app, uploader, north.collections.finance!, name, text)).statusCode).toBe(201);
    }
    await drainJobs(t.vault);
    const index = t.vault.store.repos.search;
    const search = index.search.bind(index);
    vi.spyOn(index, 'search').mockImplementation(async (request) => {
      seen.push(request);
      clock.advance(cost);
      return search(request);
    });
  }, 60_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  it('searches a repeated word or prefix once, with the same results as without the repetition', async () => {
    const member = await north.user({ teams: ['finance'] });
    seen = [];
    const once = await searchAs(t.app, member, { q: `cou* ${word}` });
    const repeated = await searchAs(t.app, member, { q: `cou* cou* cou* ${word} ${word} cou* OR cou*` });
    expect([once.statusCode, repeated.statusCode]).toEqual([200, 200]);
    const body = (res: typeof once) => {
      const { q: _q, ...rest } = res.json() as Record<string, unknown>;
      return rest;
    };
    expect(body(repeated)).toEqual(body(once));
    expect((body(once) as { total: number }).total).toBe(3);
    expect(seen.map((r) => r.query)).toEqual([
      { all: [{ anyOf: [{ kind: 'prefix', prefix: 'cou' }] }, { anyOf: [{ kind: 'word', term: word }] }], none: [] },
      { all: [{ anyOf: [{ kind: 'prefix', prefix: 'cou' }] }, { anyOf: [{ kind: 'word', term: word }] }], none: [] },
    ]);
  });

  it("refuses a person past their search time (429, Retry-After, on REST and the web page) until the window has passed; another council's people are unaffected", async () => {
    const alice = await north.user({ teams: ['finance'] });
    const bob = await south.user({ teams: ['finance'] });
    cost = 6_000;
    try {
      expect((await searchAs(t.app, alice, { q: word })).statusCode).toBe(200);
      expect((await searchAs(t.app, alice, { q: word })).statusCode).toBe(200);
      seen = [];
      // 12 s spent: the first search, ended at +6 s, leaves the window 54 s from now (+12 s).
      const refused = await searchAs(t.app, alice, { q: word });
      const problem = expectProblem(refused, 429);
      expect([problem.detail, problem.retryAfterSeconds, refused.headers['retry-after']]).toEqual([OVER_BUDGET(54), 54, '54']);
      const web = new FormClient(base);
      await web.signIn(alice.email);
      const page = await web.get(`/search?q=${word}`);
      expect([page.status, page.headers.get('retry-after')]).toEqual([429, '54']);
      // Said on the search page's own box, the words kept, not as an error page.
      expect(page.text).toContain(`<a href="#q">${OVER_BUDGET(54)}</a>`);
      expect(page.text).toMatch(new RegExp(`<input\\s+class="govuk-input sr-search-form__input govuk-input--error" id="q" name="q" type="search"[^>]*value="${word}"`));
      expect(seen).toEqual([]);

      // Taking no time on the (shared) clock, so Alice's window is where it was.
      cost = 0;
      expect((await searchAs(t.app, bob, { q: word })).statusCode).toBe(200);

      clock.advance(53_000);
      expect(expectProblem(await searchAs(t.app, alice, { q: word }), 429).detail).toBe(OVER_BUDGET(1));
      clock.advance(1_000);
      expect((await searchAs(t.app, alice, { q: word })).statusCode).toBe(200);
    } finally {
      cost = 0;
      clock.advance(60_000);
    }
  });

  it("keeps a subject access request's page when the DPO's search is refused for time spent: the sentence on its search box, 429 and Retry-After", async () => {
    const dpo = await north.user({ roles: ['dpo'], teams: ['finance'] });
    const web = new FormClient(base);
    await web.signIn(dpo.email);
    const form = await web.get('/subject-access/new');
    expect(form.status).toBe(200);
    const opened = await web.post('/subject-access', { _csrf: FormClient.csrf(form.text), subjectName: 'Sam Smith', receivedOn: ukDate(new Date()) });
    expect(opened.status, opened.text.slice(0, 600)).toBe(303);
    const url = opened.location!.split('?')[0]!;
    cost = 11_000;
    try {
      expect((await searchAs(t.app, dpo, { q: word })).statusCode).toBe(200);
      seen = [];
      // 11 s spent by a search that ended now: the window passes in 60 s.
      const page = await web.get(`${url}?q=${word}`);
      expect([page.status, page.headers.get('retry-after')]).toEqual([429, '60']);
      expect(page.text).toContain(`<a href="#q">${OVER_BUDGET(60)}</a>`);
      expect(page.text).toContain('Sam Smith');
      expect(page.text).toContain(`value="${word}"`);
      expect(seen).toEqual([]);
    } finally {
      cost = 0;
      clock.advance(60_000);
    }
  });

  it('says on the search box, 503 with Retry-After, that search is not available when the index cannot be read', async () => {
    const member = await north.user({ teams: ['finance'] });
    const web = new FormClient(base);
    await web.signIn(member.email);
    vi.mocked(t.vault.store.repos.search.search).mockRejectedValueOnce(new DatabaseUnavailableError(SEARCH_READER_DOWN, 5, new Error('the reader died')));
    const page = await web.get(`/search?q=${word}`);
    expect([page.status, page.headers.get('retry-after')]).toEqual([503, '5']);
    expect(page.text).toContain(`<a href="#q">${SEARCH_READER_DOWN}</a>`);
    expect(page.text).toMatch(new RegExp(`id="q" name="q" type="search"[^>]*value="${word}"`));
  });

  it('refuses a second search while the same person has one running', async () => {
    const carol = await north.user({ teams: ['finance'] });
    const index = t.vault.store.repos.search;
    const search = vi.mocked(index.search).getMockImplementation()!;
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let started!: () => void;
    const running = new Promise<void>((resolve) => { started = resolve; });
    vi.mocked(index.search).mockImplementationOnce(async (request) => {
      started();
      await held;
      return search(request);
    });
    const first = searchAs(t.app, carol, { q: word });
    await running;
    const second = await searchAs(t.app, carol, { q: word });
    const problem = expectProblem(second, 429);
    expect([problem.detail, second.headers['retry-after']]).toEqual(['You already have a search running. Wait for it to finish, then try again.', '1']);
    release();
    expect((await first).statusCode).toBe(200);
    expect((await searchAs(t.app, carol, { q: word })).statusCode).toBe(200);
  });
});

describe('a search past the statement timeout on postgres', () => {
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let member: TestUser;
  const clock = steppedClock();
  const word = canaryWord();

  beforeAll(async () => {
    ({ t, base } = await opened('postgres', { ...BUDGET_ENV, STRONGROOM_SEARCH_TIMEOUT_MS: TIMEOUT_MS }, clock));
    org = await createOrganisation(t.vault);
    member = await org.user({ teams: ['finance'] });
    expect((await upload(t.app, member, org.collections.finance!, 'a.txt', `council tax ${word}`)).statusCode).toBe(201);
    await drainJobs(t.vault);
  }, 60_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  it('answers 400 "took too long" on REST and the web page, never 500 or 503, and charges the time', async () => {
    const index = t.vault.store.repos.search;
    const search = index.search.bind(index);
    vi.spyOn(index, 'search').mockImplementation(async (request) => {
      clock.advance(6_000);
      return search(request);
    });
    const res = await whileIndexHeld(t.vault.config.databaseUrl!, () => searchAs(t.app, member, { q: `cou* tax ${word}` }));
    const problem = expectProblem(res, 400);
    expect([problem.detail, res.headers['retry-after']]).toEqual(['Your search took too long. Use fewer or more specific words.', undefined]);
    const web = new FormClient(base);
    await web.signIn(member.email);
    const page = await whileIndexHeld(t.vault.config.databaseUrl!, () => web.get(`/search?q=${word}`));
    expect(page.status).toBe(400);
    expect(page.text).toContain('Your search took too long. Use fewer or more specific words.');
    // Two timed-out searches of 6 s each: the third is over the person's 10 s.
    expect(expectProblem(await searchAs(t.app, member, { q: word }), 429).detail).toBe(OVER_BUDGET(54));
  });

  it('the CLI says so too (a process of its own, under the same timeout)', async () => {
    const cli = await whileIndexHeld(t.vault.config.databaseUrl!, () => runCli(['--data', t.dataDir, 'search', '--as', member.email, `cou* tax ${word}`], {
      env: { STRONGROOM_CLAMD: clamd.socketPath, STRONGROOM_DATABASE_URL: t.vault.config.databaseUrl!, STRONGROOM_SEARCH_TIMEOUT_MS: TIMEOUT_MS },
    }));
    expect([cli.code, cli.stdout]).toEqual([1, '']);
    expect(cli.stderr).toContain('Your search took too long. Use fewer or more specific words.');
  }, 60_000);
});
