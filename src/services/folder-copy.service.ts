// Copying a folder within its organisation (WebDAV COPY of a collection), all or nothing. Every folder
// and document inside is decided on, and every document read, checked for its new place and stored as
// new bytes, before anything is written; then the new tree, every document copy, its dead properties,
// what is in the way (Overwrite: T) and every audit event are written in one transaction. A refusal
// anywhere writes nothing, bins nothing and removes the new bytes (docs/webdav.md, "COPY of a folder").
import { DomainError, forbidden, notFound } from '../domain/errors.js';
import type { Clock } from '../domain/ports.js';
import type { Actor, Collection } from '../domain/types.js';
import type { Store } from '../domain/repositories.js';
import type { AccessService } from './access.service.js';
import type { CollectionCreationService, NewCollection, PreparedCollection } from './collection-creation.service.js';
import type { CollectionsService } from './collections.service.js';
import type { DocumentFilingService, StagedCopy } from './document-filing.service.js';
import type { IdentityService } from './identity.service.js';
import type { InTheWay } from './removals.service.js';

export interface FolderCopyInput {
  /** The new top folder, as a new collection: its organisation (the source's), parent, name, service area and classification. */
  top: NewCollection;
  /** Everything inside too (Depth: infinity), or the folder alone (Depth: 0). */
  recursive: boolean;
  /** What is at the destination under that name, binned in the copy's transaction. */
  replace?: InTheWay;
}

/** How many refused members a refusal names one by one; past that it counts the rest ("and N more"). */
export const REFUSED_MEMBERS_NAMED = 50;

/**
 * One thing inside the folder that may not be copied, as a refused copy reports it (`details.members`):
 * its path below the copied folder, the refusal's code and its words (and the malware signature, if any).
 */
export interface RefusedMember {
  path: string;
  code: string;
  reason: string;
  signature?: string;
}

/** A document to copy, the folder of the copy it goes into (prepared, not stored yet), and its path below the copied folder. */
interface Planned {
  sourceId: string;
  into: Collection;
  path: string;
}

export class FolderCopyService {
  constructor(private readonly o: {
    store: Store;
    access: AccessService;
    clock: Clock;
    collections: Pick<CollectionsService, 'get'>;
    collectionCreation: Pick<CollectionCreationService, 'prepareCreate' | 'afterNameTaken'>;
    filing: Pick<DocumentFilingService, 'stageCopy' | 'requireCopyable'>;
    identity: Pick<IdentityService, 'actorNow'>;
  }) {}

  /**
   * Copies the folder `sourceId` (what the actor may see inside it) to `input.top`. A refusal of
   * something inside (it may not be read, its malware check is not finished, malware or the file
   * policy found in it now) refuses the whole copy, naming every member refused (membersRefused below).
   * What can be refused without reading is all decided first: any refusal there stops the copy before a
   * byte is read. Otherwise every document is read, and every one malware or the file policy refuses now
   * is named. The new bytes are stored one document at a time, streamed, never held whole.
   */
  async copy(actor: Actor, sourceId: string, input: FolderCopyInput): Promise<Collection> {
    const source = await this.o.store.repos.collections.byId(sourceId);
    if (!source || source.deletedAt) throw notFound('collection');
    if (source.organisationId !== input.top.organisationId) throw forbidden('Folders cannot be copied between organisations in one step; copy the documents.');
    // What is in the way must not hold the folder being copied: binning it would bin the source too.
    const options = input.replace ? { replace: input.replace, sparing: { kind: 'collection' as const, id: source.id } } : {};
    // Decided first, all of it, so a refusal comes before any bytes are read.
    const top = await this.o.collectionCreation.prepareCreate(actor, input.top, options);
    const folders: PreparedCollection[] = [top];
    const documents: Planned[] = [];
    const properties: [from: string, to: string][] = [[source.id, top.collection.id]];
    const refused: Refusal[] = [];
    if (input.recursive) await this.plan(actor, source, top.collection, '', { folders, documents, properties, refused });
    if (refused.length > 0) throw membersRefused(refused);

    const staged: StagedCopy[] = [];
    try {
      for (const d of documents) {
        // Each is read and checked even after one was refused, so the answer names all that must be dealt with.
        const copy = await this.o.filing.stageCopy(actor, d.sourceId, d.into).catch((error: unknown) => {
          if (!isMemberRefusal(error)) throw error;
          refused.push({ path: d.path, error });
          return null;
        });
        if (!copy) continue;
        staged.push(copy);
        properties.push([copy.sourceId, copy.documentId]);
      }
      if (refused.length > 0) throw membersRefused(refused);
      // The reading took a while: the top folder and what it replaces are decided again, fresh, for the
      // person as they are now (locks taken, holds placed meanwhile), keeping the id the tree was planned under.
      const target = { organisationId: input.top.organisationId, ids: { collectionId: source.id } };
      const actorNow = await this.o.identity.actorNow(actor, 'collection.create', target);
      folders[0] = await this.o.collectionCreation.prepareCreate(actorNow, input.top, { ...options, id: top.collection.id });
      const now = this.o.clock.now();
      await this.o.store.transaction(async (repos) => {
        await this.o.access.holdActing(repos, actorNow);
        for (const folder of folders) await folder.write(repos, now);
        for (const copy of staged) await copy.write(repos, now);
        // Dead properties go with what is copied (RFC 4918 §9.8.2), allowed by the decisions that create it.
        for (const [from, to] of properties) await repos.dav.copyProperties(from, to);
      }).catch(async (error: unknown) => {
        // A name taken since the check (another folder created there meanwhile) is told as a later duplicate is.
        throw await this.o.access.afterRollback(actor, await this.o.collectionCreation.afterNameTaken(actorNow, error));
      });
      return { ...top.collection, createdAt: now.toISOString() };
    } catch (error) {
      for (const copy of staged) await copy.discard(error);
      throw error;
    }
  }

  /**
   * Prepares the folders inside `source` under `into` (itself prepared), and lists the documents, top down.
   * A member refused is noted in `refused` and planning goes on, so every refusal is found; a folder refused
   * is not looked inside (nothing would be created there).
   */
  private async plan(actor: Actor, source: Collection, into: Collection, path: string, out: Plan): Promise<void> {
    const { folders, documents, properties, refused } = out;
    const noted = (memberPath: string) => (error: unknown): null => {
      if (!isMemberRefusal(error)) throw error;
      refused.push({ path: memberPath, error });
      return null;
    };
    // A listing gives documents a page at a time, by name: all of them are copied, not the first page.
    let after: string | undefined;
    let children: Collection[] = [];
    for (;;) {
      const listing = await this.o.collections.get(actor, source.id, after === undefined ? {} : { documentsAfter: after });
      if (after === undefined) children = listing.children;
      if (listing.documents.length === 0) break;
      for (const d of listing.documents) {
        // What can be refused without reading (it may not be downloaded, its malware check is still running) is, before any bytes are read.
        const copyable = await this.o.filing.requireCopyable(actor, d.id).then(() => true, noted(`${path}${d.name}`));
        if (copyable) documents.push({ sourceId: d.id, into, path: `${path}${d.name}` });
      }
      after = listing.documents[listing.documents.length - 1]!.name;
    }
    for (const child of children) {
      const folder = await this.o.collectionCreation.prepareCreate(actor, {
        organisationId: into.organisationId, parentId: into.id, name: child.name, serviceArea: into.serviceArea, classification: into.classification,
      }, { under: into }).catch(noted(`${path}${child.name}/`));
      if (!folder) continue;
      folders.push(folder);
      properties.push([child.id, folder.collection.id]);
      await this.plan(actor, child, folder.collection, `${path}${child.name}/`, out);
    }
  }
}

/** What planning gathers: the folders to create, the documents to copy, the dead properties to carry, the refusals. */
interface Plan {
  folders: PreparedCollection[];
  documents: Planned[];
  properties: [string, string][];
  refused: Refusal[];
}

interface Refusal {
  path: string;
  error: DomainError;
}

/** The refusals that belong to one thing inside the folder; anything else (a failure, a limit) is the request's. */
const REFUSALS: ReadonlySet<string> = new Set(['NOT_FOUND', 'FORBIDDEN', 'LOCKED', 'INFECTED', 'BLOCKED_FILE_TYPE']);

function isMemberRefusal(error: unknown): error is DomainError {
  return error instanceof DomainError && error.constructor === DomainError && REFUSALS.has(error.code) && error.details?.member === undefined;
}

/**
 * The whole copy refused because of members inside the folder, naming each (its path below the copied folder,
 * and why) in `details.members`: the first REFUSED_MEMBERS_NAMED, in the order met (top down, by name), with
 * `details.moreMembers` counting the rest. One member refused keeps that member's own code and words, with its
 * path in `details.member` too. Several: LOCKED when every one is a wait (a scan under way, a lock), so trying
 * again later can succeed; otherwise FORBIDDEN, since something inside must be dealt with first.
 */
function membersRefused(refused: readonly Refusal[]): DomainError {
  const members: RefusedMember[] = refused.slice(0, REFUSED_MEMBERS_NAMED).map(({ path, error }) => ({
    path, code: error.code, reason: error.message, ...(typeof error.details?.signature === 'string' ? { signature: error.details.signature } : {}),
  }));
  const moreMembers = refused.length - members.length;
  const [first] = refused;
  if (refused.length === 1 && first) {
    return new DomainError(first.error.code, first.error.message, { cause: first.error, details: { ...first.error.details, member: first.path, members, moreMembers } });
  }
  const code = refused.every((r) => r.error.code === 'LOCKED') ? 'LOCKED' : 'FORBIDDEN';
  return new DomainError(code, `Nothing was copied: ${refused.length} things inside the folder may not be copied.`, { cause: first?.error, details: { members, moreMembers } });
}
