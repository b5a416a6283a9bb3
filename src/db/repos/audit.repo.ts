// The audit log's tables: events (append-only), the Merkle tree's perfect-subtree nodes, and signed checkpoints.
import { sql, type Kysely, type Selectable } from 'kysely';
import type { DialectCaps } from '../kysely.js';
import { canonicalEvent, type AuditEvent, type CanonicalEvent } from '../../domain/audit/event.js';
import { eventSeal, sealMatches } from '../../domain/audit/event-seal.js';
import type { AuditQuery, AuditRepository, PendingAuditEvent, SequencedAuditRow, UnsequencedAuditEvent } from '../../domain/repositories.js';
import { CoalescedInserts, type GatherBehind } from '../coalesced-inserts.js';
import { DomainError, IntegrityError } from '../../domain/errors.js';
import { preparedQuery } from '../prepared-query.js';
import { boundCount } from '../sqlite-query-compiler.js';
import type { Schema } from '../schema.js';
import { ORGANISATION_RECORD_ACTIONS, ORGANISATION_RECORD_EVENT } from '../migrations/202612250100_organisation_record_events.js';

export type { AuditQuery, PendingAuditEvent } from '../../domain/repositories.js';

/** The target ids a row holds; JSON the service wrote, so anything else was written into the database directly. */
function targetIdsOf(r: { id?: number | string; seq: number | null; target_ids: string }): Record<string, string> {
  try {
    return JSON.parse(r.target_ids) as Record<string, string>;
  } catch {
    const row = r.id === undefined ? '' : ` ${String(r.id)}`;
    throw new IntegrityError(`the audit event row${row} (seq ${r.seq === null ? 'none' : String(r.seq)}) holds target ids that are not JSON: it was written into the database directly, not by Strongroom`);
  }
}

/**
 * Whether a stored seq is one the sequencer could have written: an integer. SQLite keeps text that
 * does not read as a number (such as '0x0') as text in an integer column, which Number() would read
 * as 0; on PostgreSQL the column is a bigint and this always holds.
 */
function isIntegerSeq(seq: unknown): boolean {
  if (typeof seq !== 'number' && typeof seq !== 'string' && typeof seq !== 'bigint') return false;
  const n = Number(seq);
  return Number.isSafeInteger(n) && String(n) === String(seq);
}

export function toAuditEvent(r: { id?: number | string; seq: number | null; time: string; actor_user_id: string | null; actor_organisation_id: string | null; action: string; target_organisation_id: string | null; target_ids: string; decision: string; reason: string; arrangement_id: string | null; channel: string; client_address: string | null; request_id: string | null }): AuditEvent {
  return {
    seq: Number(r.seq),
    time: r.time,
    actorUserId: r.actor_user_id,
    actorOrganisationId: r.actor_organisation_id,
    action: r.action,
    targetOrganisationId: r.target_organisation_id,
    targetIds: targetIdsOf(r),
    decision: r.decision as 'allow' | 'deny',
    reason: r.reason,
    arrangementId: r.arrangement_id,
    channel: r.channel,
    clientAddress: r.client_address,
    requestId: r.request_id,
  };
}

/** The actions audit_events_organisation_records holds: a read by organisation of these alone is served by it. */
const RECORD_ACTIONS = new Set(ORGANISATION_RECORD_ACTIONS);

/** The largest coalesced statement (each audit row binds 16 values). */
const MAX_ROWS_A_STATEMENT = 256;

/** `items` cut, in order, into runs whose lengths are powers of two, largest first, none over `max`. */
export function inPowersOfTwo<T>(items: T[], max: number): T[][] {
  const runs: T[][] = [];
  let at = 0;
  while (at < items.length) {
    let length = 1;
    while (length * 2 <= Math.min(items.length - at, max)) length *= 2;
    runs.push(items.slice(at, at + length));
    at += length;
  }
  return runs;
}

/** An event's columns as it is written; `seq` and `leaf_hash` are set when it is sequenced. */
function eventColumns(e: PendingAuditEvent, seal: string) {
  return {
    time: e.time, actor_user_id: e.actorUserId, actor_organisation_id: e.actorOrganisationId,
    action: e.action, target_organisation_id: e.targetOrganisationId, target_ids: JSON.stringify(e.targetIds), document_id: e.targetIds.documentId ?? null,
    decision: e.decision, reason: e.reason, arrangement_id: e.arrangementId, channel: e.channel,
    client_address: e.clientAddress, request_id: e.requestId, seal,
  };
}
type EventColumns = ReturnType<typeof eventColumns>;

/** Those columns named once each (the compiler checks the list against eventColumns), for the prepared inserts. */
const EVENT_COLUMNS = {
  time: true, actor_user_id: true, actor_organisation_id: true, action: true, target_organisation_id: true, target_ids: true, document_id: true,
  decision: true, reason: true, arrangement_id: true, channel: true, client_address: true, request_id: true, seal: true,
} as const satisfies { readonly [K in keyof EventColumns]: true };

/**
 * The insert of 1, 2, 4 … 256 events (#writeTogether writes in statements of those sizes), each
 * prepared once: every request writes at least one event.
 */
const eventInserts = Array.from({ length: Math.log2(MAX_ROWS_A_STATEMENT) + 1 }, (_, power) =>
  preparedQuery((db, values: Record<string, unknown>) =>
    db.insertInto('audit_events').values(Array.from({ length: 2 ** power }, (_, i) => ({
      seq: null, leaf_hash: null,
      ...(Object.fromEntries(Object.keys(EVENT_COLUMNS).map((column) => [column, values[`${i}.${column}`]])) as EventColumns),
    })))));

/** The sequencer places every event in the tree with this, once. */
const sequenceEvent = preparedQuery((db, values: { id: number; seq: number; leafHash: Buffer }) =>
  db.updateTable('audit_events').set({ seq: values.seq, leaf_hash: values.leafHash }).where('id', '=', values.id).where('seq', 'is', null));

export class AuditRepo implements AuditRepository {
  readonly #coalesced: CoalescedInserts<PendingAuditEvent> | undefined;

  /**
   * `coalesce`: for the repositories outside any transaction, where each insert would be its own
   * commit; inserts asked for in the same turn of the event loop are written together, one commit
   * for them all (coalesced-inserts.ts), and for as long as `gatherBehind` says. Inside a transaction
   * an insert is part of it and runs at once.
   */
  constructor(private readonly db: Kysely<Schema>, private readonly caps: DialectCaps, private readonly sealKey: Buffer, options: { coalesce?: boolean; gatherBehind?: GatherBehind | undefined } = {}) {
    this.#coalesced = options.coalesce ? new CoalescedInserts((callers) => this.#writeTogether(callers), options.gatherBehind) : undefined;
  }

  /** Within a transaction: makes this the only sequencer until it commits (SQLite already has one writer). */
  async lockSequencer(): Promise<void> {
    if (this.caps.dialect === 'postgres') await sql`select pg_advisory_xact_lock(7261002)`.execute(this.db);
  }

  /** Resolves once the events are committed (outside a transaction, with others' asked for at the same moment). */
  async insert(events: PendingAuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    await (this.#coalesced ? this.#coalesced.add(events) : this.#write(this.db, events));
  }

  /** Resolves once every insert asked for so far is written: before the database is closed. */
  async drained(): Promise<void> {
    await this.#coalesced?.drained();
  }

  /**
   * Several callers' events, in order, in statements of 1, 2, 4 … 256 rows: one statement when the
   * count is a power of two, otherwise a few in one transaction. Each statement text is prepared once
   * and kept (db/kysely.ts), so the set of them must stay small: one text for every batch size took
   * about 186 MiB of native memory with sizes up to 500.
   */
  async #writeTogether(callers: PendingAuditEvent[][]): Promise<void> {
    const statements = inPowersOfTwo(callers.flat(), MAX_ROWS_A_STATEMENT);
    if (statements.length === 1) return this.#write(this.db, statements[0]!);
    await this.db.transaction().execute(async (trx) => {
      for (const events of statements) await this.#write(trx, events);
    });
  }

  async #write(db: Kysely<Schema>, events: PendingAuditEvent[]): Promise<void> {
    const power = Math.log2(events.length);
    const prepared = Number.isInteger(power) ? eventInserts[power] : undefined;
    if (!prepared) {
      await db.insertInto('audit_events').values(events.map((e) => ({ seq: null, leaf_hash: null, ...eventColumns(e, eventSeal(this.sealKey, e)) }))).execute();
      return;
    }
    const values: Record<string, unknown> = {};
    events.forEach((e, i) => {
      const columns = eventColumns(e, eventSeal(this.sealKey, e));
      for (const column of Object.keys(EVENT_COLUMNS) as (keyof EventColumns)[]) values[`${i}.${column}`] = columns[column];
    });
    await prepared.run(db, values);
  }

  /**
   * The event's canonical encoding if a stored row is an event this service wrote: its seal matches.
   * Anything else was written into the database directly (or is malformed, which the service never
   * writes): null. A row with no seal is never one: anything that could vouch for it instead (a mark
   * of the last event written before seals existed, or which rows carry seals) is in rows the
   * database can change. Events sequenced before seals existed were sealed once, by the open that
   * applied migration 202612271940, as far as signed checkpoints vouch for them (audit-event-seal-upgrade.ts).
   */
  writtenByService(row: { seal: string | null }, event: Omit<AuditEvent, 'seq'>): CanonicalEvent | null {
    if (row.seal === null) return null;
    let encoded: CanonicalEvent;
    try {
      encoded = canonicalEvent(event);
    } catch (err) {
      if (err instanceof DomainError) return null;
      throw err;
    }
    return sealMatches(this.sealKey, encoded, row.seal) ? encoded : null;
  }

  /** Every recorded change of an arrangement that vouches for its state, for `audit verify`. */
  async arrangementChanges(): Promise<AuditEvent[]> {
    const rows = await this.db.selectFrom('audit_events').selectAll().where('action', 'like', 'arrangement.%').where('decision', '=', 'allow').orderBy('id').execute();
    return this.#vouching(rows);
  }

  /** Every recorded creation of an API token or app password that vouches for it, for `audit verify`. */
  async credentialCreations(): Promise<AuditEvent[]> {
    const rows = await this.db.selectFrom('audit_events').selectAll().where('action', 'in', ['token.create', 'app-password.create']).where('decision', '=', 'allow').orderBy('id').execute();
    return this.#vouching(rows);
  }

  async allowedEvents(actions: readonly string[], options: { organisationId?: string; documentIds?: readonly string[]; withEvery?: readonly string[]; logOrder?: boolean } = {}): Promise<AuditEvent[]> {
    return this.#vouchingEvents('allow', actions, options);
  }

  async refusedEvents(actions: readonly string[], options: { organisationId?: string; documentIds?: readonly string[] } = {}): Promise<AuditEvent[]> {
    return this.#vouchingEvents('deny', actions, options);
  }

  async #vouchingEvents(decision: 'allow' | 'deny', actions: readonly string[], options: { organisationId?: string; documentIds?: readonly string[]; withEvery?: readonly string[]; logOrder?: boolean }): Promise<AuditEvent[]> {
    if (actions.length === 0) return [];
    const query = (of = actions) => {
      let q = this.db.selectFrom('audit_events').selectAll().where('action', 'in', [...of]).where('decision', '=', decision);
      if (options.organisationId !== undefined) {
        q = q.where('target_organisation_id', '=', options.organisationId);
        // An organisation's record-keeping events are read from audit_events_organisation_records, whose condition
        // this repeats (migration 202612250100), not picked out of every event of the organisation; only where
        // every action asked for is one it holds, so the term never leaves out an event asked for.
        if (of.every((action) => RECORD_ACTIONS.has(action))) q = q.where(ORGANISATION_RECORD_EVENT);
      }
      return q;
    };
    let rows: Selectable<Schema['audit_events']>[];
    if (options.documentIds === undefined) rows = await query().orderBy('id').execute();
    else {
      // By the document each row is filed under (indexed); `audit verify` checks that column against the event.
      const ids = [...new Set(options.documentIds)];
      rows = [];
      for (let i = 0; i < ids.length; i += 500) rows.push(...(await query().where('document_id', 'in', ids.slice(i, i + 500)).execute()));
      const filed = new Set(rows.map((r) => r.id));
      if (options.withEvery?.length) rows.push(...(await query(options.withEvery).execute()).filter((r) => !filed.has(r.id)));
      rows.sort((a, b) => Number(a.id) - Number(b.id));
    }
    // Sorted here rather than in SQL: a seq written by hand may not even be a number (#vouching drops it).
    if (options.logOrder) rows.sort((a, b) => (a.seq === null ? 1 : 0) - (b.seq === null ? 1 : 0) || Number(a.seq) - Number(b.seq) || Number(a.id) - Number(b.id));
    return this.#vouching(rows);
  }

  /**
   * The rows that may vouch for a row elsewhere: events whose seal matches what they say, pending or
   * in the tree (a seq the sequencer gave). A row written into the database directly, pending or with
   * a seq made up outside the tree, vouches for nothing; nor does an event in the tree whose content
   * was rewritten since, or whose seal was cleared: its place in the tree says nothing of what the
   * row now says (only `audit verify`, rebuilding the tree, compares the two), so a sequenced event
   * is held to its seal as a pending one is. One HMAC a row, no further read. A row that cannot be
   * read as an event throws IntegrityError.
   */
  async #vouching(rows: Selectable<Schema['audit_events']>[]): Promise<AuditEvent[]> {
    const size = await this.treeSize();
    const events: AuditEvent[] = [];
    for (const r of rows) {
      const event = toAuditEvent(r);
      const placed = r.seq === null || (isIntegerSeq(r.seq) && Number(r.seq) >= 0 && Number(r.seq) < size);
      if (placed && this.writtenByService(r, event) !== null) events.push(event);
    }
    return events;
  }

  /** How many events in the tree carry no seal, and the last one's seq (events sequenced before seals existed). */
  async unsealedSequenced(): Promise<{ count: number; lastSeq: number } | null> {
    const row = await this.db.selectFrom('audit_events')
      .select([sql<number | string>`count(*)`.as('count'), sql<number | string | null>`max(seq)`.as('last')])
      .where('seal', 'is', null).where('seq', '>=', 0).executeTakeFirst();
    const count = Number(row?.count ?? 0);
    return count === 0 || row?.last === null || row?.last === undefined ? null : { count, lastSeq: Number(row.last) };
  }

  /**
   * Seals events in the tree that carry none, as they stand (the caller has checked them against signed
   * checkpoints: audit-event-seal-upgrade.ts). A row sealed meanwhile is left as it is.
   */
  async sealSequencedAsFound(rows: readonly { id: number; event: PendingAuditEvent }[]): Promise<void> {
    for (const { id, event } of rows) {
      await this.db.updateTable('audit_events').set({ seal: eventSeal(this.sealKey, event) }).where('id', '=', id).where('seal', 'is', null).execute();
    }
  }

  /** Events not yet in the tree, oldest insert first. */
  async unsequenced(limit: number): Promise<UnsequencedAuditEvent[]> {
    const rows = await this.db.selectFrom('audit_events').selectAll().where('seq', 'is', null).orderBy('id').limit(limit).execute();
    return rows.map((r) => {
      const { seq: _seq, ...event } = toAuditEvent(r);
      return { id: Number(r.id), seal: r.seal, event };
    });
  }

  async assignSeq(id: number, seq: number, leafHash: Buffer): Promise<void> {
    await sequenceEvent.run(this.db, { id, seq, leafHash });
  }

  async treeSize(): Promise<number> {
    const row = await this.db.selectFrom('key_values').select('value').where('key', '=', 'audit.tree_size').executeTakeFirst();
    return row ? Number(row.value) : 0;
  }

  async setTreeSize(size: number): Promise<void> {
    const updated = await this.db.updateTable('key_values').set({ value: String(size) }).where('key', '=', 'audit.tree_size').executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) await this.db.insertInto('key_values').values({ key: 'audit.tree_size', value: String(size) }).execute();
  }

  async putNodes(nodes: { level: number; index: number; hash: Buffer }[]): Promise<void> {
    if (nodes.length === 0) return;
    await this.db.insertInto('audit_tree_nodes').values(nodes.map((n) => ({ level: n.level, idx: n.index, hash: n.hash }))).execute();
  }

  async node(level: number, index: number): Promise<Buffer | undefined> {
    const row = await this.db.selectFrom('audit_tree_nodes').select('hash').where('level', '=', level).where('idx', '=', index).executeTakeFirst();
    return row?.hash;
  }

  async insertCheckpoint(c: { treeSize: number; rootHash: Buffer; note: string; createdAt: string }): Promise<void> {
    await this.db.insertInto('audit_checkpoints').values({ tree_size: c.treeSize, root_hash: c.rootHash, note: c.note, created_at: c.createdAt }).execute();
  }

  async checkpoints(): Promise<{ treeSize: number; note: string; createdAt: string }[]> {
    const rows = await this.db.selectFrom('audit_checkpoints').selectAll().orderBy('tree_size').execute();
    return rows.map((r) => ({ treeSize: Number(r.tree_size), note: r.note, createdAt: r.created_at }));
  }

  async latestCheckpoint(): Promise<{ treeSize: number; note: string; createdAt: string } | undefined> {
    const r = await this.db.selectFrom('audit_checkpoints').selectAll().orderBy('tree_size', 'desc').limit(1).executeTakeFirst();
    return r && { treeSize: Number(r.tree_size), note: r.note, createdAt: r.created_at };
  }

  /**
   * Sequenced events in order, streamed in pages so verification runs in bounded memory: from
   * `from`, or every row with a seq, a negative one included, so verification sees a row given a seq
   * outside the tree.
   */
  async *sequenced(options: { from?: number; pageSize?: number } = {}): AsyncGenerator<SequencedAuditRow> {
    const pageSize = options.pageSize ?? 5000;
    // Paged by (seq, id), not seq alone: were the unique constraint on seq dropped, a second row with
    // the seq a page ends on would otherwise be skipped, and a forged copy of an event never read.
    let after: { seq: number; id: number | string } | null = null;
    for (;;) {
      let query = this.db.selectFrom('audit_events').selectAll().where('seq', 'is not', null);
      if (after !== null) {
        const { seq, id } = after;
        // seq >= s first, so both databases walk the seq index from there (plans checked on both).
        query = query.where('seq', '>=', seq).where((eb) => eb.or([eb('seq', '>', seq), eb('id', '>', id as number)]));
      } else if (options.from !== undefined) {
        query = query.where('seq', '>=', options.from);
      }
      const rows = await query.orderBy('seq').orderBy('id').limit(pageSize).execute();
      for (const r of rows) {
        if (!isIntegerSeq(r.seq)) {
          throw new IntegrityError(`the audit event row ${String(r.id)} holds a seq that is not a number (${JSON.stringify(String(r.seq).slice(0, 40))}): it was written into the database directly, not by Strongroom`);
        }
        yield { id: Number(r.id), event: toAuditEvent(r), seal: r.seal, leafHash: r.leaf_hash, filedUnderDocumentId: r.document_id };
      }
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      after = { seq: Number(last.seq), id: last.id };
    }
  }

  // The reads below show sequenced events: an integer seq of 0 or more, never a negative one or
  // text, which the sequencer never gives (written into the database directly; `audit verify` names it).

  async query(q: AuditQuery): Promise<AuditEvent[]> {
    // The organisation's events are those it is the target of and those it is the actor of: each part walked
    // in seq order from its own index (migration 202612240000) for at most a page, the two merged and an event
    // in both (its own action on itself) kept once. The first page of the merge is in the two parts' first
    // pages. An `or` of the two would make both databases fetch every event the organisation ever had and sort
    // them for one page (docs/performance.md "The audit page, read in log order").
    // With a time window the (organisation, time) indexes read the window alone; walked in seq order instead, a
    // recent window was reached past every earlier event of the organisation (SQLite chose the seq index for a
    // `from` without a `to`). `+seq` keeps SQLite's planner, which has no statistics, off the seq indexes there;
    // the window's events are then sorted, as every page's were before migration 202612240000.
    const windowed = q.from !== undefined || q.to !== undefined;
    const seq = windowed ? sql<number>`+seq` : sql.ref('seq');
    const side = (column: 'target_organisation_id' | 'actor_organisation_id') => {
      let query = this.db.selectFrom('audit_events').selectAll().where(column, '=', q.organisationId).where(seq, '>=', 0);
      if (q.actorUserId) query = query.where('actor_user_id', '=', q.actorUserId);
      if (q.action) query = query.where('action', '=', q.action);
      if (q.from) query = query.where('time', '>=', q.from);
      if (q.to) query = query.where('time', '<', q.to);
      if (q.documentId) query = query.where('document_id', '=', q.documentId);
      if (q.afterSeq !== undefined) query = query.where(seq, '>', q.afterSeq);
      // The limit is the audit API's page size, a client's choice: bound, not written (sqlite-query-compiler.ts boundCount).
      return this.db.selectFrom(query.orderBy('seq').limit(boundCount(q.limit)).as(column === 'target_organisation_id' ? 'targeted' : 'acted')).selectAll();
    };
    // The merge sorts at most two pages, never the organisation's history.
    const rows = await side('target_organisation_id').unionAll(side('actor_organisation_id')).orderBy('seq').orderBy('id').execute();
    const seen = new Set<string>();
    const merged = rows.filter((r) => {
      const id = String(r.id);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    return merged.slice(0, q.limit).filter((r) => isIntegerSeq(r.seq)).map(toAuditEvent);
  }

  async forDocument(documentId: string, limit: number): Promise<AuditEvent[]> {
    const rows = await this.db.selectFrom('audit_events').selectAll().where('document_id', '=', documentId).where('seq', '>=', 0).orderBy('seq', 'desc').limit(limit).execute();
    return rows.filter((r) => isIntegerSeq(r.seq)).map(toAuditEvent);
  }

  async forOrganisation(organisationId: string): Promise<AuditEvent[]> {
    const rows = await this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('seq', '>=', 0)
      .where((eb) => eb.or([eb('target_organisation_id', '=', organisationId), eb('actor_organisation_id', '=', organisationId)]))
      .orderBy('seq')
      .execute();
    return rows.filter((r) => isIntegerSeq(r.seq)).map(toAuditEvent);
  }
}
