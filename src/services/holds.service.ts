// Legal holds: placing them over documents and collections, the hold register, and release (with a reason).
// The refusals a hold causes are decide()'s (domain/access/policy.ts), not this service's: this service
// only writes holds, and every one of its own steps is asked of AccessService like any other.
import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound } from '../domain/errors.js';
import type { Decision } from '../domain/access/policy.js';
import type { Clock } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import { RELEASE_REASON_MIN, isHoldActive, type HoldItem, type HoldRef, type LegalHold } from '../domain/records/holds.js';
import { UNNAMED_HOLD } from '../domain/records/holds.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';
import { changeDecidedWithin, organisationAction, type DecidedAgain, type Questions } from './decided-within.js';
import type { IdentityService } from './identity.service.js';

export interface HoldsServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  /** Reads the actor again inside the transaction that places, adds to or releases a hold (changeDecidedWithin). */
  identity: Pick<IdentityService, 'actorWithin'>;
}

export interface NewHold {
  name: string;
  reason: string;
  reference?: string | null;
}

/** Documents and collections to put under a hold. */
export interface HoldPlaces {
  documentIds?: readonly string[];
  collectionIds?: readonly string[];
}

/** A hold in the register: the hold and how much it covers. */
export interface HoldSummary {
  hold: LegalHold;
  documents: number;
  collections: number;
}

/** One thing a hold covers, named only if the viewer may see it. */
export interface HoldItemView {
  item: HoldItem;
  kind: 'document' | 'collection';
  /** The document's or collection's name, or null where the viewer may not see it (or it is gone). */
  name: string | null;
}

export interface HoldDetail extends HoldSummary {
  items: HoldItemView[];
}

const NAME_MAX = 200;
const TEXT_MAX = 2000;

export class HoldsService {
  constructor(protected readonly o: HoldsServiceOptions) {}

  private get repos(): Repos {
    return this.o.store.repos;
  }

  /** Places a new (empty) hold in the actor's organisation: records managers and DPOs (`records.hold`). */
  async create(actor: Actor, input: NewHold): Promise<LegalHold> {
    return (await this.createOver(actor, input, {})).hold;
  }

  /**
   * Places a new hold over these documents and collections at once: the hold and what it covers are
   * written in one transaction, so a refused item leaves no empty hold behind (nothing is placed).
   */
  async createOver(actor: Actor, input: NewHold, items: HoldPlaces): Promise<{ hold: LegalHold; added: HoldItem[] }> {
    const organisationId = actor.organisationId ?? '';
    await this.o.access.requireOrganisation(actor, 'records.hold', organisationId, {}, { missing: 'organisation' });
    const name = input.name.trim();
    if (name.length === 0 || name.length > NAME_MAX) throw invalid(`Give the hold a name (up to ${NAME_MAX} characters), such as the case or request it is for.`, { field: 'name' });
    const reason = input.reason.trim();
    if (reason.length < RELEASE_REASON_MIN || reason.length > TEXT_MAX) throw invalid(`Give the reason for this hold (at least ${RELEASE_REASON_MIN} characters).`, { field: 'reason' });
    const reference = input.reference?.trim() || null;
    if (reference !== null && reference.length > NAME_MAX) throw invalid(`The reference can be up to ${NAME_MAX} characters.`, { field: 'reference' });
    const now = this.o.clock.now();
    const hold: LegalHold = {
      id: randomUUID(), organisationId, name, reason, reference, createdBy: actor.userId, createdAt: now.toISOString(),
      releasedAt: null, releasedBy: null, releaseReason: null,
    };
    const places = await this.placesFor(actor, hold, items, { required: false });
    // Decided again inside the transaction, on the actor as it reads them: the first decision is the fast answer.
    const questions = async (repos: Repos): Promise<Questions> => [
      organisationAction('records.hold', organisationId, {}, 'records.hold.create', 'organisation'), ...(await placesAskedAgain(repos, hold, places)),
    ];
    const added = await changeDecidedWithin(this.o, actor, questions, async (repos, { actor: acting, decision }) => {
      await repos.holds.insert(hold);
      await repos.audit.insert([auditEvent(acting, 'records.hold.create', { organisationId, ids: { holdId: hold.id } }, decision, now)]);
      return places.documents.length + places.collections.length > 0 ? placeUnderHold(repos, acting, hold, places, decision, now) : [];
    });
    return { hold, added };
  }

  /**
   * Adds documents and collections to an active hold. They must be the hold's organisation's own
   * records and ones the actor can see; anything else is refused as not there (404, audited), and
   * nothing is added. A collection's hold covers everything in it and below it, later additions included.
   */
  async addItems(actor: Actor, holdId: string, items: HoldPlaces): Promise<HoldItem[]> {
    const { hold } = await this.requireHold(actor, holdId, 'records.hold');
    const { documents, collections } = await this.placesFor(actor, hold, items, { required: true });
    if (!isHoldActive(hold)) throw conflict(`The hold “${hold.name}” was released; place a new hold instead.`);
    const now = this.o.clock.now();
    return changeDecidedWithin(this.o, actor, async (repos) => [this.holdAction(hold, 'records.hold.add'), ...(await placesAskedAgain(repos, hold, { documents, collections }))],
      (repos, { actor: acting, decision: decided }) => placeUnderHold(repos, acting, hold, { documents, collections }, decided, now));
  }

  /** Releases an active hold. The reason is required: the register keeps who released it, when and why. */
  async release(actor: Actor, holdId: string, reason: string): Promise<LegalHold> {
    const { hold } = await this.requireHold(actor, holdId, 'records.hold');
    const why = reason.trim();
    if (why.length < RELEASE_REASON_MIN) throw invalid('Give the reason for releasing this hold.', { field: 'reason' });
    if (why.length > TEXT_MAX) throw invalid(`The reason can be up to ${TEXT_MAX} characters.`, { field: 'reason' });
    if (!isHoldActive(hold)) throw conflict(`The hold “${hold.name}” was already released.`);
    // A subject access request's hold keeps what its response holds until the request is closed, which
    // releases it: released here, its records could be changed or destroyed while the response is still owed.
    const keptForRequest = conflict(`The hold “${hold.name}” keeps records for an open subject access request; it is released when the request is closed.`);
    if (await this.repos.subjectAccess.openRequestHolding(holdId)) throw keptForRequest;
    const now = this.o.clock.now();
    const change = { at: now.toISOString(), by: actor.userId, reason: why };
    await changeDecidedWithin(this.o, actor, [this.holdAction(hold, 'records.hold.release')], async (repos, { actor: acting, decision: decided }) => {
      if (await repos.subjectAccess.openRequestHolding(holdId)) throw keptForRequest;
      if (!(await repos.holds.release(holdId, change))) throw conflict(`The hold “${hold.name}” was already released.`);
      await repos.audit.insert([auditEvent(acting, 'records.hold.release', { organisationId: hold.organisationId, ids: { holdId } }, decided, now)]);
    });
    return { ...hold, releasedAt: change.at, releasedBy: change.by, releaseReason: why };
  }

  /** The organisation's hold register, active holds first (`records.read`). */
  async list(actor: Actor, organisationId: string): Promise<HoldSummary[]> {
    await this.o.access.requireOrganisation(actor, 'records.read', organisationId, {}, { missing: 'organisation' });
    const out: HoldSummary[] = [];
    for (const hold of await this.repos.holds.list(organisationId)) out.push(summarise(hold, await this.repos.holds.items(hold.id)));
    return out;
  }

  /** One hold with what it covers; names are given only of what the actor may see. */
  async get(actor: Actor, holdId: string): Promise<HoldDetail> {
    const { hold } = await this.requireHold(actor, holdId, 'records.read');
    const items = await this.repos.holds.items(holdId);
    const views: HoldItemView[] = [];
    const documents = new Map<string, Document>();
    const collections = new Map<string, Collection>();
    for (const item of items) {
      if (item.documentId) {
        const d = await this.repos.documents.byId(item.documentId);
        if (d) documents.set(d.id, d);
      } else if (item.collectionId) {
        const c = await this.repos.collections.byId(item.collectionId);
        if (c) collections.set(c.id, c);
      }
    }
    const [readableDocuments, listableCollections] = await Promise.all([
      this.o.access.filter(actor, 'document.read', [...documents.values()], documentResource),
      this.o.access.filter(actor, 'collection.list', [...collections.values()].filter((c) => c.deletedAt === null), collectionResource),
    ]);
    const seen = new Set([...readableDocuments.map((d) => d.id), ...listableCollections.map((c) => c.id)]);
    for (const item of items) {
      const id = item.documentId ?? item.collectionId ?? '';
      const name = seen.has(id) ? (documents.get(id)?.name ?? collections.get(id)?.name ?? null) : null;
      views.push({ item, kind: item.documentId ? 'document' : 'collection', name });
    }
    return { ...summarise(hold, items), items: views };
  }

  /** The active holds over a document the actor may read (directly or through its collections). */
  async holdsFor(actor: Actor, documentId: string): Promise<HoldRef[]> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    await this.o.access.require(actor, 'document.read', documentResource(document), { organisationId: document.organisationId, ids: { documentId } });
    return this.asSeenBy(actor, document.organisationId, (await this.repos.holds.activeForDocuments([documentId])).get(documentId) ?? []);
  }

  /** The active holds over a collection the actor may list (on it or on any collection above it). */
  async holdsForCollection(actor: Actor, collectionId: string): Promise<HoldRef[]> {
    const collection = await this.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    return this.asSeenBy(actor, collection.organisationId, (await this.repos.holds.activeForCollections([collectionId])).get(collectionId) ?? []);
  }

  /** Holds as this actor may see them: named to the owning organisation's staff, only counted for anyone else. */
  private async asSeenBy(actor: Actor, organisationId: string, holds: HoldRef[]): Promise<HoldRef[]> {
    if (holds.length === 0) return holds;
    const named = (await this.o.access.decisionFor(actor, 'records.hold-names', { kind: 'organisation', organisationId })).allow;
    return named ? holds : holds.map((h) => ({ id: h.id, name: UNNAMED_HOLD }));
  }

  /** The active holds of the actor's organisation, for a "place on hold" picker (`records.hold`); none if they may not place holds. */
  async placeable(actor: Actor): Promise<LegalHold[]> {
    const organisationId = actor.organisationId ?? '';
    if (!(await this.o.access.may(actor, 'records.hold', { kind: 'organisation', organisationId }))) return [];
    return (await this.repos.holds.list(organisationId)).filter(isHoldActive);
  }

  /** The documents and collections asked for, each one the hold's organisation's own and one the actor can see (refused as not there otherwise, audited). */
  private async placesFor(actor: Actor, hold: LegalHold, items: HoldPlaces, o: { required: boolean }): Promise<{ documents: Document[]; collections: Collection[] }> {
    const documentIds = [...new Set(items.documentIds ?? [])];
    const collectionIds = [...new Set(items.collectionIds ?? [])];
    if (o.required && documentIds.length + collectionIds.length === 0) throw invalid('Choose at least one document or collection to place on hold.', { field: 'documentIds' });
    if (documentIds.length + collectionIds.length > 1000) throw invalid('Place at most 1000 items on hold at once; hold their collection instead.', { field: 'documentIds' });
    const documents: Document[] = [];
    for (const id of documentIds) documents.push(await this.requireOwnDocument(actor, hold, id));
    const collections: Collection[] = [];
    for (const id of collectionIds) collections.push(await this.requireOwnCollection(actor, hold, id));
    return { documents, collections };
  }

  /** `records.hold` on the hold's organisation, asked again inside the change's transaction (refused: audited as `auditAs`, 404). */
  private holdAction(hold: LegalHold, auditAs: string) {
    return organisationAction('records.hold', hold.organisationId, { holdId: hold.id }, auditAs, 'hold');
  }

  /** A hold of an organisation where the actor may do `action`; otherwise not there (404, audited). */
  private async requireHold(actor: Actor, holdId: string, action: 'records.hold' | 'records.read'): Promise<{ hold: LegalHold; decision: Decision }> {
    const hold = await this.repos.holds.byId(holdId);
    if (!hold) throw notFound('hold');
    const decision = await this.o.access.requireOrganisation(actor, action, hold.organisationId, { holdId }, { missing: 'hold' });
    return { hold, decision };
  }

  private async requireOwnDocument(actor: Actor, hold: LegalHold, documentId: string): Promise<Document> {
    const document = await this.repos.documents.byId(documentId);
    if (!document) throw notFound('document');
    const target = { organisationId: document.organisationId, ids: { holdId: hold.id, documentId } };
    if (document.organisationId !== hold.organisationId) {
      // A partner's records are not this organisation's to hold, whatever an arrangement lets the actor see.
      await this.o.access.recordRefusal(actor, 'records.hold.add', target, 'other_organisation');
      throw notFound('document');
    }
    await this.o.access.require(actor, 'document.read', documentResource(document), target);
    return document;
  }

  private async requireOwnCollection(actor: Actor, hold: LegalHold, collectionId: string): Promise<Collection> {
    const collection = await this.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    const target = { organisationId: collection.organisationId, ids: { holdId: hold.id, collectionId } };
    if (collection.organisationId !== hold.organisationId) {
      await this.o.access.recordRefusal(actor, 'records.hold.add', target, 'other_organisation');
      throw notFound('collection');
    }
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), target);
    return collection;
  }
}

/**
 * Each document and collection to hold asked about again inside the change's transaction, as it reads them once
 * locked (in placeUnderHold's order): one moved out of the actor's reach, or reclassified, since placesFor asked
 * is refused (audited as `records.hold.add`, 404 as for an unknown id), not held on what was read before.
 */
async function placesAskedAgain(repos: Repos, hold: LegalHold, places: { documents: readonly Document[]; collections: readonly Collection[] }): Promise<DecidedAgain[]> {
  await repos.holds.lockForPlacing({ documentIds: places.documents.map((d) => d.id), collectionIds: places.collections.map((c) => c.id) });
  const asked: DecidedAgain[] = [];
  for (const d of places.documents) {
    const fresh = await holdable(repos, d);
    asked.push({ action: 'document.read', resource: documentResource(fresh), target: { organisationId: hold.organisationId, ids: { holdId: hold.id, documentId: d.id } }, auditAs: 'records.hold.add', missing: 'document' });
  }
  for (const c of places.collections) {
    const fresh = (await repos.collections.byId(c.id)) ?? c;
    asked.push({ action: 'collection.list', resource: collectionResource(fresh), target: { organisationId: hold.organisationId, ids: { holdId: hold.id, collectionId: c.id } }, auditAs: 'records.hold.add', missing: 'collection' });
  }
  return asked;
}

/**
 * A document to hold as the caller's transaction reads it, once locked (`holds.lockForPlacing`): one destroyed
 * meanwhile is refused as such (409), before decide() is asked about it (which would call it not there).
 */
export async function holdable(repos: Repos, document: Document): Promise<Document> {
  const fresh = await repos.documents.byId(document.id);
  if (!fresh || fresh.status === 'disposed') throw conflict(`“${document.name}” was destroyed a moment ago; it can no longer be held.`);
  return fresh;
}

/**
 * Puts documents and collections under an active hold inside the caller's transaction, audited as
 * `records.hold.add` (what `audit verify` and the disposal job read the register by). Ordered against a
 * destruction under way (which locks the document and the collections above it): either it finished first
 * and the document is gone (refused), or it waits and then sees this hold. Already covered: left as it is.
 */
export async function placeUnderHold(
  repos: Repos, actor: Actor, hold: LegalHold, places: { documents: readonly Document[]; collections: readonly Collection[] }, decision: Decision, now: Date,
): Promise<HoldItem[]> {
  const documentIds = places.documents.map((d) => d.id);
  const collectionIds = places.collections.map((c) => c.id);
  await repos.holds.lockForPlacing({ documentIds, collectionIds });
  for (const d of places.documents) await holdable(repos, d);
  const current = await repos.holds.byId(hold.id);
  if (!current || !isHoldActive(current)) throw conflict(`The hold “${hold.name}” was released at the same moment; place a new hold instead.`);
  const existing = await repos.holds.items(hold.id);
  const have = new Set(existing.map((i) => i.documentId ?? i.collectionId));
  const wanted = [
    ...documentIds.map((documentId) => ({ documentId, collectionId: null })),
    ...collectionIds.map((collectionId) => ({ documentId: null, collectionId })),
  ];
  const added: HoldItem[] = [];
  for (const place of wanted) {
    if (have.has(place.documentId ?? place.collectionId)) continue;
    have.add(place.documentId ?? place.collectionId);
    const item: HoldItem = { id: randomUUID(), holdId: hold.id, organisationId: hold.organisationId, ...place, addedBy: actor.userId, addedAt: now.toISOString() };
    await repos.holds.addItem(item);
    added.push(item);
  }
  await repos.audit.insert(added.map((item) => auditEvent(actor, 'records.hold.add', {
    organisationId: hold.organisationId, ids: { holdId: hold.id, ...(item.documentId ? { documentId: item.documentId } : { collectionId: item.collectionId! }) },
  }, decision, now)));
  return added;
}

function summarise(hold: LegalHold, items: readonly HoldItem[]): HoldSummary {
  return { hold, documents: items.filter((i) => i.documentId !== null).length, collections: items.filter((i) => i.collectionId !== null).length };
}

