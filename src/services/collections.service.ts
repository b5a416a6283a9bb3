// The file plan: creating collections and browsing them, showing only what decide() allows.
import { randomUUID } from 'node:crypto';
import type { Action } from '../domain/access/actions.js';
import type { CollectionResource, Decision, DocumentResource } from '../domain/access/policy.js';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { documentPlacementChanged, placeCollection, placeDocument } from '../domain/placement.js';
import { TOP_LEVEL } from '../domain/audit/placement-record.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Arrangement, Classification, Collection, Document } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { stepAllowedFrom } from '../domain/arrangements/lifecycle.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { arrangementResource } from './arrangements.service.js';
import { auditEvent } from './audit-events.js';
import { afterNameTaken, claimFolderName, documentInTheWay, nameHeld, takenWithin, tellNameTaken, type NameHolder, type NameTaken } from './name-claims.js';

/**
 * A document as managing it with its folder sees it: asked as the document (so the holds over it
 * apply, a deleted one's included) but whatever its status, since a deleted or pending document
 * moves and goes with its folder all the same.
 */
function asPartOfFolder(d: Document): DocumentResource {
  return { ...documentResource(d), status: 'available', deleted: false };
}
import type { LocksService, WriteTouch } from './locks.service.js';
import { dueDatesMoved, type DueDateChecks, type DueDateShift } from './retention-due-dates.js';

export interface NewCollection {
  organisationId: string;
  name: string;
  parentId?: string | null;
  serviceArea: string;
  classification: string;
}

/** Something in the way at a destination (WebDAV Overwrite: T), to be binned to make room: by kind and id. */
export interface InTheWay {
  kind: 'document' | 'collection';
  id: string;
}

/**
 * The removal of a document, or of a collection with everything in it, once every decision that could
 * refuse it has been made (permission on all of it, holds, locks, scans). `bin` soft-deletes it in the
 * caller's transaction, so a removal and the copy, move or new folder it makes room for are all or
 * nothing: a refused operation bins nothing.
 */
export interface Removal {
  readonly kind: 'document' | 'collection';
  readonly id: string;
  bin(repos: Repos, now: Date): Promise<void>;
}

/** A collection decided on and not yet written: `write` inserts it, and bins what was in its way, in the caller's transaction. */
export interface PreparedCollection {
  readonly collection: Collection;
  write(repos: Repos, now: Date): Promise<void>;
}

export interface CollectionListing {
  collection: Collection;
  children: Collection[];
  documents: Document[];
}

/** Breadcrumbs to a collection: its organisation, and each folder from the top (null where the reader may not list it). */
export interface CollectionTrail {
  organisationId: string | null;
  steps: (Collection | null)[];
}

export { CollectionNameTaken, CollectionNameTakenWithin } from './name-claims.js';

const CHANGED = 'What is at the destination changed at the same moment; try again.';
const CHANGED_HERE = 'Something in this collection changed at the same moment; try again.';

export class CollectionsService {
  constructor(private readonly o: {
    store: Store; access: AccessService; locks: LocksService; clock: Clock; serviceAreas: readonly string[];
    /** A folder move is refiling by another name for everything below it: checked like refiling. */
    dueDates: DueDateChecks;
  }) {}

  /**
   * The joint workspace of an arrangement: a top-level collection in the host organisation.
   * Nothing the caller hands in is taken on trust: the arrangement is read again by id, and
   * `arrangement.workspace` is required of decide() here (a refusal is audited, 404) and of the
   * lifecycle, so no caller can plant a workspace in another organisation with a Decision or an
   * Arrangement of its own making. ArrangementsService.createWorkspace asks first, to tell the
   * parties why a step is refused; the collection's creation event records the decision made here.
   */
  async createWorkspace(actor: Actor, arrangement: Pick<Arrangement, 'id'>, name: string): Promise<Collection> {
    const stored = await this.o.store.repos.arrangements.byId(arrangement.id);
    if (!stored) throw notFound('arrangement');
    const granted = await this.o.access.require(actor, 'arrangement.workspace', arrangementResource(stored), { organisationId: stored.hostOrganisationId, ids: { arrangementId: stored.id } }, { missing: 'arrangement' });
    if (!stepAllowedFrom('workspace', stored.status)) throw invalid('Only the host organisation can set up a joint workspace, and not once the arrangement has ended.');
    return this.commit(actor, await this.prepared(actor, randomUUID(), {
      organisationId: stored.hostOrganisationId, parentId: null, name: validateName(name, 'collection'),
      serviceArea: stored.serviceArea, classification: stored.ceiling, arrangementId: stored.id,
    }, granted, null));
  }

  /**
   * Existence and permission first, shape second: whatever is wrong with the input, someone who may
   * not see the parent learns only that it is not there (404, audited).
   */
  async create(actor: Actor, input: NewCollection, options: { /** What is there under that name, binned in the same transaction (WebDAV COPY with Overwrite: T). */ replace?: InTheWay } = {}): Promise<Collection> {
    return this.commit(actor, await this.prepareCreate(actor, input, options));
  }

  private async commit(actor: Actor, prepared: PreparedCollection): Promise<Collection> {
    const now = this.o.clock.now();
    await this.o.store.transaction((repos) => prepared.write(repos, now)).catch(async (error: unknown) => {
      // What was in the way refused its binning when asked again in the transaction (a hold placed meanwhile),
      // or the name was taken since it was checked.
      throw await this.o.access.afterRollback(actor, await this.afterNameTaken(actor, error));
    });
    return { ...prepared.collection, createdAt: now.toISOString() };
  }

  /**
   * `create` with every decision made and nothing written: `write` inserts the collection (binning what
   * is in the way) in the caller's transaction, so a folder copy creates its whole tree in one.
   * `under`: a parent that is itself only prepared (a sub-folder of a copy), decided on as planned and
   * written before this one in the same transaction; `id`: the id to give it (a copy decided again keeps it);
   * `sparing`: what is being copied there, which what is in the way must not hold.
   */
  async prepareCreate(actor: Actor, input: NewCollection, options: { replace?: InTheWay; sparing?: InTheWay; under?: Collection; id?: string } = {}): Promise<PreparedCollection> {
    const id = options.id ?? randomUUID();
    if (options.under) return this.prepareInsidePlanned(actor, options.under, input, id);
    const parentId = input.parentId ?? null;
    const replaced = options.sparing ? { replaced: true as const, sparing: options.sparing } : { replaced: true as const };
    if (parentId !== null) return this.prepareInside(actor, parentId, input, id, options.replace, replaced);
    const organisationId = input.organisationId;
    const decision = await this.o.access.require(actor, 'organisation.manage-collections', { kind: 'organisation', organisationId }, { organisationId, ids: {} });
    const { name, serviceArea, classification } = this.validShape(input);
    const removal = options.replace ? await this.prepareRemoval(actor, options.replace, { at: { organisationId, parentId: null, name }, ...replaced }) : null;
    // Only a joint workspace (createWorkspace) starts a tree belonging to an arrangement.
    return this.prepared(actor, id, { organisationId, parentId: null, name, serviceArea, classification, arrangementId: null }, decision, removal);
  }

  /** A sub-collection inherits its parent's organisation and arrangement; its service area must be the parent's. */
  private async prepareInside(actor: Actor, parentId: string, input: NewCollection, id: string, replace: InTheWay | undefined, replaced: { replaced: true; sparing?: InTheWay }): Promise<PreparedCollection> {
    // The input is judged only once the actor may create in the parent as it is (else 404).
    const { parent, decision, created } = await this.o.access.requireCreatableIn(actor, 'collection.create', parentId, (stored) => {
      const shape = this.validShape(input);
      if (shape.serviceArea !== stored.serviceArea) throw invalid(`A sub-collection must have the same service area as its parent ("${stored.serviceArea}").`, { field: 'serviceArea' });
      return shape;
    });
    const { name, serviceArea, classification } = created;
    await this.o.locks.enforce(actor, [{ kind: 'members', collection: parent }]);
    const placed = placeCollection({ organisationId: parent.organisationId, parentId: parent.id, serviceArea, classification, arrangementId: null }, parent);
    const removal = replace ? await this.prepareRemoval(actor, replace, { at: { organisationId: parent.organisationId, parentId: parent.id, name }, ...replaced }) : null;
    return this.prepared(actor, id, { name, ...placed }, decision, removal, { decideAgainOnParent: true });
  }

  /**
   * Inside a parent that does not exist yet (prepared in the same copy): decided on the parent as it
   * will be written. It can hold nothing yet, so no lock or name can be in the way; the locks over the
   * whole new tree were enforced when its top was prepared.
   */
  private async prepareInsidePlanned(actor: Actor, parent: Collection, input: NewCollection, id: string): Promise<PreparedCollection> {
    const { name, serviceArea, classification } = this.validShape(input);
    if (serviceArea !== parent.serviceArea) throw invalid(`A sub-collection must have the same service area as its parent ("${parent.serviceArea}").`, { field: 'serviceArea' });
    const decision = await this.o.access.require(actor, 'collection.create', collectionResource(parent), { organisationId: parent.organisationId, ids: { collectionId: parent.id } }, { newClassification: classification });
    const placed = placeCollection({ organisationId: parent.organisationId, parentId: parent.id, serviceArea, classification, arrangementId: null }, parent);
    return this.prepared(actor, id, { name, ...placed }, decision, null);
  }

  private validShape(input: NewCollection): { name: string; serviceArea: string; classification: Classification } {
    const name = validateName(input.name, 'collection');
    if (!this.o.serviceAreas.includes(input.serviceArea)) {
      throw invalid(`Unknown service area "${input.serviceArea}": use one of ${this.o.serviceAreas.join(', ')}.`, { field: 'serviceArea' });
    }
    if (!(CLASSIFICATIONS as readonly string[]).includes(input.classification)) {
      throw invalid(`Classification must be ${CLASSIFICATIONS.join(' or ')}.`, { field: 'classification' });
    }
    return { name, serviceArea: input.serviceArea, classification: input.classification as Classification };
  }

  /**
   * `decideAgainOnParent`: the create was decided on a parent that exists (not one planned in the same copy), so the
   * transaction asks decide() again on it as it reads it: an arrangement suspended or ended, or the parent's
   * classification raised, between the decision and the transaction refuses it there (404, audited after the
   * rollback, as a later create is answered), before the name is claimed, so a refused partner learns nothing of it.
   */
  private async prepared(actor: Actor, id: string, c: Omit<Collection, 'id' | 'createdAt' | 'deletedAt'>, decision: Decision, removal: Removal | null, options: { decideAgainOnParent?: boolean } = {}): Promise<PreparedCollection> {
    // A sub-collection or a document of that name in the parent is in the way, unless it is what this replaces.
    const place = { organisationId: c.organisationId, folderId: c.parentId, name: c.name };
    const claimant = { kind: 'collection' as const, except: [removal?.id] };
    const taken = await nameHeld(this.o.store.repos, place, claimant);
    if (taken) throw await this.nameTaken(actor, taken);
    const collection: Collection = { ...c, id, createdAt: this.o.clock.now().toISOString(), deletedAt: null };
    return {
      collection,
      write: async (repos, now) => {
        if (removal) await removal.bin(repos, now);
        if (c.parentId !== null) {
          // The parent as it is now (share-locked on PostgreSQL) must give what was authorised.
          const parent = await repos.collections.byIdForFiling(c.parentId);
          if (!parent || parent.deletedAt) throw notFound('collection');
          // Organisation and service area too: a parent only prepared (`under`) was decided on as handed in.
          const placed = placeCollection(c, parent);
          if (parent.organisationId !== c.organisationId || parent.serviceArea !== c.serviceArea
            || placed.arrangementId !== c.arrangementId || placed.classification !== c.classification) {
            throw conflict('The parent collection was moved or changed at the same moment; try again.');
          }
          if (options.decideAgainOnParent) {
            await this.o.access.requireWithin(repos, actor, [{ action: 'collection.create', resource: collectionResource(parent), newClassification: c.classification,
              target: { organisationId: parent.organisationId, ids: { collectionId: parent.id } } }]);
          }
        }
        // Taken since the check above (another create, a rename, move or folder copy finishing meanwhile)?
        // Claimed after the row locks above, as a move claims it, so no two claimants wait on each other's rows.
        const takenNow = await claimFolderName(repos, place, claimant);
        if (takenNow) throw takenWithin(takenNow, documentInTheWay(c.name), 'collection');
        await repos.collections.insert({ ...collection, createdAt: now.toISOString() });
        await repos.audit.insert([auditEvent(actor, 'collection.create', { organisationId: c.organisationId, ids: { collectionId: collection.id, parentId: c.parentId ?? TOP_LEVEL, classification: c.classification, serviceArea: c.serviceArea, ...(c.arrangementId ? { arrangementId: c.arrangementId } : {}) } }, decision, now)]);
      },
    };
  }

  /** What holds a name a collection was to take, as this actor is told it (name-claims.ts: tellNameTaken). */
  private async nameTaken(actor: Actor, holder: NameHolder): Promise<NameTaken> {
    return tellNameTaken(this.o.access, actor, holder, documentInTheWay(holder.kind === 'document' ? holder.document.name : holder.collection.name), 'collection');
  }

  /** `error`, or, for a name found taken inside a transaction (by a collection or a document), what this actor is told. */
  async afterNameTaken(actor: Actor, error: unknown): Promise<unknown> {
    return afterNameTaken(this.o.access, actor, error);
  }

  /** A collection with the children and documents the actor may see. */
  /**
   * A collection, its children and its documents in name order, at most 10,000 of them: `documentsAfter`
   * gives the next page (names after that one), so a client can walk a folder of any size.
   */
  async get(actor: Actor, collectionId: string, options: { includeDeleted?: boolean; documentsAfter?: string } = {}): Promise<CollectionListing> {
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    const children = await this.o.access.filter(actor, 'collection.list', await this.o.store.repos.collections.children(collection.organisationId, collection.id), collectionResource);
    const documents = await this.o.access.filter(actor, 'document.read',
      await this.o.store.repos.documents.inCollection(collection.id, {
        includeDeleted: options.includeDeleted ?? false, ...(options.documentsAfter !== undefined ? { after: options.documentsAfter } : {}),
      }), documentResource);
    return { collection, children, documents };
  }

  /** Top-level collections of an organisation that the actor may list (own, partners' through arrangements, joint workspaces). */
  async roots(actor: Actor, organisationId: string): Promise<Collection[]> {
    return this.o.access.filter(actor, 'collection.list', await this.o.store.repos.collections.children(organisationId, null), collectionResource);
  }

  /** Every collection of an organisation the actor may list (for pickers and WebDAV roots). */
  async visible(actor: Actor, organisationId: string): Promise<Collection[]> {
    return this.o.access.filter(actor, 'collection.list', await this.o.store.repos.collections.listByOrganisation(organisationId), collectionResource);
  }

  /**
   * The chain from the top level down to a collection, for breadcrumbs and captions: each collection the
   * actor may not list (asked of decide() through `can`, without auditing) or that was deleted is null,
   * so its name never reaches the page. Read here, never by an interface: a collection the caller names
   * by id (a document's folder) is shown only on these terms. An unknown id gives an empty trail.
   */
  async trail(actor: Actor, collectionId: string): Promise<CollectionTrail> {
    const chain: Collection[] = [];
    let current: Collection | undefined = await this.o.store.repos.collections.byId(collectionId);
    const organisationId = current?.organisationId ?? null;
    while (current && chain.length < 100) {
      chain.unshift(current);
      current = current.parentId ? await this.o.store.repos.collections.byId(current.parentId) : undefined;
    }
    const listable = await this.o.access.can(actor, chain.map((c) => ({ action: 'collection.list' as const, resource: collectionResource(c) })));
    return { organisationId, steps: chain.map((c, i) => (c.deletedAt === null && listable[i] ? c : null)) };
  }

  /**
   * Renames a collection and/or moves it under another parent (null: the top level) in the same
   * organisation. The derived facts of the collection, every collection below it and every document
   * in them (arrangement binding, service area, classification floor) are recomputed from their new
   * place in the same transaction, so a folder leaving a joint workspace stops being shared at once.
   */
  async move(actor: Actor, collectionId: string, change: {
    name?: string; parentId?: string | null;
    /** A records manager's confirmation that the move may bring due dates earlier. */
    confirmShorter?: boolean;
    /** What is at the destination under that name, binned in the move's own transaction (WebDAV Overwrite: T). */
    replace?: InTheWay;
  }): Promise<Collection> {
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    const decision = await this.requireManageAll(actor, collection, 'collection.move');
    const name = validateName(change.name ?? collection.name, 'collection');
    const parentId = change.parentId === undefined ? collection.parentId : change.parentId;
    const parent = parentId === null ? null : await this.o.store.repos.collections.byId(parentId);
    if (parent === undefined || parent?.deletedAt) throw notFound('collection');
    const placement = placeCollection(collection, parent);
    if (parentId !== collection.parentId) {
      const ids = { collectionId: collection.id, ...(parent ? { parentId: parent.id } : {}) };
      if (parent) {
        await this.o.access.require(actor, 'collection.create', { ...collectionResource(parent), classification: placement.classification }, { organisationId: parent.organisationId, ids });
      } else {
        await this.o.access.require(actor, 'organisation.manage-collections', { kind: 'organisation', organisationId: collection.organisationId }, { organisationId: collection.organisationId, ids });
      }
    }
    // Shape is checked only once the actor is known to see both ends, so it reveals nothing.
    if (parent && parent.organisationId !== collection.organisationId) throw invalid('Collections can only be moved within their organisation; copy them instead.', { field: 'parentId' });
    if (parent && parent.serviceArea !== collection.serviceArea) throw invalid('A sub-collection must have the same service area as its parent.', { field: 'parentId' });
    // A sibling or a document of that name in the destination is in the way, unless it is itself or what this replaces.
    // A request that leaves the name and the parent as they are names nothing, so it claims nothing: a document
    // written before the rule that shares the folder's name (name-claims.ts) does not refuse it.
    const moving = parentId !== collection.parentId;
    const naming = moving || name !== collection.name;
    const namePlace = { organisationId: collection.organisationId, folderId: parentId, name };
    const claimant = { kind: 'collection' as const, except: [collection.id, change.replace?.id] };
    const clash = naming ? await nameHeld(this.o.store.repos, namePlace, claimant) : undefined;
    if (clash) throw await this.nameTaken(actor, clash);
    const target = { organisationId: collection.organisationId, ids: { collectionId: collection.id, ...(parentId ? { parentId } : {}) } };
    if (moving && change.confirmShorter === true) await this.o.dueDates.requireShorteningConfirmable(actor, collection.organisationId, target.ids);
    await this.o.locks.enforce(actor, [...(await this.subtreeTouches(collection)), ...(parent ? [{ kind: 'members' as const, collection: parent }] : [])]);
    // What is in the way is decided like a delete of it, after the move itself, and binned in the move's transaction.
    const removal = change.replace
      ? await this.prepareRemoval(actor, change.replace, { at: { organisationId: collection.organisationId, parentId, name }, replaced: true, sparing: { kind: 'collection', id: collection.id } })
      : null;
    // Locks do not follow a moved resource (RFC 4918 §7.5): those on it and inside it end here.
    const endedLocks = await this.o.locks.tokensOn({ kind: 'collection', collection });
    const now = this.o.clock.now();
    const moved: Collection = { ...collection, name, ...placement };
    await this.o.store.transaction(async (repos) => {
      // Everything in it decided again under its row locks: a hold placed on it, above it or on anything inside
      // it since requireManageAll refuses the move here (audited once this rolls back), not only the next one.
      // Its name too: one left as it was is claimed by nobody below, so it must still be its own. Read again once
      // requireAllWithin holds its row (PostgreSQL): a rename committed while this waited for the lock, its name
      // then given to another, is found here rather than written back over it.
      const asRead = async () => {
        const row = await repos.collections.byId(collection.id);
        if (!row || row.deletedAt || row.parentId !== collection.parentId || row.name !== collection.name) throw conflict(CHANGED_HERE);
        return row;
      };
      const current = await asRead();
      await this.requireAllWithin(repos, actor, current, await this.subtree(repos, current), 'collection.move');
      await asRead();
      for (const token of endedLocks) await repos.locks.delete(token);
      // Read below the collection inside the transaction, so nothing added meanwhile keeps stale facts.
      if (parent && (await this.subtree(repos, collection)).some((c) => c.id === parent.id)) throw invalid('A collection cannot be moved into itself.', { field: 'parentId' });
      // The parent as it is now (share-locked on PostgreSQL) must give the placement that was authorised.
      const parentNow = parent ? await repos.collections.byIdForFiling(parent.id) : null;
      if (parentNow === undefined || parentNow?.deletedAt) throw notFound('collection');
      const placedNow = placeCollection(collection, parentNow);
      if (placedNow.arrangementId !== placement.arrangementId || placedNow.classification !== placement.classification) {
        throw conflict('The destination was moved or changed at the same moment; try again.');
      }
      if (removal) await removal.bin(repos, now);
      // Taken since the check above (a create, copy or other move finishing meanwhile)? Claimed after the row locks.
      const takenNow = naming ? await claimFolderName(repos, namePlace, claimant) : undefined;
      if (takenNow) throw takenWithin(takenNow, documentInTheWay(name), 'collection');
      const place = async () => {
        await repos.collections.place(collection.id, { name, ...placement });
        await this.replaceBelow(repos, moved, now.toISOString());
      };
      // Everything below takes its retention from the new place: due dates brought earlier need a records manager's confirmation.
      let shift: DueDateShift = { earlier: 0, later: 0 };
      if (moving) shift = await this.o.dueDates.moved(repos, collection.organisationId, { collectionId: collection.id }, place, { confirmShorter: change.confirmShorter === true });
      else await place();
      const binding: Record<string, string> = collection.arrangementId !== moved.arrangementId
        ? { fromArrangementId: collection.arrangementId ?? 'none', toArrangementId: moved.arrangementId ?? 'none' } : {};
      // Its classification where it now is: everything beneath was raised to at least it (classification-record.ts).
      await repos.audit.insert([auditEvent(actor, 'collection.move', { ...target, ids: { ...target.ids, classification: moved.classification, ...binding, ...dueDatesMoved(shift) } }, decision, now)]);
    }).catch(async (error: unknown) => this.o.dueDates.auditRefusedShortening(actor, 'collection.move', target, await this.o.access.afterRollback(actor, await this.afterNameTaken(actor, error))));
    return moved;
  }

  /** Recomputes the derived facts of everything inside `place` (already at its new place), top down. */
  private async replaceBelow(repos: Repos, place: Collection, at: string): Promise<void> {
    for (const document of await repos.documents.inCollection(place.id, { includeDeleted: true, limit: 1_000_000 })) {
      const placement = placeDocument(document, place);
      if (documentPlacementChanged(document, placement)) await repos.documents.update(document.id, placement, at);
    }
    for (const child of await repos.collections.children(place.organisationId, place.id)) {
      const placed: Collection = { ...child, ...placeCollection(child, place) };
      await repos.collections.place(child.id, placed);
      await this.replaceBelow(repos, placed, at);
    }
  }

  /**
   * Moving or deleting a collection needs the level of deleting documents ('manage') in it; top-level
   * collections also need the right to manage the organisation's file plan. Either refusal is the
   * collection's own 404, in the words of an id that names nothing (another council's folder is no
   * "resource" that exists).
   */
  async requireManage(actor: Actor, collection: Collection): Promise<Decision> {
    if (collection.parentId === null) {
      await this.o.access.requireOrganisation(actor, 'organisation.manage-collections', collection.organisationId, { collectionId: collection.id }, { missing: 'collection' });
    }
    return this.o.access.require(actor, 'document.delete', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId: collection.id } });
  }

  /**
   * Moving or deleting a collection acts on everything inside it, so the actor needs 'manage' on every
   * sub-collection and on every document at its own classification (which may be above the folder's),
   * not only on the folder: otherwise someone below a document's classification could carry it into a
   * joint workspace, or delete it, with its folder. A refusal is the folder's own (404, audited as
   * `operation` with the hidden item's reason), so it does not tell that anything is hidden below.
   * Document status is not asked: a deleted or pending document moves with its folder all the same.
   * A legal hold over the folder, above it, or on any document inside it (deleted ones included)
   * refuses with the hold named (409): decide() says so only where the actor could otherwise act.
   */
  async requireManageAll(actor: Actor, collection: Collection, operation: 'collection.move' | 'collection.delete'): Promise<Decision> {
    const decision = await this.requireManage(actor, collection);
    const action = operation === 'collection.move' ? 'document.rename' : 'document.delete';
    for (const c of await this.subtree(this.o.store.repos, collection)) {
      const documents = await this.o.store.repos.documents.inCollection(c.id, { includeDeleted: true, limit: 1_000_000 });
      const inside: { resource: CollectionResource | DocumentResource; ids: Record<string, string> }[] = [
        { resource: collectionResource(c), ids: { insideCollectionId: c.id } },
        ...documents.map((d) => ({ resource: asPartOfFolder(d), ids: { documentId: d.id } })),
      ];
      const answers = await this.o.access.decisions(actor, inside.map((item) => ({ action, resource: item.resource })));
      const refused = answers.findIndex((answer) => !answer.allow);
      if (refused === -1) continue;
      const answer = answers[refused]!;
      await this.o.access.recordDenial(actor, operation, { organisationId: collection.organisationId, ids: { collectionId: collection.id, ...inside[refused]!.ids } }, answer);
      if (answer.hold) throw await this.o.access.heldError(actor, 'collection', collection.organisationId, answer.hold, { containing: inside[refused]!.resource.id !== collection.id });
      throw notFound('collection');
    }
    return decision;
  }

  /**
   * requireManageAll asked again inside the transaction that bins or moves the folder, after the rows were
   * locked (`holds.lockForChanging`: every document inside, deleted ones included, and every collection of
   * `subtree` exclusively, the collections above shared), with the holds and arrangements read there: a hold
   * placed on the folder, above it or on anything inside it in the moment since refuses (RefusedWithin, thrown
   * out of the transaction; the caller's `access.afterRollback` audits it as requireManageAll would have, and
   * answers 409 naming the hold). Something added inside after the rows were first read is a change at the same
   * moment (409, try again). Returns the documents inside as they are under the locks.
   */
  private async requireAllWithin(tx: Repos, actor: Actor, collection: Collection, subtree: readonly Collection[], operation: 'collection.move' | 'collection.delete'): Promise<Document[]> {
    const inside = async () => (await Promise.all(subtree.map((c) => tx.documents.inCollection(c.id, { includeDeleted: true, limit: 1_000_000 })))).flat();
    const seen = await inside();
    await tx.holds.lockForChanging({ documentIds: seen.map((d) => d.id), collectionIds: subtree.map((c) => c.id) });
    const documents = await inside();
    const known = new Set([...seen.map((d) => d.id), ...subtree.map((c) => c.id)]);
    if (documents.some((d) => !known.has(d.id)) || (await this.subtree(tx, collection)).some((c) => !known.has(c.id))) throw conflict(CHANGED_HERE);
    const action: Action = operation === 'collection.move' ? 'document.rename' : 'document.delete';
    const told = (containing: boolean) => ({ kind: 'collection' as const, organisationId: collection.organisationId, containing });
    await this.o.access.requireWithin(tx, actor, [
      ...subtree.map((c) => ({
        action, resource: collectionResource(c), auditAs: operation, told: told(c.id !== collection.id),
        target: { organisationId: collection.organisationId, ids: { collectionId: collection.id, insideCollectionId: c.id } },
      })),
      ...documents.map((d) => ({
        action, resource: asPartOfFolder(d), auditAs: operation, told: told(true),
        target: { organisationId: collection.organisationId, ids: { collectionId: collection.id, documentId: d.id } },
      })),
    ]);
    return documents;
  }

  /** Deleting or moving a collection changes it, everything inside it, and its parent's membership. */
  async subtreeTouches(collection: Collection): Promise<WriteTouch[]> {
    const parent = collection.parentId ? await this.o.store.repos.collections.byId(collection.parentId) : undefined;
    return [{ kind: 'subtree', collection }, ...(parent ? [{ kind: 'members' as const, collection: parent }] : [])];
  }

  /**
   * Prepares binning a document, or a collection with everything in it, deciding everything first:
   * a document as `DocumentsService.remove` would (delete permission, holds, scans, locks), a
   * collection as a WebDAV DELETE of it (`requireManageAll`, then deleting each live document inside,
   * and the locks on all of it). Nothing changes here; `bin` does it in the caller's transaction, and
   * refuses (409, try again) if anything was added inside meanwhile, since that was not decided.
   * `at`: where it must be (a destination it is in the way at); `sparing`: what is being moved or
   * copied there, which must not be inside it; `replaced`: recorded on the delete events.
   */
  async prepareRemoval(actor: Actor, what: InTheWay, options: {
    at?: { organisationId: string; parentId: string | null; name: string };
    sparing?: InTheWay;
    replaced?: boolean;
  } = {}): Promise<Removal> {
    const repos = this.o.store.repos;
    const flag: Record<string, string> = options.replaced ? { replaced: 'true' } : {};
    const at = options.at;
    if (what.kind === 'document') {
      const document = await repos.documents.byId(what.id);
      if (!document || document.deletedAt || (at && (document.organisationId !== at.organisationId || document.collectionId !== at.parentId || document.name !== at.name))) throw notFound('document');
      if (options.sparing?.id === document.id) throw conflict('The source and destination are the same.');
      await this.o.access.require(actor, 'document.delete', documentResource(document), { organisationId: document.organisationId, ids: { documentId: document.id } });
      const collection = await repos.collections.byId(document.collectionId);
      await this.o.locks.enforce(actor, [{ kind: 'content', target: { kind: 'document', document } }, ...(collection ? [{ kind: 'members' as const, collection }] : [])]);
      const endedLocks = await this.o.locks.tokensOn({ kind: 'document', document });
      return {
        kind: 'document', id: document.id,
        bin: async (tx, now) => {
          await tx.holds.lockForChanging({ documentIds: [document.id], collectionIds: [] });
          const current = await tx.documents.byId(document.id);
          if (!current || current.deletedAt || current.collectionId !== document.collectionId || current.name !== document.name) throw conflict(CHANGED);
          // Decided again under the row lock: a hold placed since the decision above refuses the binning (RefusedWithin).
          const [decided] = await this.o.access.requireWithin(tx, actor, [{ action: 'document.delete', resource: documentResource(current), target: { organisationId: document.organisationId, ids: { documentId: document.id } } }]);
          for (const token of endedLocks) await tx.locks.delete(token);
          await tx.documents.update(document.id, { deletedAt: now.toISOString() }, now.toISOString());
          await tx.audit.insert([auditEvent(actor, 'document.delete', { organisationId: document.organisationId, ids: { documentId: document.id, ...flag } }, decided!, now)]);
        },
      };
    }
    const collection = await repos.collections.byId(what.id);
    if (!collection || collection.deletedAt || (at && (collection.organisationId !== at.organisationId || collection.parentId !== at.parentId || collection.name !== at.name))) throw notFound('collection');
    const decision = await this.requireManageAll(actor, collection, 'collection.delete');
    await this.o.locks.enforce(actor, await this.subtreeTouches(collection));
    const subtree = await this.subtree(repos, collection);
    const spared = options.sparing;
    if (spared && subtree.some((c) => c.id === spared.id)) throw conflict('What is at the destination holds what is being moved; move it somewhere else first.');
    // Each live document inside is deleted as itself: a scan under way or a hold on it refuses the whole removal, before anything is binned.
    const documents = new Map<string, { document: Document; decision: Decision }>();
    for (const c of subtree) {
      for (const d of await repos.documents.inCollection(c.id, { limit: 1_000_000 })) {
        if (spared?.id === d.id) throw conflict('What is at the destination holds what is being moved; move it somewhere else first.');
        documents.set(d.id, { document: d, decision: await this.o.access.require(actor, 'document.delete', documentResource(d), { organisationId: d.organisationId, ids: { documentId: d.id } }) });
      }
    }
    const endedLocks = await this.o.locks.tokensOn({ kind: 'collection', collection });
    const decided = new Set(subtree.map((c) => c.id));
    return {
      kind: 'collection', id: collection.id,
      bin: async (tx, now) => {
        const at = now.toISOString();
        const current = await tx.collections.byId(collection.id);
        if (!current || current.deletedAt || current.parentId !== collection.parentId || current.name !== collection.name) throw conflict(CHANGED);
        const subtreeNow = await this.subtree(tx, current);
        if (subtreeNow.some((c) => !decided.has(c.id))) throw conflict(CHANGED);
        // All of it decided again under its row locks: a hold placed on the folder, above it or on anything inside
        // it since the decisions above refuses the binning (RefusedWithin), and so does one on a live document.
        const live = (await this.requireAllWithin(tx, actor, current, subtreeNow, 'collection.delete')).filter((d) => d.deletedAt === null);
        if (live.some((d) => !documents.has(d.id))) throw conflict(CHANGED);
        const fresh = await this.o.access.requireWithin(tx, actor, live.map((d) => ({
          action: 'document.delete' as const, resource: documentResource(d), target: { organisationId: d.organisationId, ids: { documentId: d.id } },
        })));
        const events: ReturnType<typeof auditEvent>[] = [];
        for (const [i, d] of live.entries()) {
          await tx.documents.update(d.id, { deletedAt: at }, at);
          events.push(auditEvent(actor, 'document.delete', { organisationId: d.organisationId, ids: { documentId: d.id } }, fresh[i]!, now));
        }
        for (const token of endedLocks) await tx.locks.delete(token);
        for (const c of subtreeNow.reverse()) await tx.collections.softDelete(c.id, at);
        events.push(auditEvent(actor, 'collection.delete', { organisationId: collection.organisationId, ids: { collectionId: collection.id, ...flag } }, decision, now));
        await tx.audit.insert(events);
      },
    };
  }

  /** The collection and all its live descendants, parents before children. */
  async subtree(repos: Repos, root: Collection): Promise<Collection[]> {
    const out: Collection[] = [root];
    for (let i = 0; i < out.length; i++) out.push(...(await repos.collections.children(root.organisationId, out[i]!.id)));
    return out;
  }
}
