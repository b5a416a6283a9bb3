// Past 1,000 matches a search stops counting: REST says `total: 1000, totalIsLowerBound: true`, the
// results page "More than 1,000 results", the CLI "More than 1000 results"; the facets count the 1,000
// most recently changed matches, and the last page (50) is still full. 1,001 documents are written
// straight into the tables and the index (an upload each would take minutes), on both dialects.
import { mkdtemp } from 'node:fs/promises';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Document, Version } from '../../src/domain/types.js';
import { runCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { DIALECTS, createOrganisation, openTestVault, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient } from '../ui/support.js';
import { canaryWord, searchAs, type SearchHitBody } from './support.js';
import { removeDataDir } from '../support/vault-dir.js';

const clamd = useClamd();

/** 1,001 documents with `word`: the oldest changed in 2025, the other 1,000 in 2026 (one a minute). */
async function seed(t: TestVault, org: TestOrganisation, word: string): Promise<void> {
  const at = (i: number) => new Date(i === 0 ? Date.parse('2025-06-01T12:00:00.000Z') : Date.parse('2026-03-01T12:00:00.000Z') + i * 60_000).toISOString();
  for (let start = 0; start < 1001; start += 250) {
    await t.vault.store.transaction(async (repos) => {
      for (let i = start; i < Math.min(start + 250, 1001); i++) {
        const id = randomUUID();
        const versionId = randomUUID();
        const sha256 = randomBytes(32).toString('hex');
        const v: Version = {
          id: versionId, documentId: id, organisationId: org.id, number: 1, size: 10, sha256, mediaType: 'text/plain', blobId: randomBytes(16).toString('hex'),
          wrappedKey: new Uint8Array(randomBytes(40)), keyId: randomUUID(), scanStatus: 'clean', scanDetail: null, scanEngine: 'clamd', scannedAt: at(i), authorId: null, createdAt: at(i),
        };
        const d: Document = {
          id, organisationId: org.id, collectionId: org.collections.finance!, name: `note ${i}.txt`, classification: 'OFFICIAL', serviceArea: 'finance', status: 'available',
          currentVersion: 1, currentVersionId: versionId, size: 10, sha256, mediaType: 'text/plain', arrangementId: null, copiedFromDocumentId: null,
          copiedViaArrangementId: null, createdAt: at(i), updatedAt: at(i), deletedAt: null,
        };
        await repos.documents.insertDocument(d);
        await repos.documents.insertVersion(v);
        await repos.search.replaceDocument({ organisationId: org.id, documentId: id, versionId, name: d.name, type: 'text', sections: [{ page: null, text: `Grant note ${i} ${word}` }] });
      }
    });
  }
}

describe.each(DIALECTS)('a search past the count cap on %s', (dialect) => {
  let t: TestVault;
  let base: string;
  let org: TestOrganisation;
  let member: TestUser;
  const word = canaryWord();
  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, listen: true });
    const address = t.app.server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    org = await createOrganisation(t.vault);
    member = await org.user({ teams: ['finance'] });
    await seed(t, org, word);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('REST: total 1000 as a lower bound, facets of the 1,000 newest, and page 50 still full', async () => {
    const res = await searchAs(t.app, member, { q: word, sort: 'date' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { total: number; totalIsLowerBound: boolean; hits: SearchHitBody[]; facets: { year: { value: string; count: number }[]; organisation: { value: string; count: number }[] } };
    expect([body.total, body.totalIsLowerBound, body.hits.length]).toEqual([1000, true, 20]);
    expect(body.hits[0]!.name).toBe('note 1000.txt');
    // The 2025 document is the 1,001st by last change: not counted, so no 2025 in the year facet.
    expect(body.facets.year).toEqual([{ value: '2026', count: 1000 }]);
    expect(body.facets.organisation.map((f) => f.count)).toEqual([1000]);

    const last = (await searchAs(t.app, member, { q: word, sort: 'date', page: '50' })).json() as typeof body;
    expect([last.total, last.totalIsLowerBound, last.hits.length]).toEqual([1000, true, 20]);
    expect(last.hits.map((h) => h.name).at(-1)).toBe('note 1.txt');

    // Narrowed below the cap, the count is exact again.
    const narrowed = (await searchAs(t.app, member, { q: word, to: '2025-12-31' })).json() as typeof body;
    expect([narrowed.total, narrowed.totalIsLowerBound, narrowed.hits.map((h) => h.name)]).toEqual([1, false, ['note 0.txt']]);
    const relevance = (await searchAs(t.app, member, { q: word })).json() as typeof body;
    expect([relevance.total, relevance.totalIsLowerBound, relevance.facets.year]).toEqual([1000, true, [{ value: '2026', count: 1000 }]]);
  });

  it('the results page says "More than 1,000 results" and what the filter counts describe', async () => {
    const web = new FormClient(base);
    await web.signIn(member.email);
    const page = await web.get(`/search?q=${word}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(`<h2 class="govuk-heading-m" id="result-count">More than 1,000 results for ‘${word}’</h2>`);
    expect(page.text).toContain('<p class="govuk-body-s" id="facet-note">The numbers below count the 1,000 most recently changed results.</p>');
    expect(page.text).toMatch(/Showing 1 to 20 of more than 1,000 \(the first 1000 can be shown/);
    const exact = await web.get(`/search?q=${word}&to=2025-12-31`);
    expect(exact.text).toContain(`id="result-count">1 result for ‘${word}’</h2>`);
    expect(exact.text).not.toContain('id="facet-note"');
  });
});

describe('strongroom search past the count cap', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await removeDataDir(dir);
  });

  it('says "More than 1000 results"', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'sr-search-cap-'));
    dirs.push(dataDir);
    const t = await openTestVault({ dialect: 'sqlite', clamdSocket: clamd.socketPath, dataDir });
    const org = await createOrganisation(t.vault);
    const member = await org.user({ teams: ['finance'] });
    const word = canaryWord();
    await seed(t, org, word);
    await t.close();
    const found = await runCli(['--data', dataDir, 'search', '--as', member.email, word], { env: { STRONGROOM_CLAMD: clamd.socketPath } });
    expect(found.code, found.stderr).toBe(0);
    expect(found.stderr).toContain('More than 1000 results; page 1.');
    expect(found.stdout.trim().split('\n')).toHaveLength(20);
  }, 120_000);
});
