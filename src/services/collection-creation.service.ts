// Creating collections: top-level ones, sub-collections and joint workspaces, each decided by decide() and
// written with its name claimed (and, when asked for, its record series) in one transaction; `prepareCreate`
// decides one without writing it, for a folder copy to write a whole tree in one transaction (FolderCopyService).
import { randomUUID } from 'node:crypto';
import type { Decision } from '../domain/access/policy.js';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import { placeCollection } from '../domain/placement.js';
import { TOP_LEVEL } from '../domain/audit/placement-record.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Arrangement, Classification, Collection } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import type { Repos, Store } from '../domain/repositories.js';
import { stepAllowedFrom } from '../domain/arrangements/lifecycle.js';
import { collectionResource, type AccessService } from './access.service.js';
import { arrangementResource } from './arrangements.service.js';
import { auditEvent } from './audit-events.js';
import { afterNameTaken, claimFolderName, documentInTheWay, giveClaimedName, nameHeld, takenWithin, tellCollectionNameTaken } from './name-claims.js';
import type { LocksService } from './locks.service.js';
import type { InTheWay, Removal, RemovalsService } from './removals.service.js';
import type { StagedNewFiling } from './retention.service.js';

export interface NewCollection {
  organisationId: string;
  name: string;
  parentId?: string | null;
  serviceArea: string;
  classification: string;
}

/** A collection decided on and not yet written: `write` inserts it, and bins what was in its way, in the caller's transaction. */
export interface PreparedCollection {
  readonly collection: Collection;
  write(repos: Repos, now: Date): Promise<void>;
}

export { CollectionNameTaken, CollectionNameTakenWithin } from './name-claims.js';

export class CollectionCreationService {
  constructor(private readonly o: {
    store: Store; access: AccessService; locks: LocksService; clock: Clock; serviceAreas: readonly string[];
    /** What is in the way of a new folder (WebDAV Overwrite: T) is decided and binned as the file plan removes things. */
    removals: Pick<RemovalsService, 'prepareRemoval'>;
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
  async create(actor: Actor, input: NewCollection, options: {
    /** What is there under that name, binned in the same transaction (WebDAV COPY with Overwrite: T). */
    replace?: InTheWay;
    /** The record series it is filed under, decided already (RetentionService.stageNewCollectionSeries): written in the creating transaction, all or nothing. */
    filing?: StagedNewFiling;
  } = {}): Promise<Collection> {
    const { filing, ...prepare } = options;
    return this.commit(actor, await this.prepareCreate(actor, input, prepare), filing);
  }

  private async commit(actor: Actor, prepared: PreparedCollection, filing?: StagedNewFiling): Promise<Collection> {
    const now = this.o.clock.now();
    const write = async (repos: Repos) => {
      await this.o.access.holdActing(repos, actor);
      await prepared.write(repos, now);
    };
    // Filed: the filing opens the transaction, decides itself again there, and writes after the collection is inserted.
    const written = filing ? filing.within(prepared.collection, now, write) : this.o.store.transaction(write);
    await written.catch(async (error: unknown) => {
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
    const removal = options.replace ? await this.o.removals.prepareRemoval(actor, options.replace, { at: { organisationId, parentId: null, name }, ...replaced }) : null;
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
    const removal = replace ? await this.o.removals.prepareRemoval(actor, replace, { at: { organisationId: parent.organisationId, parentId: parent.id, name }, ...replaced }) : null;
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
    if (taken) throw await tellCollectionNameTaken(this.o.access, actor, taken);
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
        await giveClaimedName(place, claimant, documentInTheWay(c.name), () => repos.collections.insert({ ...collection, createdAt: now.toISOString() }));
        await repos.audit.insert([auditEvent(actor, 'collection.create', { organisationId: c.organisationId, ids: { collectionId: collection.id, parentId: c.parentId ?? TOP_LEVEL, classification: c.classification, serviceArea: c.serviceArea, ...(c.arrangementId ? { arrangementId: c.arrangementId } : {}) } }, decision, now)]);
      },
    };
  }

  /** `error`, or, for a name found taken inside a transaction (by a collection or a document), what this actor is told. */
  async afterNameTaken(actor: Actor, error: unknown): Promise<unknown> {
    return afterNameTaken(this.o.access, this.o.store.repos, actor, error);
  }
}
