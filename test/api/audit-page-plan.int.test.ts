// An organisation's audit page (the audit API and the Audit page, any organisation's admin, a page at a time)
// and a document's history, on a log of 20,000 events: each page reads about the rows it returns from an index
// in seq order, never every event of the organisation sorted. Until 7 December the organisation's events were
// found by `target = ? or actor = ?` through the (organisation, time) indexes and sorted by seq for every page,
// on both databases (docs/performance.md "The audit page, read in log order").
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/kysely.js';
import { AuditRepo } from '../../src/db/repos/audit.repo.js';
import { openMigratedHandle, postgresPlan, record, sqlitePlan, type RecordedStatement } from '../support/recorded-statements.js';
import { DIALECTS } from '../support/vault.js';

const EVENTS = 20_000;
const PAGE = 50;

describe.each(DIALECTS)('an organisation\'s audit page on %s', (dialect) => {
  let handle: DatabaseHandle;
  let close: () => Promise<void>;
  let audit: AuditRepo;
  const at = (i: number) => new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString();
  // A consortium's log: event i is o1's own (o1 acting on o1) when i % 200 == 0; o1 acting on another
  // organisation (or on none) when i % 200 == 7; another acting on o1 when i % 200 == 13; the rest is the
  // other nineteen organisations' alone. d1's history is every 400th event.
  const event = (i: number) => {
    const other = `o${2 + (i % 19)}`;
    const [actor, target] = i % 200 === 0 ? ['o1', 'o1'] : i % 200 === 7 ? ['o1', i % 3 ? other : null] : i % 200 === 13 ? [other, 'o1'] : [other, other];
    return {
      seq: i, leaf_hash: Buffer.from([1]), time: at(i), actor_user_id: 'u', actor_organisation_id: actor, action: i % 3 ? 'document.read' : 'document.update',
      target_organisation_id: target, target_ids: '[]', document_id: i % 400 === 0 ? 'd1' : `d-${i}`, decision: 'allow', reason: 'r', arrangement_id: null,
      channel: 'api', client_address: null, request_id: null, seal: null,
    };
  };
  const all = Array.from({ length: EVENTS }, (_, i) => event(i));
  const o1 = all.filter((e) => e.target_organisation_id === 'o1' || e.actor_organisation_id === 'o1');

  beforeAll(async () => {
    ({ handle, close } = await openMigratedHandle(dialect, 'audpage'));
    const db = handle.db;
    audit = new AuditRepo(db, handle.caps, randomBytes(32));
    for (let from = 0; from < EVENTS; from += 500) await db.insertInto('audit_events').values(all.slice(from, from + 500) as never).execute();
    await db.insertInto('key_values').values({ key: 'audit.tree_size', value: String(EVENTS) }).execute();
    // PostgreSQL's autovacuum gathers statistics on its own; Strongroom never runs ANALYZE on SQLite.
    if (dialect === 'postgres') await sql`analyze audit_events`.execute(db);
  });
  afterAll(async () => {
    await close?.();
  });

  /**
   * Every statement reads the log through an index in seq order, never the table nor a sort of it (the merge of
   * two parts sorts at most their two pages); on PostgreSQL it touches at most `rows` events.
   */
  async function expectInLogOrder(statements: RecordedStatement[], rows: number): Promise<void> {
    const reads = statements.filter((s) => /audit_events/.test(s.source));
    expect(reads.length).toBeGreaterThan(0);
    for (const statement of reads) {
      if (dialect === 'sqlite') {
        const details = await sqlitePlan(handle.db, statement);
        const wrong = details.filter((d, i) => /^SCAN audit_events\b/.test(d) || /MULTI-INDEX OR/.test(d) || (/TEMP B-TREE/.test(d) && !/^SCAN (targeted|acted)$/.test(details[i - 1] ?? '')));
        expect(wrong, `${statement.source}\n${details.join('\n')}`).toEqual([]);
        expect(details.filter((d) => /^SEARCH audit_events USING INDEX audit_events_(target|actor|document)_seq\b/.test(d)).length, details.join('\n')).toBeGreaterThan(0);
      } else {
        const nodes = await postgresPlan(handle.db, statement);
        const overEvents = nodes.filter((n) => n['Relation Name'] === 'audit_events');
        expect(overEvents.filter((n) => n['Node Type'] !== 'Index Scan' && n['Node Type'] !== 'Index Scan Backward'), statement.source).toEqual([]);
        expect(overEvents.reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0), 0), statement.source).toBeLessThanOrEqual(rows);
        expect(nodes.filter((n) => n['Node Type'] === 'Sort' && (n['Actual Rows'] ?? 0) > rows), statement.source).toEqual([]);
      }
    }
  }
  const seqs = (events: { seq?: number | null }[]) => events.map((e) => Number(e.seq));

  it('reads the first page of an organisation\'s events, target or actor, from its indexes', async () => {
    const { result, statements } = await record(() => audit.query({ organisationId: 'o1', limit: PAGE }));
    expect(seqs(result)).toEqual(seqs(o1.slice(0, PAGE)));
    await expectInLogOrder(statements, 2 * PAGE);
  });

  it('reads a later page from where the last ended', async () => {
    const after = Number(o1[100]!.seq);
    const { result, statements } = await record(() => audit.query({ organisationId: 'o1', afterSeq: after, limit: PAGE }));
    expect(seqs(result)).toEqual(seqs(o1.slice(101, 101 + PAGE)));
    await expectInLogOrder(statements, 2 * PAGE);
  });

  it('keeps the filters: one action, a time window, one document, and an event the organisation is both target and actor of once', async () => {
    const { result } = await record(() => audit.query({ organisationId: 'o1', action: 'document.update', from: at(2000), to: at(12_000), limit: 1000 }));
    expect(seqs(result)).toEqual(seqs(o1.filter((e) => e.action === 'document.update' && e.time >= at(2000) && e.time < at(12_000))));
    const ofDocument = await audit.query({ organisationId: 'o1', documentId: 'd1', limit: 10_000 });
    expect(seqs(ofDocument)).toEqual(seqs(o1.filter((e) => e.document_id === 'd1')));
    expect(new Set(seqs(await audit.query({ organisationId: 'o1', limit: 10_000 }))).size).toBe(o1.length);
  });

  it('reads a recent time window from the (organisation, time) indexes, not past every earlier event', async () => {
    const window = (e: { time: string }) => e.time >= at(19_000);
    const { result, statements } = await record(() => audit.query({ organisationId: 'o1', from: at(19_000), limit: PAGE }));
    expect(seqs(result)).toEqual(seqs(o1.filter(window).slice(0, PAGE)));
    // Its next page, from where it ended, as the Audit page asks for it.
    const next = await audit.query({ organisationId: 'o1', from: at(19_000), afterSeq: Number(o1.filter(window)[9]!.seq), limit: PAGE });
    expect(seqs(next)).toEqual(seqs(o1.filter(window).slice(10, 10 + PAGE)));
    const reads = statements.filter((s) => /audit_events/.test(s.source));
    expect(reads).toHaveLength(1);
    if (dialect === 'sqlite') {
      const details = await sqlitePlan(handle.db, reads[0]!);
      // Each part searches its organisation's time range; walked by seq it read the 19,000 seconds before it too.
      expect(details.filter((d) => /^SEARCH audit_events USING INDEX audit_events_(org_time|actor_org) \((target|actor)_organisation_id=\? AND time>\?\)$/.test(d)), details.join('\n')).toHaveLength(2);
    } else {
      const nodes = await postgresPlan(handle.db, reads[0]!);
      const overEvents = nodes.filter((n) => n['Relation Name'] === 'audit_events');
      expect(overEvents.reduce((sum, n) => sum + (n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0), 0), reads[0]!.source).toBeLessThanOrEqual(2 * PAGE);
    }
  });

  it('reads a document\'s latest events from its index in seq order', async () => {
    const { result, statements } = await record(() => audit.forDocument('d1', 20));
    expect(seqs(result)).toEqual(seqs(all.filter((e) => e.document_id === 'd1').slice(-20).reverse()));
    await expectInLogOrder(statements, 20);
  });
});
