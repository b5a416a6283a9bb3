// The daily bin purge (one purge-bin job a day for every organisation) on a council of 3,000 documents, 1,000
// of them purged long ago, and 3,000 events in its audit log, with three documents in its bin long enough to
// go: every read the purge makes of the documents or the log finds the bin's rows, and the few events that
// vouch for them, from an index, never every document or every event of the council. Until 7 December the
// bin was found among all of the council's documents (by (organisation, updated_at), then sorted), and each
// page read every event of the council's log to keep its hold and folder events (docs/performance.md "The
// daily bin purge, read from the bin").
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISPOSAL_RECORD_ACTIONS } from '../../src/domain/audit/disposal-record.js';
import { HOLD_RECORD_ACTIONS } from '../../src/domain/audit/hold-record.js';
import { useClamd } from '../support/fixture.js';
import { api } from '../support/http.js';
import { postgresPlan, record, sqlitePlan, type RecordedStatement } from '../support/recorded-statements.js';
import { DIALECTS, createOrganisation, openTestVault, realClockUnless, upload, type TestVault } from '../support/vault.js';

const clamd = useClamd();
const DAY_MS = 24 * 60 * 60 * 1000;
const LIVE = 2000;
const PURGED_BEFORE = 1000;
const OTHER_EVENTS = 3000;
/** More than the purge needs to read of either table for three documents, far less than the council holds. */
const READ_AT_MOST = 200;

describe.each(DIALECTS)('the daily bin purge\'s reads on %s', (dialect) => {
  let t: TestVault;
  const clock = realClockUnless();
  let organisationId: string;
  const binned: string[] = [];
  let recent: string;

  beforeAll(async () => {
    t = await openTestVault({ dialect, clamdSocket: clamd.socketPath, clock });
    const org = await createOrganisation(t.vault);
    organisationId = org.id;
    const member = await org.user({ teams: ['hr'] });
    const uploaded = async (name: string) => {
      const up = await upload(t.app, member, org.collections.hr!, name, `${name}\n`);
      expect(up.statusCode, up.body).toBe(201);
      return up.json().id as string;
    };
    const remove = async (id: string) => expect((await api(t.app, member).delete(`documents/${id}`)).statusCode).toBe(204);
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      const id = await uploaded(name);
      await remove(id);
      binned.push(id);
    }
    const db = t.vault.store.db;
    const deletedAt = Date.parse((await t.vault.store.repos.documents.byId(binned[2]!))!.deletedAt!);
    // Deleted days after the others: still in the bin when they go.
    clock.set(new Date(deletedAt + 5 * DAY_MS).toISOString());
    recent = await uploaded('recent.txt');
    await remove(recent);
    clock.set(new Date(deletedAt + 31 * DAY_MS).toISOString());
    // The council's other documents, written as rows: live ones, and the stubs of ones purged long ago
    // (a purged document keeps its deleted_at); and its log's other events, with places in the tree beyond
    // its size, so they vouch for nothing and the sequencer passes them by.
    const at = (i: number) => new Date(deletedAt - 400 * DAY_MS + i * 1000).toISOString();
    const documents = Array.from({ length: LIVE + PURGED_BEFORE }, (_, i) => ({
      id: randomUUID(), organisation_id: organisationId, collection_id: org.collections.hr!, name: i < LIVE ? `live-${i}.txt` : `disposed-${i}`, name_key: i < LIVE ? `live-${i}.txt` : `disposed-${i}`,
      classification: 'OFFICIAL-SENSITIVE', service_area: 'hr', status: i < LIVE ? 'available' : 'disposed', current_version: 1, current_version_id: 'v',
      created_at: at(i), updated_at: at(i), deleted_at: i < LIVE ? null : at(i + 1),
    }));
    for (let from = 0; from < documents.length; from += 500) await db.insertInto('documents').values(documents.slice(from, from + 500) as never).execute();
    const events = Array.from({ length: OTHER_EVENTS }, (_, i) => ({
      seq: 10_000_000 + i, leaf_hash: Buffer.from([1]), time: at(i), actor_user_id: member.id, actor_organisation_id: organisationId, action: 'document.read',
      target_organisation_id: organisationId, target_ids: JSON.stringify({ documentId: documents[i % LIVE]!.id }), document_id: documents[i % LIVE]!.id,
      decision: 'allow', reason: 'r', arrangement_id: null, channel: 'api', client_address: null, request_id: null, seal: null,
    }));
    for (let from = 0; from < events.length; from += 500) await db.insertInto('audit_events').values(events.slice(from, from + 500) as never).execute();
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze documents, audit_events`.execute(db);
  });
  afterAll(async () => {
    clock.set(null);
    await t?.close();
  });

  /** The reads of documents or the audit log among `statements`. */
  const readsOfLargeTables = (statements: RecordedStatement[]) =>
    statements.filter((s) => /^\s*select\b/i.test(s.source) && /\bfrom "?(documents|audit_events)"?\b|\bjoin "?(documents|audit_events)"?\b/i.test(s.source));

  /**
   * No read of documents or the log scans either, or searches one by organisation alone; on PostgreSQL none
   * reads more than READ_AT_MOST rows of them. Each read that does is named with its plan.
   */
  async function expectByIndex(statements: RecordedStatement[]): Promise<void> {
    const reads = readsOfLargeTables(statements);
    expect(reads.length).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const statement of reads) {
      if (dialect === 'sqlite') {
        const details = await sqlitePlan(t.vault.store.db, statement);
        if (details.some((d) => /^SCAN (documents|audit_events)\b/.test(d) || /^SEARCH (documents|audit_events) USING (COVERING )?INDEX \w+ \((target_|actor_)?organisation_id=\?\)$/.test(d))) {
          wrong.push(`${statement.source}\n${details.join('\n')}`);
        }
      } else {
        const nodes = await postgresPlan(t.vault.store.db, statement);
        const over = nodes.filter((n) => n['Relation Name'] === 'documents' || n['Relation Name'] === 'audit_events');
        const read = Math.max(0, ...over.map((n) => (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)));
        if (over.some((n) => n['Node Type'] === 'Seq Scan') || read > READ_AT_MOST) wrong.push(`${statement.source}\n${over.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`).join('\n')}; ${read} rows`);
      }
    }
    expect(wrong).toEqual([]);
  }

  it('finds the bin\'s expired documents among the council\'s bin alone', async () => {
    const cutoff = new Date(clock.now().getTime() - 30 * DAY_MS).toISOString();
    const { result, statements } = await record(() => t.vault.store.repos.disposal.binExpired(organisationId, cutoff, 500));
    expect(result.sort()).toEqual([...binned].sort());
    expect(statements).toHaveLength(1);
    await expectByIndex(statements);
    if (dialect === 'sqlite') {
      // Read in the order asked for (deleted_at, id): no sort.
      expect((await sqlitePlan(t.vault.store.db, statements[0]!)).join('\n')).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('purges the bin reading only what is in it, and the events that vouch for it', async () => {
    const { result, statements } = await record(() => t.vault.disposal.purgeBin(organisationId));
    expect({ ...result, purged: [...result.purged].sort() }).toEqual({ purged: [...binned].sort(), held: [], refused: [] });
    expect((await t.vault.store.repos.documents.byId(recent))?.deletedAt).not.toBeNull();
    await expectByIndex(statements);
  });

  it('reads the organisation\'s other record-keeping events by index too: a disposal batch\'s, and a subject access request\'s', async () => {
    const { statements } = await record(async () => {
      for (const actions of [[...DISPOSAL_RECORD_ACTIONS, ...HOLD_RECORD_ACTIONS], DISPOSAL_RECORD_ACTIONS, ['subject-access.open'], ['subject-access.ask'], ['records.hold.create']]) {
        await t.vault.store.repos.audit.allowedEvents(actions, { organisationId });
      }
    });
    expect(readsOfLargeTables(statements)).toHaveLength(5);
    await expectByIndex(statements);
  });
});
