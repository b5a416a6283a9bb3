// Browsing the file plan: a collection with what is in it, an organisation's top level, every collection
// for pickers, and breadcrumbs, showing only what decide() allows. Creating, moving and binning collections
// are CollectionCreationService's, CollectionMovesService's and RemovalsService's.
import { notFound } from '../domain/errors.js';
import type { Actor, Collection, Document } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import { collectionResource, documentResource, type AccessService } from './access.service.js';
import type { IdentityService } from './identity.service.js';

/** The most documents one listing holds (a REST answer, a page of `get`): a client pages on after the last. */
const LISTING_LIMIT = 10_000;

export interface CollectionListing {
  collection: Collection;
  children: Collection[];
  documents: Document[];
}

/**
 * Which documents a listing holds and where it starts: live ones, or binned ones too (`includeDeleted`), in
 * order of name then id, after `documentsAfter` (a name: only names after it) or, with `documentsAfterId`
 * too, after that (name, id) — the last document of the page before, which continues a listing with binned
 * documents that share a name without skipping or repeating one.
 */
export interface ListingOptions {
  includeDeleted?: boolean;
  documentsAfter?: string;
  /** A document id; ids are stored in lower case and compared byte by byte, so an upper-cased one is read as its lower case. */
  documentsAfterId?: string;
}

/** Where the next screen of a folder starts: after the last document shown, by name and id. */
export interface ListingCursor {
  name: string;
  id: string;
}

/** Breadcrumbs to a collection: its organisation, and each folder from the top (null where the reader may not list it). */
export interface CollectionTrail {
  organisationId: string | null;
  steps: (Collection | null)[];
}

export class CollectionsService {
  constructor(private readonly o: { store: Store; access: AccessService; identity: Pick<IdentityService, 'actorNow'> }) {}

  /**
   * A collection, its children and the first 10,000 documents the actor may read (ListingOptions), read a page
   * at a time as listInPages does. Fewer than 10,000 means the folder holds no more they may read; otherwise
   * `documentsAfter` (and `documentsAfterId`) of the last gives the next page, so a client can walk a folder
   * of any size.
   */
  async get(actor: Actor, collectionId: string, options: ListingOptions = {}): Promise<CollectionListing> {
    const listing = await this.listInPages(actor, collectionId, LISTING_LIMIT, options);
    const documents: Document[] = [];
    for await (const page of listing.documentPages) documents.push(...page);
    return { collection: listing.collection, children: listing.children, documents };
  }

  /**
   * A listing (ListingOptions) whose documents are read and decided `pageSize` at a time as the caller takes
   * them, up to `upTo` the actor may read (10,000 unless given), so a large folder's rows are never all held at
   * once (a WebDAV PROPFIND streams its answer, and lists the whole folder: it has no way to ask for a next
   * page, so a limit would hide files). `upTo` counts documents listed, not rows read, so documents the actor
   * may not read never make a listing short of its limit (a client would take it for the end). The collection
   * is decided here, before any page: a refusal comes before anything is sent. Each page starts after the last
   * (name, id) of the one before, which skips and repeats nothing even where binned documents share a name. Pages
   * are separate reads, so a document renamed while the folder is walked may be listed under both names or
   * neither, as in a client walking `get` with `documentsAfter`. Each page reads only documents of the classifications
   * the reader may read at most (AccessService.readableClassifications), and still decides each. A page after the first is decided as a download
   * still flowing is: on the person, their credential and the collection as they are now (a reader who stops
   * reading may hold a listing open for as long as they like, and a folder's later pages hold documents
   * filed since it began); refused, it throws (audited), which cuts the answer off.
   */
  async listInPages(actor: Actor, collectionId: string, pageSize: number, options: ListingOptions & { upTo?: number } = {}):
  Promise<{ collection: Collection; children: Collection[]; documentPages: AsyncGenerator<Document[]> }> {
    const { collection, children } = await this.open(actor, collectionId);
    const { store, access } = this.o;
    const readerNow = (): Promise<Actor> => this.listerNow(actor, collection.id);
    const includeDeleted = options.includeDeleted ?? false;
    async function* documentPages(): AsyncGenerator<Document[]> {
      let after = options.documentsAfter === undefined ? {}
        : { after: options.documentsAfter, ...(options.documentsAfterId !== undefined ? { afterId: options.documentsAfterId.toLowerCase() } : {}) };
      const upTo = options.upTo ?? LISTING_LIMIT;
      for (let listed = 0, first = true; listed < upTo; first = false) {
        const reader = first ? actor : await readerNow();
        // Only rows of the classifications the reader may read at most: a person cleared for few of a large
        // folder's documents would otherwise have every row of it read and refused, to list a handful.
        const classifications = await access.readableClassifications(reader, collection.organisationId);
        const rows = await store.repos.documents.inCollection(collection.id, {
          includeDeleted, limit: pageSize, ...after, ...(classifications === 'any' ? {} : { classifications }),
        });
        const readable = (await access.filter(reader, 'document.read', rows, documentResource)).slice(0, upTo - listed);
        listed += readable.length;
        yield readable;
        if (rows.length < pageSize) return;
        after = { after: rows[rows.length - 1]!.name, afterId: rows[rows.length - 1]!.id };
      }
    }
    return { collection, children, documentPages: documentPages() };
  }

  /**
   * One screen of a folder for a person: its children and up to `size` of the documents they may read
   * (ListingOptions), and whether more follow (`nextAfter`, the name and id of the last listed, to ask for the
   * next). Pages of what they may see, so a page is never short because documents they may not see lie
   * between, and the document that continues the list is always one they were shown.
   */
  async screen(actor: Actor, collectionId: string, size: number, options: ListingOptions = {}):
  Promise<CollectionListing & { nextAfter: ListingCursor | null }> {
    const listing = await this.listInPages(actor, collectionId, size + 1, { ...options, upTo: size + 1 });
    const documents: Document[] = [];
    for await (const page of listing.documentPages) documents.push(...page);
    const last = documents.length > size ? documents[size - 1]! : null;
    documents.length = Math.min(documents.length, size);
    return { collection: listing.collection, children: listing.children, documents, nextAfter: last && { name: last.name, id: last.id } };
  }

  /** The actor as they are now, if they may still list the collection as it is now (else refused, audited; a collection binned meanwhile is not found). */
  private async listerNow(actor: Actor, collectionId: string): Promise<Actor> {
    const target = (organisationId: string | null) => ({ organisationId, ids: { collectionId } });
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    const actorNow = await this.o.identity.actorNow(actor, 'collection.list', target(collection.organisationId), 'listing');
    await this.o.access.require(actorNow, 'collection.list', collectionResource(collection), target(collection.organisationId));
    return actorNow;
  }

  /**
   * A live collection the actor may list (else refused, audited), and the child collections they may list: what a
   * listing shows before its documents, for a caller that needs no documents (a page about the folder, an importer
   * finding its way), which so reads none of them, however large the folder and however few of them the actor may read.
   */
  async open(actor: Actor, collectionId: string): Promise<{ collection: Collection; children: Collection[] }> {
    const collection = await this.o.store.repos.collections.byId(collectionId);
    if (!collection || collection.deletedAt) throw notFound('collection');
    await this.o.access.require(actor, 'collection.list', collectionResource(collection), { organisationId: collection.organisationId, ids: { collectionId } });
    const children = await this.o.access.filter(actor, 'collection.list', await this.o.store.repos.collections.children(collection.organisationId, collection.id), collectionResource);
    return { collection, children };
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
}
