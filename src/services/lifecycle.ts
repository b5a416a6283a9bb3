// The document lifecycle hooks: services raise domain/lifecycle.ts events inside their transaction;
// the handlers registered at the composition root (compose/lifecycle.ts) queue jobs through that transaction, and
// keep the search index's copy of a document's name in step with it there.
import type { JobQueue } from '../domain/jobs/define-job.js';
import type { LifecycleEvent, LifecycleEventType } from '../domain/lifecycle.js';
import type { UsersRepository } from '../domain/identity/account-repositories.js';
import type { SearchIndex } from '../domain/search/repositories.js';
import type { Actor, Document, Version } from '../domain/types.js';

/** What a handler may use: the raising transaction's job queue, its search index and its clock reading. */
export interface LifecycleTransaction {
  jobs: JobQueue;
  search: SearchIndex;
  now: Date;
}

/**
 * Whose turns in the job queue a version's scan, extraction and offsite copy take: the organisation of the
 * person storing it (`actor`, its author), or of the document for the vault's own writes. The document's
 * organisation used to pay, so anyone allowed to add to a council's collections (a partner under an
 * arrangement) could push that council's own work back by storing large files there.
 */
export function chargedTo(actor: Pick<Actor, 'organisationId'>, document: Pick<Document, 'organisationId'>): string {
  return actor.organisationId ?? document.organisationId;
}

/** chargedTo for a version stored earlier (its scan's verdict, a release): its author's organisation, read now. */
export async function chargedToAuthor(users: Pick<UsersRepository, 'byId'>, version: Pick<Version, 'authorId' | 'organisationId'>): Promise<string> {
  const author = version.authorId === null ? undefined : await users.byId(version.authorId);
  return author?.organisationId ?? version.organisationId;
}

export type LifecycleHandler<T extends LifecycleEventType> = (event: Extract<LifecycleEvent, { type: T }>, tx: LifecycleTransaction) => Promise<void>;

export class DocumentLifecycle {
  private readonly handlers = new Map<LifecycleEventType, LifecycleHandler<LifecycleEventType>[]>();

  /** Subscribes; handlers run in registration order, inside the raising transaction (a throw rolls it back). */
  on<T extends LifecycleEventType>(type: T, handler: LifecycleHandler<T>): this {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as unknown as LifecycleHandler<LifecycleEventType>);
    this.handlers.set(type, list);
    return this;
  }

  async raise(tx: LifecycleTransaction, event: LifecycleEvent): Promise<void> {
    for (const handler of this.handlers.get(event.type) ?? []) await handler(event, tx);
  }
}
