// Search benchmark (make bench-search): N generated documents (default 100,000) in several
// organisations with arrangements, indexed through the SearchIndex port on SQLite (encrypted file)
// and PostgreSQL; reports the index build rate and query p50/p95 with the permission filter applied,
// for a mix of queries and people. Writes bench/results/search-<date>.md.
//
// Environment: BENCH_SEARCH_DOCS (100000; BENCH_SEARCH_DOCS_SQLITE / _POSTGRES for one dialect), BENCH_SEARCH_QUERIES (300 per dialect),
// BENCH_SEARCH_DIALECTS (sqlite,postgres), STRONGROOM_TEST_PG_ADMIN_URL, BENCH_OUT, BENCH_SEARCH_ANSWERS (write every answer, to compare plans). BENCH_SEARCH_SQLITE_FILE keeps the
// SQLite index in that file (a fixed bench key) and, when it already exists, times queries on it without
// rebuilding: to compare query plans on the same index (the documents must match BENCH_SEARCH_DOCS_SQLITE).
// BENCH_SEARCH_POSTGRES_DB does the same on PostgreSQL with that database (created when absent, never dropped).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { readableScope } from '../src/domain/access/readable-scope.js';
import { parseSearchQuery } from '../src/domain/search/query.js';
import type { SearchIndex } from '../src/domain/search/repositories.js';
import type { DocumentType } from '../src/domain/search/types.js';
import type { Actor, Arrangement } from '../src/domain/types.js';
import { SQLITE_CACHE_DEFAULT_MIB } from '../src/config/limits.js';
import { openPostgres, openSqlite, type DatabaseHandle } from '../src/db/kysely.js';
import { migrate } from '../src/db/migrate.js';
import { Store } from '../src/db/store.js';
import { MasterKey } from '../src/storage/keys.js';
import { DerivedSearchKeys } from '../src/storage/search-keys.js';
import { adminUrl, createTestDatabase, databaseUrl, withAdminClient } from '../test/support/postgres.js';
import { nameKey } from '../src/domain/names.js';

const DEFAULT_DOCS = Number(process.env.BENCH_SEARCH_DOCS ?? 100_000);
/** BENCH_SEARCH_DOCS_SQLITE / BENCH_SEARCH_DOCS_POSTGRES override the count for one dialect. */
const docsFor = (dialect: string): number => Number(process.env[`BENCH_SEARCH_DOCS_${dialect.toUpperCase()}`] ?? DEFAULT_DOCS);
let DOCS = DEFAULT_DOCS;
const QUERIES = Number(process.env.BENCH_SEARCH_QUERIES ?? 300);
const DIALECTS = (process.env.BENCH_SEARCH_DIALECTS ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
const BATCH = 200;
const NOW = new Date();
const t0 = Date.now();
const log = (line: string): void => void process.stderr.write(`[search-bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);

// A deterministic generator, so both dialects index the same documents. Math.imul: the product of a
// 31-bit seed and the multiplier is past 2^53, so a plain `*` rounds away its low bits and the
// sequence fell into a short cycle (13,676 distinct values in 100,000 draws; a 100,000-document index
// held 447 distinct section texts).
let seed = 0x5eed;
const rand = (): number => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) & 0x7fffffff;
  return seed / 0x7fffffff;
};

// Council words first (the common ones), then made-up words from syllables for a long tail, drawn
// with a Zipf-like skew so a few words are in most documents and most are rare, as in real text.
const COUNCIL_WORDS = (
  'the of and to in for on with council tax payroll leave annual budget report contract tender rates rebate housing benefit planning ' +
  'application licence licensing committee minutes agenda meeting officer director service services resident residents payment payments ' +
  'invoice invoices supplier suppliers procurement finance financial year quarter monthly salary salaries pension pensions employee ' +
  'employees staff sickness absence holiday policy procedure review audit risk register assessment decision appeal complaint complaints ' +
  'response request information freedom data protection subject access school schools education children adult social care health safety ' +
  'waste collection recycling highways road roads parking permit permits enforcement notice notices environmental noise nuisance grant ' +
  'grants funding capital revenue reserves savings forecast variance overspend underspend business rates relief discount exemption arrears ' +
  'recovery summons liability order bailiff agent property properties building buildings maintenance repair repairs contractor works ' +
  'schedule programme project projects delivery partnership agreement shared arrangement district county borough parish ward member members ' +
  'cabinet scrutiny consultation public statement letter email telephone address postcode signed dated reference number account bank'
).split(' ');
const SYLLABLES = 'ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so su ta te ti to tu ven dor mar wick ton ham ford ley'.split(' ');
const VOCAB = [...COUNCIL_WORDS];
while (VOCAB.length < 20_000) {
  const n = 2 + Math.floor(rand() * 3);
  VOCAB.push(Array.from({ length: n }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join(''));
}
const word = (): string => VOCAB[Math.min(VOCAB.length - 1, Math.floor(VOCAB.length * rand() ** 3.5))]!;
const words = (n: number): string => Array.from({ length: n }, word).join(' ');

/**
 * Ids shaped like the server's random UUIDs (36 characters of random hex), deterministic here. How
 * PostgreSQL stores an index row depends on them: with 9-character ids the rows stayed under the
 * 128-byte TOAST target that 36-character ones pass, and ids full of zeros compress where random
 * ones do not (docs/performance.md "Search").
 */
const uuidOf = (kind: number, n: number): string => {
  const hex = createHash('sha256').update(`${kind}:${n}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
};
const ORGS = Array.from({ length: 6 }, (_, i) => uuidOf(1, i));
const AREAS = ['hr', 'payroll', 'finance', 'revenues_benefits'];
const TYPES: DocumentType[] = ['pdf', 'word', 'spreadsheet', 'email', 'text'];
const arrangementOf = (id: string, host: string, partners: string[], serviceArea: string): Arrangement => ({
  id, hostOrganisationId: host, partnerOrganisationIds: partners, serviceArea, purpose: 'shared service', lawfulBasis: 'public task', agreementReference: null,
  accessLevel: 'read', ceiling: 'OFFICIAL', startsAt: '2020-01-01T00:00:00.000Z', endsAt: null, annualSavingPounds: 0, status: 'active', acceptedBy: partners,
  revision: 1, termsRevision: 1, createdAt: '2020-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z',
});
const ARRANGEMENTS = [arrangementOf(uuidOf(6, 0), ORGS[0]!, [ORGS[1]!, ORGS[2]!], 'payroll'), arrangementOf(uuidOf(6, 1), ORGS[3]!, [ORGS[4]!], 'revenues_benefits')];
const user = (organisationId: string, teams: string[], roles: Actor['roles'] = ['member']): Actor => ({
  kind: 'user', userId: 'bench-user', organisationId, roles, teams, clearance: 'OFFICIAL', channel: 'api', clientAddress: null, requestId: null,
});
const PEOPLE: [string, Actor][] = [
  ['host payroll officer (own + 2 partners + workspace)', user(ORGS[0]!, ['payroll'])],
  ['partner payroll officer (own + workspace)', user(ORGS[1]!, ['payroll'])],
  ['records manager (whole organisation)', user(ORGS[5]!, [], ['records_manager'])],
  ['revenues officer (own + partner)', user(ORGS[3]!, ['revenues_benefits', 'finance'])],
];

const KEPT_SQLITE = process.env.BENCH_SEARCH_SQLITE_FILE;
/** The server's page cache (STRONGROOM_SQLITE_CACHE_MIB, as in config.ts), so the figures are what a server sees. */
const CACHE_MIB = Number(process.env.STRONGROOM_SQLITE_CACHE_MIB ?? SQLITE_CACHE_DEFAULT_MIB);

async function open(dialect: 'sqlite' | 'postgres', keys: DerivedSearchKeys): Promise<{ store: Store; handle: DatabaseHandle; size: () => Promise<number>; close: () => Promise<void>; reused?: boolean }> {
  if (dialect === 'sqlite' && KEPT_SQLITE !== undefined) {
    const reused = await stat(KEPT_SQLITE).then(() => true, () => false);
    const handle = openSqlite({ file: KEPT_SQLITE, key: Buffer.alloc(32, 7), cacheMib: CACHE_MIB });
    await migrate(handle.db, handle.caps);
    const store = new Store(handle, Buffer.alloc(32, 8), keys);
    const size = async () => (await stat(KEPT_SQLITE)).size + (await stat(`${KEPT_SQLITE}-wal`).then((s) => s.size, () => 0));
    return { store, handle, size, close: () => store.close(), reused };
  }
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(path.join(tmpdir(), 'sr-search-bench-'));
    const file = path.join(dir, 'bench.db');
    const handle = openSqlite({ file, key: randomBytes(32), cacheMib: CACHE_MIB });
    await migrate(handle.db, handle.caps);
    const store = new Store(handle, randomBytes(32), keys);
    const size = async () => (await stat(file)).size + (await stat(`${file}-wal`).then((s) => s.size, () => 0));
    return { store, handle, size, close: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
  }
  const kept = process.env.BENCH_SEARCH_POSTGRES_DB;
  if (kept !== undefined) {
    if (!/^[a-z0-9_]+$/.test(kept)) throw new Error('BENCH_SEARCH_POSTGRES_DB: lower-case letters, digits and _ only');
    const exists = await withAdminClient(adminUrl(), async (client) => (await client.query('select 1 from pg_database where datname = $1', [kept])).rowCount === 1);
    if (!exists) await withAdminClient(adminUrl(), (client) => client.query(`create database ${kept}`));
    const handle = openPostgres(databaseUrl(adminUrl(), kept), 4);
    await migrate(handle.db, handle.caps);
    const store = new Store(handle, Buffer.alloc(32, 8), keys);
    const reused = Number((await sql<{ n: string }>`select count(*) as n from search_documents`.execute(handle.db)).rows[0]!.n) > 0;
    const size = async () => Number((await sql<{ n: string }>`select pg_database_size(current_database()) as n`.execute(handle.db)).rows[0]!.n);
    return { store, handle, size, close: () => store.close(), reused };
  }
  const database = await createTestDatabase('srsearchbench');
  const handle = openPostgres(database.url, 4);
  await migrate(handle.db, handle.caps);
  const store = new Store(handle, randomBytes(32), keys);
  const size = async () => Number((await sql<{ n: string }>`select pg_database_size(current_database()) as n`.execute(handle.db)).rows[0]!.n);
  return { store, handle, size, close: async () => { await store.close(); await database.drop(); } };
}

async function seedRows(store: Store): Promise<{ collections: Map<string, string> }> {
  const db = store.db;
  const collections = new Map<string, string>();
  for (const [n, org] of ORGS.entries()) {
    await db.insertInto('organisations').values({ id: org, slug: `council-${n}`, name: `Council ${n}`, kind: 'district', region: 'North', created_at: NOW.toISOString() } as never).execute();
    for (const [a, area] of AREAS.entries()) {
      const id = uuidOf(5, n * 100 + a);
      await db.insertInto('collections').values({ id, organisation_id: org, parent_id: null, name: area, name_key: area, service_area: area, classification: 'OFFICIAL', arrangement_id: null, created_at: NOW.toISOString(), deleted_at: null } as never).execute();
      collections.set(`${org}/${area}`, id);
    }
  }
  for (const a of ARRANGEMENTS) await store.repos.arrangements.insert(a, null);
  return { collections };
}

interface Spec {
  id: string; versionId: string; organisationId: string; collectionId: string; serviceArea: string; classification: string; status: string; deleted: boolean;
  arrangementId: string | null; updatedAt: string; name: string; type: DocumentType; sections: { page: number | null; text: string }[];
}

function makeSpecs(collections: Map<string, string>): Spec[] {
  seed = 0x5eed;
  const specs: Spec[] = [];
  for (let i = 0; i < DOCS; i++) {
    const organisationId = ORGS[Math.floor(rand() * ORGS.length)]!;
    const serviceArea = AREAS[Math.floor(rand() * AREAS.length)]!;
    const workspace = ARRANGEMENTS.find((a) => a.hostOrganisationId === organisationId && a.serviceArea === serviceArea && rand() < 0.2);
    const pages = 1 + Math.floor(rand() * 3);
    specs.push({
      id: uuidOf(2, i), versionId: uuidOf(3, i), organisationId, collectionId: collections.get(`${organisationId}/${serviceArea}`)!, serviceArea,
      classification: rand() < 0.15 ? 'OFFICIAL-SENSITIVE' : 'OFFICIAL', status: rand() < 0.02 ? 'pending_scan' : 'available', deleted: rand() < 0.03,
      arrangementId: workspace?.id ?? null, updatedAt: new Date(Date.parse('2022-01-01T00:00:00Z') + Math.floor(rand() * 4 * 365 * 86_400_000)).toISOString(),
      // A number too: live names are unique in a folder (the live-name index), and three words alone repeat.
      name: `${words(3)} ${i}.pdf`, type: TYPES[Math.floor(rand() * TYPES.length)]!,
      sections: Array.from({ length: pages }, (_, p) => ({ page: p + 1, text: words(40 + Math.floor(rand() * 80)) })),
    });
  }
  return specs;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;

async function runDialect(dialect: 'sqlite' | 'postgres'): Promise<string[]> {
  DOCS = docsFor(dialect);
  // A kept index was hashed under a fixed key, so the queries' hashes match it on the next run.
  const kept = process.env.BENCH_SEARCH_POSTGRES_DB !== undefined || KEPT_SQLITE !== undefined;
  const keys = new DerivedSearchKeys(MasterKey.fromBytes(kept ? Buffer.alloc(32, 9) : randomBytes(32)));
  const db = await open(dialect, keys);
  const lines: string[] = [];
  try {
    if (db.reused) {
      const where = dialect === 'sqlite' ? KEPT_SQLITE : process.env.BENCH_SEARCH_POSTGRES_DB;
      log(`${dialect}: reusing ${where}`);
      lines.push(`| ${dialect} | index build | reused ${where} (${DOCS} documents); database ${Math.round((await db.size()) / 1048576)} MiB |`);
    } else lines.push(...(await build(dialect, db)));
    lines.push(...(await timeQueries(dialect, db)));
  } finally {
    await db.close();
  }
  return lines;
}

async function build(dialect: 'sqlite' | 'postgres', db: { store: Store; size: () => Promise<number> }): Promise<string[]> {
  const lines: string[] = [];
  {
    const { collections } = await seedRows(db.store);
    const specs = makeSpecs(collections);
    log(`${dialect}: inserting ${DOCS} document rows`);
    for (let i = 0; i < specs.length; i += 500) {
      await db.store.db.insertInto('documents').values(specs.slice(i, i + 500).map((s) => ({
        id: s.id, organisation_id: s.organisationId, collection_id: s.collectionId, name: s.name, name_key: nameKey(s.name), classification: s.classification, service_area: s.serviceArea,
        status: s.status, current_version: 1, current_version_id: s.versionId, legal_hold: 0, arrangement_id: s.arrangementId, created_at: s.updatedAt,
        updated_at: s.updatedAt, deleted_at: s.deleted ? s.updatedAt : null,
      })) as never).execute();
      // Search shows only text of a version of the document that may be read (clean or released).
      await db.store.db.insertInto('versions').values(specs.slice(i, i + 500).map((s) => ({
        id: s.versionId, document_id: s.id, organisation_id: s.organisationId, number: 1, size: 1, sha256: '0'.repeat(64), media_type: 'application/pdf',
        blob_id: s.versionId, wrapped_key: null, key_id: 'bench', scan_status: 'clean', scan_detail: null, scan_engine: null, scanned_at: null,
        author_id: null, created_at: s.updatedAt,
      })) as never).execute();
    }
    log(`${dialect}: indexing`);
    const started = Date.now();
    let words = 0;
    for (let i = 0; i < specs.length; i += BATCH) {
      const batch = specs.slice(i, i + BATCH);
      await db.store.transaction(async (repos) => {
        for (const s of batch) {
          await (repos.search as SearchIndex).replaceDocument({ organisationId: s.organisationId, documentId: s.id, versionId: s.versionId, name: s.name, type: s.type, sections: s.sections });
          words += s.sections.reduce((n, x) => n + x.text.split(' ').length, 0);
        }
      });
      if ((i / BATCH) % 50 === 0) log(`${dialect}: ${i + batch.length} indexed (${Math.round(((i + batch.length) / (Date.now() - started)) * 1000)} documents/s)`);
    }
    const buildS = (Date.now() - started) / 1000;
    if (dialect === 'postgres') await sql`analyze`.execute(db.store.db);
    const bytes = await db.size();
    lines.push(`| ${dialect} | index build | ${DOCS} documents (${(words / 1e6).toFixed(1)} M words) in ${buildS.toFixed(0)} s: **${Math.round(DOCS / buildS)} documents/s** in batches of ${BATCH}; database ${Math.round(bytes / 1048576)} MiB |`);
  }
  return lines;
}

async function timeQueries(dialect: 'sqlite' | 'postgres', db: { store: Store }): Promise<string[]> {
  const lines: string[] = [];
  {

    // Queries: rare and common words, phrases, prefixes, exclusions, OR, a filter; each person in turn.
    seed = 0xbeef;
    const rareWord = () => VOCAB[2000 + Math.floor(rand() * 15_000)]!;
    const common = () => COUNCIL_WORDS[20 + Math.floor(rand() * 100)]!;
    const shapes: [string, () => string][] = [
      ['one common word', () => common()],
      ['one rare word', () => rareWord()],
      ['two words', () => `${common()} ${common()}`],
      ['phrase', () => `"${common()} ${common()}"`],
      ['prefix', () => `${common().slice(0, 4).padEnd(3, 'e')}*`],
      ['exclusion', () => `${common()} -${common()}`],
      ['OR', () => `${rareWord()} OR ${common()}`],
    ];
    const timings = new Map<string, number[]>();
    const all: number[] = [];
    const slowest: { ms: number; line: string }[] = [];
    // BENCH_SEARCH_ANSWERS=prefix writes every answer (prefix-<dialect>.jsonl), to compare two plans' results.
    const answers = process.env.BENCH_SEARCH_ANSWERS ? ([] as string[]) : null;
    for (let n = 0; n < QUERIES; n++) {
      const [shape, make] = shapes[n % shapes.length]!;
      const [person, actor] = PEOPLE[Math.floor(n / shapes.length) % PEOPLE.length]!;
      const q = make();
      const scope = readableScope(actor, ARRANGEMENTS, NOW);
      const sort = n % 2 === 0 ? 'relevance' : 'date';
      const began = process.hrtime.bigint();
      const answer = await db.store.repos.search.search({ query: parseSearchQuery(q), scope, filters: n % 5 === 0 ? { type: 'pdf' } : {}, sort, offset: 0, limit: 20 });
      const ms = Number(process.hrtime.bigint() - began) / 1e6;
      answers?.push(JSON.stringify({ n, q, sort, answer }));
      all.push(ms);
      slowest.push({ ms, line: `| ${dialect} | slowest: ${ms.toFixed(1)} ms | #${n} ${shape}, \`${q.replace(/\|/g, '\\|')}\`, ${person}, ${sort}${n % 5 === 0 ? ', type pdf' : ''} |` });
      timings.set(shape, [...(timings.get(shape) ?? []), ms]);
    }
    if (answers) await writeFile(`${process.env.BENCH_SEARCH_ANSWERS}-${dialect}.jsonl`, `${answers.join('\n')}\n`);
    all.sort((a, b) => a - b);
    lines.push(`| ${dialect} | all queries (${QUERIES}, 4 people, relevance and date) | p50 **${percentile(all, 0.5).toFixed(1)} ms**, p95 **${percentile(all, 0.95).toFixed(1)} ms**, max ${all.at(-1)!.toFixed(1)} ms |`);
    for (const [shape, list] of timings) {
      list.sort((a, b) => a - b);
      lines.push(`| ${dialect} | ${shape} | p50 ${percentile(list, 0.5).toFixed(1)} ms, p95 ${percentile(list, 0.95).toFixed(1)} ms |`);
    }
    // The queries at and above p95, to know which to look at with EXPLAIN.
    lines.push(...slowest.sort((a, b) => b.ms - a.ms).slice(0, Math.ceil(QUERIES * 0.05) + 1).map((s) => s.line));
    log(`${dialect}: p50 ${percentile(all, 0.5).toFixed(1)} ms, p95 ${percentile(all, 0.95).toFixed(1)} ms`);
  }
  return lines;
}

const lines = ['| dialect | what | result |', '| --- | --- | --- |'];
for (const dialect of DIALECTS) lines.push(...(await runDialect(dialect)));
const date = new Date().toISOString().slice(0, 10);
const out = process.env.BENCH_OUT ?? path.join('bench', 'results', `search-${date}.md`);
await mkdir(path.dirname(out), { recursive: true });
const report = `# Search benchmark, ${new Date().toISOString()}

${DIALECTS.map((d) => `${docsFor(d)} (${d})`).join(', ')} generated documents (council words plus a long tail of made-up words, Zipf-like), 6 organisations,
2 arrangements (one with a joint workspace), 2% pending, 3% deleted, 15% OFFICIAL-SENSITIVE; 1 to 3 pages
of 40 to 120 words each plus the name. Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), shared.
Queries go through the SearchIndex port with the readable scope of each person (readableScope) and return
total, facets and the first 20 hits.

${lines.join('\n')}
`;
await writeFile(out, report);
process.stdout.write(report);
