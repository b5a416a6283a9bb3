// The daily disposal sweep on a council of 2,500 records filed in a series, three of them due: it reads the
// council a page of documents at a time, each page one range of (organisation_id, id), and works out the
// retention of a page at a time, so no statement reads more than a page of documents and the sweep never holds
// every record of the council with its facts. Until 7 December one statement read every document of the
// council, sorted, and the facts of all of them were worked out at once (docs/performance.md "The daily
// disposal sweep, a page at a time").
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd } from '../support/fixture.js';
import { postgresPlan, record, sqlitePlan, type RecordedStatement } from '../support/recorded-statements.js';
import { HR_03, fileCollectionUnder, recordEvent, yearsAgo } from '../support/records.js';
import { DIALECTS, createOrganisation, openTestVault, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const FILED = 2500;
/** The sweep's page: what one statement may read of the documents. */
const PAGE = 1000;

describe.each(DIALECTS)('the daily disposal sweep\'s reads on %s', (dialect) => {
  let t: TestVault;
  let organisationId: string;
  const due: string[] = [];

  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath });
    const org = await createOrganisation(t.vault);
    organisationId = org.id;
    await fileCollectionUnder(t.vault, org.id, org.collections.hr!, HR_03);
    const member = await org.user({ teams: ['hr'] });
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      const up = await upload(t.app, member, org.collections.hr!, name, `${name}\n`);
      expect(up.statusCode, up.body).toBe(201);
      due.push(up.json().id as string);
      await recordEvent(t.vault, org.id, up.json().id as string, 'process_complete', yearsAgo(2));
    }
    // The council's other records, filed in the same series with no process completed yet: not due; and as
    // many of a neighbouring council's, their ids among the council's, as in any shared database. Read in id
    // order alone, a page of the council's would pass over about as many of the neighbour's.
    const neighbour = await createOrganisation(t.vault);
    const now = new Date().toISOString();
    const rowsOf = (owner: string, collectionId: string) => Array.from({ length: FILED }, (_, i) => ({
      id: randomUUID(), organisation_id: owner, collection_id: collectionId, name: `record-${i}.txt`, name_key: `record-${i}.txt`, classification: 'OFFICIAL-SENSITIVE',
      service_area: 'hr', status: 'available', current_version: 1, current_version_id: 'v', created_at: now, updated_at: now, deleted_at: null,
    }));
    const documents = [...rowsOf(organisationId, org.collections.hr!), ...rowsOf(neighbour.id, neighbour.collections.hr!)];
    const db = t.vault.store.db;
    for (let from = 0; from < documents.length; from += 500) await db.insertInto('documents').values(documents.slice(from, from + 500) as never).execute();
    if (dialect === 'postgres') await sql`analyze documents`.execute(db);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds the due records reading a page of the council\'s documents at a time, by index', async () => {
    const { result, statements } = await record(() => t.vault.disposal.sweep(systemActor(), organisationId));
    expect(result?.items.map((i) => i.documentId).sort()).toEqual([...due].sort());
    // The reads of the council's documents (by organisation): the ones that grew with the council. The sweep's
    // other reads of documents look up a page's ids, which PostgreSQL may scan on a table as small as this one.
    const reads = statements.filter((s: RecordedStatement) => /^\s*select\b/i.test(s.source) && /\bfrom "?documents"? where "?organisation_id"? = /i.test(s.source));
    expect(reads).toHaveLength(Math.ceil((FILED + due.length) / PAGE));
    const wrong: string[] = [];
    for (const statement of reads) {
      if (dialect === 'sqlite') {
        const details = await sqlitePlan(t.vault.store.db, statement);
        // Neither a scan, nor the council's documents found by another index and sorted: a range of
        // (organisation_id, id) in its order, which the page's LIMIT ends.
        if (details.some((d) => /^SCAN documents\b/.test(d) || /TEMP B-TREE/.test(d) || (/^SEARCH documents\b/.test(d) && !/INDEX documents_organisation_id\b/.test(d)))) {
          wrong.push(`${statement.source}\n${details.join('\n')}`);
        }
      } else {
        // Planned as at a council's real size: on these 2,503 rows a scan and a sort can honestly cost less.
        const plan = await postgresPlan(t.vault.store.db, statement, { asAtScale: true });
        const nodes = plan.filter((n) => n['Relation Name'] === 'documents');
        const read = Math.max(0, ...nodes.map((n) => (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)));
        if (nodes.some((n) => n['Node Type'] === 'Seq Scan') || plan.some((n) => n['Node Type'] === 'Sort') || read > PAGE) {
          wrong.push(`${statement.source}\n${plan.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`).join('\n')}; ${read} rows`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});
