// An outsider's attacks on search that once worked, each pinned by its exact contract:
// - a version found infected on rescan, while it is still the indexed one (a newer clean version waits
//   for its extraction), kept its words and snippets in results;
// - whoever can write the search tables (a database administrator on PostgreSQL) could point one
//   document's index row at another document's version, of another council or a higher classification
//   in the same one, and have that text decrypted into a snippet shown under the first document's name;
// - a reader of PostgreSQL's search_terms learned the length of every word of every document, in order
//   (each position carried the word's lexeme and one per prefix of 3 characters or more);
// - whoever can write search_documents on PostgreSQL could rewrite its copy of a document's scope
//   columns and have that document's name and snippet shown to someone its documents row does not allow;
// - on SQLite, a hit's score (and so the order of the hits) came from bm25 over the whole index, whose
//   weight for each word counts the sections holding it in every council, every team and every
//   classification: anyone could tell, from their own documents' scores, whether and how often a word
//   they cannot read appears anywhere in the vault;
// - a renamed document kept its former name in the index until a job renamed it there (as long as the
//   worker's queue took): searching the former name found it, and the snippet showed that name, which
//   nobody who may only read the document is otherwise told; and a search-rename job queued before that
//   change, reading the name outside the document's row lock, wrote back the former name over a rename
//   that committed between its read and its write.
import { sql } from 'kysely';
import { describe, expect, it, vi } from 'vitest';
import { DocumentsRepo } from '../../src/db/repos/documents.repo.js';
import { searchRenameJob } from '../../src/domain/jobs/kinds.js';
import { api } from '../support/http.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { createOrganisation, DIALECTS, upload } from '../support/vault.js';
import { canaryWord, drainJobs, foundIds, searchAs, type SearchHitBody } from './support.js';

const clamd = useClamd();

describe.each(DIALECTS)('search under attack on %s', (dialect) => {
  const t = useTestVault(dialect, clamd);

  it('a version found infected on rescan leaves search at once, even while it is still the indexed text', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['finance'] });
    const [oldWord, newWord] = [canaryWord(), canaryWord()];
    const id = (await upload(t.app, user, org.collections.finance!, 'plan.txt', `Plan ${oldWord}\n`)).json().id as string;
    await drainJobs(t.vault);
    const firstVersion = (await t.vault.store.repos.documents.byId(id))!.currentVersionId;
    expect((await api(t.app, user).put(`documents/${id}/content`, `Plan revised ${newWord}\n`)).statusCode).toBe(200);
    // The new version is clean but not yet extracted: the old text is what the index holds.
    expect(await foundIds(t.app, user, oldWord)).toEqual([id]);
    // What QuarantineService.rescanSince writes for a version a new signature detects.
    await t.vault.store.repos.documents.updateVersionScan(firstVersion, { status: 'infected', detail: 'Eicar-Test-Signature', engine: 'ClamAV test', at: new Date().toISOString() });
    const res = await searchAs(t.app, user, { q: oldWord });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ total: 0, hits: [], facets: { organisation: [] } });
    await drainJobs(t.vault);
    expect(await foundIds(t.app, user, newWord)).toEqual([id]);
    expect(await foundIds(t.app, user, oldWord)).toEqual([]);
  });

  it('an index row pointed at another document\'s version never shows that text in a snippet', async () => {
    const mine = await createOrganisation(t.vault);
    const theirs = await createOrganisation(t.vault);
    const me = await mine.user({ teams: ['finance'] });
    const them = await theirs.user({ teams: ['payroll'] });
    const [myWord, secret, sameOrgSecret] = [canaryWord(), canaryWord(), canaryWord()];
    const myDoc = (await upload(t.app, me, mine.collections.finance!, 'mine.txt', `Agenda ${myWord}\n`)).json().id as string;
    const theirDoc = (await upload(t.app, them, theirs.collections.payroll!, 'theirs.txt', `Agenda ${myWord} salary ${secret}\n`)).json().id as string;
    const hrUser = await mine.user({ teams: ['hr'] });
    const hrDoc = (await upload(t.app, hrUser, mine.collections.hr!, 'grievance.txt', `Agenda ${myWord} grievance ${sameOrgSecret}\n`)).json().id as string;
    await drainJobs(t.vault);
    const db = t.vault.store.db;
    const versionOf = async (documentId: string) => (await t.vault.store.repos.documents.byId(documentId))!.currentVersionId;
    const before = await searchAs(t.app, me, { q: myWord });
    expect(before.json().hits.map((h: SearchHitBody) => h.documentId)).toEqual([myDoc]);

    const myVersion = await versionOf(myDoc);
    for (const [victim, word, victimOrg] of [[theirDoc, secret, theirs.id], [hrDoc, sameOrgSecret, mine.id]] as const) {
      const victimVersion = await versionOf(victim);
      // My document's index entry now names the victim's version: the document is not found (its
      // indexed version is not one of its own), and nothing of the victim's text shows.
      await sql`update search_documents set version_id = ${victimVersion} where document_id = ${myDoc}`.execute(db);
      const swapped = await searchAs(t.app, me, { q: myWord });
      expect(swapped.statusCode, swapped.body).toBe(200);
      expect(swapped.json()).toMatchObject({ total: 0, hits: [] });
      expect(swapped.body).not.toContain(word);
      if (dialect === 'postgres') {
        // Deeper: the version row and the victim's sections claim my document (and organisation) too.
        // Only the seal, bound to the organisation and document it was made for, still says no.
        await sql`update versions set document_id = ${myDoc}, organisation_id = ${mine.id}, number = 99 where id = ${victimVersion}`.execute(db);
        await sql`update search_sections set document_id = ${myDoc}, organisation_id = ${mine.id} where version_id = ${victimVersion}`.execute(db);
        const forged = await searchAs(t.app, me, { q: myWord });
        expect(forged.body).not.toContain(word);
        expect(forged.statusCode, forged.body).toBe(500);
        expect(forged.json().detail).toContain('failed its integrity check');
        await sql`update search_sections set document_id = ${victim}, organisation_id = ${victimOrg} where version_id = ${victimVersion}`.execute(db);
        await sql`update versions set document_id = ${victim}, organisation_id = ${victimOrg}, number = 1 where id = ${victimVersion}`.execute(db);
      }
      await sql`update search_documents set version_id = ${myVersion} where document_id = ${myDoc}`.execute(db);
    }
    expect((await searchAs(t.app, me, { q: myWord })).json().hits.map((h: SearchHitBody) => h.documentId)).toEqual([myDoc]);
  });

  it("a hit's score and place depend only on documents the searcher may read, never on others holding the same words", async () => {
    const mine = await createOrganisation(t.vault);
    const other = await createOrganisation(t.vault);
    const me = await mine.user({ teams: ['finance'], clearance: 'OFFICIAL' });
    const hr = await mine.user({ teams: ['hr'] });
    const financeSenior = await mine.user({ teams: ['finance'] });
    const stranger = await other.user({ teams: ['payroll'] });
    const [secret, control] = [canaryWord(), canaryWord()];
    // Two documents of mine alike but for one word: the word probed, and a control word nobody else has.
    const probe = (await upload(t.app, me, mine.collections.finance!, 'probe-a.txt', `Notes ${secret} filed\n`)).json().id as string;
    const check = (await upload(t.app, me, mine.collections.finance!, 'probe-b.txt', `Notes ${control} filed\n`)).json().id as string;
    await drainJobs(t.vault);
    const answer = async () => {
      const out: unknown[] = [];
      for (const q of [secret, `${secret} OR ${control}`, `notes ${secret}`]) {
        const res = await searchAs(t.app, me, { q });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as { total: number; hits: (SearchHitBody & { score: number })[] };
        out.push({ q, total: body.total, hits: body.hits.map((h) => ({ id: h.documentId, score: h.score })) });
      }
      return out;
    };
    const before = await answer();
    expect((before[1] as { hits: { id: string }[] }).hits.map((h) => h.id).sort()).toEqual([probe, check].sort());
    // The secret word now fills documents I may not read: another council's, another team's of my own
    // council, and one of my own team's classified above my clearance.
    for (let i = 0; i < 3; i++) {
      expect((await upload(t.app, stranger, other.collections.payroll!, `tribunal-${i}.txt`, `Tribunal ${secret} ${secret} bundle\n`)).statusCode).toBe(201);
      expect((await upload(t.app, hr, mine.collections.hr!, `grievance-${i}.txt`, `Grievance ${secret} notes\n`)).statusCode).toBe(201);
    }
    const sensitive = (await upload(t.app, financeSenior, mine.collections.finance!, 'restructure.txt', `Restructure ${secret}\n`)).json().id as string;
    expect((await api(t.app, financeSenior).post(`documents/${sensitive}/classification`, { classification: 'OFFICIAL-SENSITIVE', reason: 'restructure' })).statusCode).toBe(200);
    await drainJobs(t.vault);
    expect(await answer()).toEqual(before);
  });

  it("a prefix's or a phrase's score depends only on readable documents, never on others holding words of the prefix", async () => {
    const mine = await createOrganisation(t.vault);
    const other = await createOrganisation(t.vault);
    const me = await mine.user({ teams: ['finance'] });
    const stranger = await other.user({ teams: ['payroll'] });
    const [stem, control] = [canaryWord(), canaryWord()];
    const probe = (await upload(t.app, me, mine.collections.finance!, 'probe-c.txt', `Notes ${stem}a filed\n`)).json().id as string;
    const check = (await upload(t.app, me, mine.collections.finance!, 'probe-d.txt', `Notes ${control} filed\n`)).json().id as string;
    await drainJobs(t.vault);
    const answer = async () => {
      const out: unknown[] = [];
      for (const q of [`${stem}* OR ${control}`, `"notes ${stem}a" OR ${control}`]) {
        const res = await searchAs(t.app, me, { q });
        expect(res.statusCode, res.body).toBe(200);
        const body = res.json() as { hits: (SearchHitBody & { score: number })[] };
        out.push({ q, hits: body.hits.map((h) => ({ id: h.documentId, score: h.score })) });
      }
      return out;
    };
    const before = await answer();
    for (const { hits } of before as { hits: { id: string }[] }[]) expect(hits.map((h) => h.id).sort()).toEqual([probe, check].sort());
    // Another council's documents fill the prefix with words of their own (each expansion a term of the
    // index), and hold the phrase.
    for (let i = 0; i < 4; i++) {
      const words = `${stem}a ${stem}b${i} ${stem}zz notes ${stem}a`;
      expect((await upload(t.app, stranger, other.collections.payroll!, `tribunal-${i}.txt`, `Tribunal ${words}\n`)).statusCode).toBe(201);
    }
    await drainJobs(t.vault);
    expect(await answer()).toEqual(before);
  });

  it('a renamed document is found by its new name only, and never shows its former one, with no job run', async () => {
    const org = await createOrganisation(t.vault);
    const owner = await org.user({ teams: ['finance'] });
    const colleague = await org.user({ teams: ['finance'] });
    const [formerWord, newWord, textWord] = [canaryWord(), canaryWord(), canaryWord()];
    const id = (await upload(t.app, owner, org.collections.finance!, `Dismissal ${formerWord}.txt`, `Case notes ${textWord}\n`)).json().id as string;
    await drainJobs(t.vault);
    expect(await foundIds(t.app, colleague, formerWord)).toEqual([id]);
    const renamed = await api(t.app, owner).patch(`documents/${id}`, { name: `Case 17 ${newWord}.txt` });
    expect(renamed.statusCode, renamed.body).toBe(200);
    for (const ran of ['no job run', 'the queue drained']) {
      const former = await searchAs(t.app, colleague, { q: formerWord });
      expect(former.statusCode, ran).toBe(200);
      expect(former.json(), ran).toMatchObject({ total: 0, hits: [], facets: { organisation: [] } });
      const current = await searchAs(t.app, colleague, { q: newWord });
      const [hit] = (current.json() as { hits: SearchHitBody[] }).hits;
      expect(hit, ran).toMatchObject({ documentId: id, name: `Case 17 ${newWord}.txt`, snippet: { text: `Case 17 ${newWord}.txt`, highlights: [[8, 8 + newWord.length]] } });
      const byText = await searchAs(t.app, colleague, { q: textWord });
      expect(byText.json().hits.map((h: SearchHitBody) => [h.documentId, h.name]), ran).toEqual([[id, `Case 17 ${newWord}.txt`]]);
      for (const res of [current, byText]) expect(res.body, ran).not.toContain(formerWord);
      await drainJobs(t.vault);
    }
  });

  it('a search-rename job queued before renames wrote the index never writes back a name a rename replaced meanwhile', async () => {
    const org = await createOrganisation(t.vault);
    const owner = await org.user({ teams: ['finance'] });
    const [formerWord, newWord] = [canaryWord(), canaryWord()];
    const id = (await upload(t.app, owner, org.collections.finance!, `Dismissal ${formerWord}.txt`, 'Case notes\n')).json().id as string;
    await drainJobs(t.vault);
    await t.vault.store.repos.jobs.enqueue(searchRenameJob, { documentId: id }, { now: new Date(Date.now() - 1000), organisationId: null });
    // A rename arrives just after the job has read the document: it is let run (up to 2 s) before the
    // job goes on to write the index.
    let rename: Promise<{ statusCode: number }> | undefined;
    const byId = DocumentsRepo.prototype.byId;
    const spy = vi.spyOn(DocumentsRepo.prototype, 'byId').mockImplementation(async function (this: DocumentsRepo, documentId: string) {
      const read = await byId.call(this, documentId);
      if (documentId === id && rename === undefined) {
        rename = api(t.app, owner).patch(`documents/${id}`, { name: `Case 17 ${newWord}.txt` });
        await Promise.race([rename, new Promise((resolve) => setTimeout(resolve, 2_000))]);
      }
      return read;
    });
    try {
      await drainJobs(t.vault);
    } finally {
      spy.mockRestore();
    }
    expect((await rename!).statusCode).toBe(200);
    await drainJobs(t.vault);
    expect(await foundIds(t.app, owner, formerWord)).toEqual([]);
    expect(await foundIds(t.app, owner, newWord)).toEqual([id]);
  });
});

// The blind index and its copy of the scope exist on PostgreSQL only (SQLite's index is inside the
// encrypted file, and its search reads documents).
describe('search under attack on postgres: what the blind index holds', () => {
  const t = useTestVault('postgres', clamd);

  it("an index row whose copy of the scope is rewritten in the database shows no name or text the documents row does not allow", async () => {
    const org = await createOrganisation(t.vault);
    const me = await org.user({ teams: ['finance'] });
    const hr = await org.user({ teams: ['hr'] });
    const [word, secret] = [canaryWord(), canaryWord()];
    const mine = (await upload(t.app, me, org.collections.finance!, 'minutes.txt', `Minutes ${word}\n`)).json().id as string;
    const theirs = (await upload(t.app, hr, org.collections.hr!, 'grievance-smith.txt', `Minutes ${word} grievance ${secret}\n`)).json().id as string;
    await drainJobs(t.vault);
    expect(await foundIds(t.app, me, word)).toEqual([mine]);
    // The HR document's index row now claims the finance service area; the documents row still says HR.
    await sql`update search_documents set doc_service_area = 'finance' where document_id = ${theirs}`.execute(t.vault.store.db);
    const res = await searchAs(t.app, me, { q: word });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().hits.map((h: SearchHitBody) => h.documentId)).toEqual([mine]);
    expect(res.body).not.toContain('grievance');
    expect(res.body).not.toContain(secret);
    // The first change of the document puts the copy right again.
    await sql`update documents set updated_at = ${new Date().toISOString()} where id = ${theirs}`.execute(t.vault.store.db);
    expect((await searchAs(t.app, me, { q: word })).json()).toMatchObject({ total: 1, hits: [{ documentId: mine }] });
    // A version found infected, which the copy is rewritten to call clean: its words show nothing either.
    const infected = (await t.vault.store.repos.documents.byId(mine))!.currentVersionId;
    await t.vault.store.repos.documents.updateVersionScan(infected, { status: 'infected', detail: 'Eicar-Test-Signature', engine: 'ClamAV test', at: new Date().toISOString() });
    expect((await searchAs(t.app, me, { q: word })).json()).toMatchObject({ total: 0, hits: [] });
    await sql`update search_documents set version_scan_status = 'clean' where document_id = ${mine}`.execute(t.vault.store.db);
    const rewritten = await searchAs(t.app, me, { q: word });
    expect(rewritten.statusCode, rewritten.body).toBe(200);
    expect(rewritten.json().hits).toEqual([]);
    expect(rewritten.body).not.toContain('minutes.txt');
  });

  it('the blind index shows a database reader one lexeme per word position, never the words\' lengths', async () => {
    const org = await createOrganisation(t.vault);
    const user = await org.user({ teams: ['finance'] });
    const word = canaryWord();
    const id = (await upload(t.app, user, org.collections.finance!, 'lengths.txt', `a an the ward parish council committee ${word} representatives\n`)).json().id as string;
    await drainJobs(t.vault);
    const rows = await sql<{ tsv: string }>`select tsv::text as tsv from search_terms where document_id = ${id}`.execute(t.vault.store.db);
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const { tsv } of rows.rows) {
      const perPosition = new Map<string, number>();
      for (const [, positions] of tsv.matchAll(/'[0-9a-f]{24}'(?::([0-9,]+))?/g)) {
        for (const position of positions?.split(',') ?? []) perPosition.set(position, (perPosition.get(position) ?? 0) + 1);
      }
      expect([...perPosition.values()].every((n) => n === 1), tsv).toBe(true);
    }
    // Prefixes and phrases still work.
    expect(await foundIds(t.app, user, 'commit*')).toEqual([id]);
    expect(await foundIds(t.app, user, `"committee ${word}"`)).toEqual([id]);
    expect(await foundIds(t.app, user, '"committee parish"')).toEqual([]);
  });
});
