// The file plan: creating collections and browsing them, showing only what decide() allows.
import { randomUUID } from 'node:crypto';
import { decide, type Decision } from '../domain/access/policy.js';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { validateName } from '../domain/names.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Arrangement, Classification, Collection, Document } from '../domain/types.js';
import { CLASSIFICATIONS } from '../domain/types.js';
import type { Store } from '../db/store.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import { auditEvent } from './audit-events.js';

export interface NewCollection {
  organisationId: string;
  name: string;
  parentId?: string | null;
  serviceArea: string;
  classification: string;
}

export interface CollectionListing {
  collection: Collection;
  children: Collection[];
  documents: Document[];
}

export class CollectionsService {
  constructor(private readonly o: { store: Store; access: AccessService; clock: Clock; serviceAreas: readonly string[] }) {}

  /**
   * The joint workspace of an arrangement: a top-level collection in the host organisation. The
   * caller has already had `arrangement.workspace` allowed by decide(); this does not widen it.
   */
  async createWorkspace(actor: Actor, arrangement: Arrangement, name: string): Promise<Collection> {
    return this.insert(actor, {
      organisationId: arrangement.hostOrganisationId, parentId: null, name: validateName(name, 'collection'),
      serviceArea: arrangement.serviceArea, classification: arrangement.ceiling, arrangementId: arrangement.id,
    }, { reason: 'arrangement_workspace', via: arrangement.id });
  }

  /**
   * Existence and permission first, shape second: whatever is wrong with the input, someone who may
   * not see the parent learns only that it is not there (404, audited).
   */
  async create(actor: Actor, input: NewCollection): Promise<Collection> {
    const parentId = input.parentId ?? null;
    if (parentId !== null) return this.createInside(actor, parentId, input);
    const organisationId = input.organisationId;
    const decision = await this.o.access.require(actor, 'organisation.manage-collections', { kind: 'organisation', organisationId }, { organisationId, ids: {} });
    const { name, serviceArea, classification } = this.validShape(input);
    // Only a joint workspace (createWorkspace) starts a tree belonging to an arrangement.
    return this.insert(actor, { organisationId, parentId: null, name, serviceArea, classification, arrangementId: null }, decision);
  }

  /** A sub-collection inherits its parent's organisation and arrangement; its service area must be the parent's. */
  private async createInside(actor: Actor, parentId: string, input: NewCollection): Promise<Collection> {
    const parent = await this.o.store.repos.collections.byId(parentId);
    if (!parent || parent.deletedAt) throw notFound('collection');
    const granted = await this.o.access.require(actor, 'collection.create', collectionResource(parent), { organisationId: parent.organisationId, ids: { collectionId: parent.id } });
    const { name, serviceArea, classification } = this.validShape(input);
    if (serviceArea !== parent.serviceArea) throw invalid(`A sub-collection must have the same service area as its parent ("${parent.serviceArea}").`, { field: 'serviceArea' });
    const decision = await this.o.access.requireCreatable(actor, 'collection.create', parent, classification, granted);
    return this.insert(actor, { organisationId: parent.organisationId, parentId: parent.id, name, serviceArea, classification, arrangementId: parent.arrangementId }, decision);
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

  private async insert(actor: Actor, c: Omit<Collection, 'id' | 'createdAt' | 'deletedAt'>, decision: Pick<Decision, 'reason' | 'via'>): Promise<Collection> {
    if (await this.o.store.repos.collections.childByName(c.organisationId, c.parentId, c.name)) {
      throw conflict(`A collection called "${c.name}" already exists there.`);
    }
    const now = this.o.clock.now();
    const collection: Collection = { ...c, id: randomUUID(), createdAt: now.toISOString(), deletedAt: null };
    await this.o.store.transaction(async (repos) => {
      await repos.collections.insert(collection);
      await repos.audit.insert([auditEvent(actor, 'collection.create', { organisationId: c.organisationId, ids: { collectionId: collection.id, ...(c.arrangementId ? { arrangementId: c.arrangementId } : {}) } }, { allow: true, reason: decision.reason, via: decision.via }, now)]);
    });
    return collection;
  }

  /** A collection with the children and documents the actor may see. */
  async get(actor: Actor, collectionId: string, options: { includeDeleted?: boolean } = {}): Promise<CollectionListing> {
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    const context = await this.o.access.context(actor, [collection.organisationId]);
    const children = (await this.o.store.repos.collections.children(collection.organisationId, collection.id)).filter(
      (c) => decide(actor, 'collection.list', collectionResource(c), context).allow,
    );
    const documents = (await this.o.store.repos.documents.inCollection(collection.id, { includeDeleted: options.includeDeleted ?? false })).filter(
      (d) => decide(actor, 'document.read', documentResource(d), context).allow,
    );
    return { collection, children, documents };
  }

  /** Top-level collections of an organisation that the actor may list (own, partners' through arrangements, joint workspaces). */
  async roots(actor: Actor, organisationId: string): Promise<Collection[]> {
    const context = await this.o.access.context(actor, [organisationId]);
    return (await this.o.store.repos.collections.children(organisationId, null)).filter((c) => decide(actor, 'collection.list', collectionResource(c), context).allow);
  }

  /** Every collection of an organisation the actor may list (for pickers and WebDAV roots). */
  async visible(actor: Actor, organisationId: string): Promise<Collection[]> {
    const context = await this.o.access.context(actor, [organisationId]);
    return (await this.o.store.repos.collections.listByOrganisation(organisationId)).filter((c) => decide(actor, 'collection.list', collectionResource(c), context).allow);
  }

  /** Resolves a path of collection names under an organisation, checking each step. */
  async resolvePath(actor: Actor, organisationId: string, names: string[]): Promise<Collection | null> {
    let current: Collection | null = null;
    for (const name of names) {
      const next: Collection | undefined = await this.o.store.repos.collections.childByName(organisationId, current?.id ?? null, name);
      if (!next) return null;
      current = next;
    }
    if (current) {
      const context = await this.o.access.context(actor, [organisationId]);
      if (!decide(actor, 'collection.list', collectionResource(current), context).allow) return null;
    }
    return current;
  }

  async byId(id: string): Promise<Collection | undefined> {
    return this.o.store.repos.collections.byId(id);
  }
}
