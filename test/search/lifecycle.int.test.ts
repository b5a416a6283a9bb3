// Search follows a document's life, through REST on both dialects: a new version replaces the old text,
// a rename is found by the new name, a purge removes the text and index rows (and queues compaction);
// hostile queries answer 200 or 400, never 500; every search is audited without the query text; the CLI searches.
import { describe, expect, it } from 'vitest';
import { compactSearchJob } from '../../src/domain/jobs/kinds.js';
import { api, expectProblem } from '../support/http.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { createOrganisation, DIALECTS, realClockUnless, upload } from '../support/vault.js';
import { canaryWord, drainJobs, foundIds, searchAs } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('search lifecycle on %s', (dialect) => {
  // The real time, except where a test runs the bin purge some days later.
  const clock = realClockUnless();
  const t = useTestVault(dialect, clamd, { clock });

  async function member() {
    const org = await createOrganisation(t.vault);
    return { org, user: await org.user({ teams: ['finance'] }) };
  }

  it('a new version replaces the old text; a rename is found by its new name', async () => {
    const { org, user } = await member();
    const [oldWord, newWord, newName] = [canaryWord(), canaryWord(), canaryWord()];
    const id = (await upload(t.app, user, org.collections.finance!, 'budget.txt', `Draft budget ${oldWord}\n`)).json().id as string;
    await drainJobs(t.vault);
    expect(await foundIds(t.app, user, oldWord)).toEqual([id]);

    expect((await api(t.app, user).put(`documents/${id}/content`, `Final budget ${newWord}\n`)).statusCode).toBe(200);
    await drainJobs(t.vault);
    expect(await foundIds(t.app, user, oldWord)).toEqual([]);
    const hit = (await searchAs(t.app, user, { q: newWord })).json().hits[0];
    expect(hit).toMatchObject({ documentId: id, versionId: (await t.vault.store.repos.documents.byId(id))!.currentVersionId });

    expect((await api(t.app, user).patch(`documents/${id}`, { name: `budget ${newName}.txt` })).statusCode).toBe(200);
    await drainJobs(t.vault);
    expect(await foundIds(t.app, user, newName)).toEqual([id]);
    expect(await foundIds(t.app, user, newWord)).toEqual([id]);
    // No Thumbnailer is wired yet: a text file has none either way, and someone who may not read it is told the same.
    expect(expectProblem(await api(t.app, user).get(`documents/${id}/thumbnail`), 404).detail).toContain('thumbnail');
    const outsider = await org.user({ teams: ['hr'] });
    expect(expectProblem(await api(t.app, outsider).get(`documents/${id}/thumbnail`), 404).detail).toContain('document');
  });

  it('a purge from the bin removes the text and index rows and queues one compaction', async () => {
    const { org, user } = await member();
    const word = canaryWord();
    const id = (await upload(t.app, user, org.collections.finance!, 'old.txt', `Old contract ${word}\n`)).json().id as string;
    await drainJobs(t.vault);
    expect(await foundIds(t.app, user, word)).toEqual([id]);
    expect((await api(t.app, user).delete(`documents/${id}`)).statusCode).toBe(204);
    expect(await foundIds(t.app, user, word)).toEqual([]);
    // The purge, 31 days later, and the jobs it queues.
    clock.set(new Date(Date.now() + 31 * 24 * 3600 * 1000).toISOString());
    try {
      expect(await t.vault.disposal.purgeBin(org.id)).toMatchObject({ purged: [id], refused: [] });
      await drainJobs(t.vault);
    } finally {
      clock.set(null);
    }
    const rows = await t.vault.store.db.selectFrom('search_sections' as never).select((eb) => eb.fn.countAll().as('n')).where('document_id' as never, '=', id as never).executeTakeFirstOrThrow();
    expect(Number((rows as { n: number | string }).n)).toBe(0);
    const compactions = await t.vault.store.db.selectFrom('jobs').select(['status']).where('kind', '=', compactSearchJob.kind).where('status', '=', 'queued').execute();
    expect(compactions).toHaveLength(1);
    await t.vault.store.repos.search.compact();
    expect(await foundIds(t.app, user, word)).toEqual([]);
  });

  it('answers hostile queries with results or a clear 400, never a 500; pages past the last are refused', async () => {
    const { user } = await member();
    const NOTHING = 'Type a word to search for.';
    // Each string's exact answer: FTS operators are ordinary punctuation (200, no results); nothing
    // searchable, too long, or a prefix too short is a 400 saying so.
    const hostile: Array<[string, string | null]> = [
      ['"', NOTHING], ['""', NOTHING], ['NEAR(a b)', null], ['a AND', null], ['*', NOTHING], ['-', NOTHING], ['OR', NOTHING],
      ['^x', null], ['col:x', null], ['{a b}', null], ['a\u0000b', null], ['\'; drop table documents; --', null],
      ['x'.repeat(10_000), 'Your search is too long: use at most 500 characters.'], ['🙂 ☃', NOTHING], ['(((', NOTHING],
      ['a* b* c*', 'Put at least 3 letters or digits before the * in "a*".'],
    ];
    for (const [q, refusal] of hostile) {
      const res = await searchAs(t.app, user, { q });
      if (refusal === null) expect(res.statusCode, `${JSON.stringify(q.slice(0, 20))}: ${res.body.slice(0, 200)}`).toBe(200);
      else expect(expectProblem(res, 400).detail, JSON.stringify(q.slice(0, 20))).toBe(refusal);
    }
    expect(expectProblem(await searchAs(t.app, user, { q: 'budget', page: '51' }), 400).detail).toContain('1 to 50');
    expect(expectProblem(await searchAs(t.app, user, { q: 'budget', from: '2026-02-30' }), 400).detail).toContain('YYYY-MM-DD');
    expect(expectProblem(await searchAs(t.app, user, { q: 'budget', type: 'exe' }), 400).detail).toContain('Unknown type');
  });

  it('audits every search with a keyed hash of the query, its filters and count, never the query text', async () => {
    const { org, user } = await member();
    const word = canaryWord();
    await upload(t.app, user, org.collections.finance!, 'a.txt', `Invoice ${word}\n`);
    await drainJobs(t.vault);
    expect((await searchAs(t.app, user, { q: word, type: 'text' })).statusCode).toBe(200);
    const events = await t.vault.store.db.selectFrom('audit_events').selectAll().where('action', '=', 'search.query').where('actor_user_id', '=', user.id).execute();
    expect(events).toHaveLength(1);
    const ids = JSON.parse(String((events[0] as { target_ids: string }).target_ids)) as Record<string, string>;
    expect(ids).toMatchObject({ results: '1', page: '1', sort: 'relevance', 'filter.type': 'text' });
    expect(ids.queryHmac).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(events[0])).not.toContain(word);
  });
});
