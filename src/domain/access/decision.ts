// What decide() (policy.ts) answers, and what it is told beside the resource: the arrangements and holds in
// force for this request. allow(), deny() and hasRole() are the vocabulary every family's rules are written in.
import type { Actor, Arrangement, Classification, Role } from '../types.js';
import type { HoldRef } from '../records/holds.js';
import type { Acceptance } from './resources.js';

export interface DecisionContext {
  now: Date;
  /**
   * The arrangements that might apply, loaded fresh for this request (never cached, so a
   * suspension or ending takes effect on the next request). Extra ones are harmless.
   */
  arrangements: readonly Arrangement[];
  /**
   * The active legal holds over the documents and collections in question, by document or collection
   * id (a document's include those over any collection above it), loaded fresh for this request like
   * the arrangements. An id absent from the map is under no hold.
   */
  holds: ReadonlyMap<string, readonly HoldRef[]>;
  /**
   * For `document.classify`: the classification asked for. For `collection.create` and
   * `document.create`: the classification the new collection or document will have.
   */
  newClassification?: Classification;
  /** For `arrangement.accept`. */
  acceptance?: Acceptance;
}

export interface Decision {
  allow: boolean;
  /** A stable, machine-readable reason, recorded in the audit event. */
  reason: string;
  /** The arrangement that granted a cross-organisation action. */
  via: string | null;
  /** On a `legal_hold` refusal: the hold that refused, so the refusal can say which. */
  hold?: HoldRef;
}

export const allow = (reason: string, via: string | null = null): Decision => ({ allow: true, reason, via });
export const deny = (reason: string): Decision => ({ allow: false, reason, via: null });

export const hasRole = (actor: Actor, role: Role): boolean => actor.roles.includes(role);
