// What every step of a subject access request begins from (the subject-access-*.service.ts files): the
// request and the actor's part as the audit log vouches for them, the decisions a change asks again inside
// its transaction, and the request read again under its lock. decide() holds the rules; these only ask it.
import { conflict, notFound } from '../domain/errors.js';
import type { Decision, SubjectAccessResource } from '../domain/access/policy.js';
import type { Clock, EncryptedBlobs } from '../domain/ports.js';
import type { Repos, Store } from '../domain/repositories.js';
import { isRequestOpen, type SubjectAccessItem, type SubjectAccessPart, type SubjectAccessRequest, type WorkingDays } from '../domain/records/subject-access.js';
import type { Actor, Organisation } from '../domain/types.js';
import type { AccessService } from './access.service.js';
import { organisationAction, type DecidedAgain } from './decided-within.js';
import type { IdentityService } from './identity.service.js';
import type { PersonNamesService } from './person-names.service.js';
import type { MailService } from './mail.service.js';

/** What the subject access services are built from: each takes the parts it uses. */
export interface SubjectAccessServiceOptions {
  store: Store;
  access: AccessService;
  clock: Clock;
  blobs: EncryptedBlobs;
  identity: IdentityService;
  personNames: Pick<PersonNamesService, 'namesFor'>;
  /** The working days of an organisation in a region (weekends and its nation's bank holidays off). */
  workingDaysIn: (region: string) => WorkingDays;
  mail?: MailService;
}

/** What the checks ask with. */
type SubjectAccessChecks = Pick<SubjectAccessServiceOptions, 'store' | 'access'>;

/** Version scan states whose bytes can go in the package: scanned clean, or released from quarantine. */
export const EXPORTABLE = new Set(['clean', 'released']);
export const MISSING = 'subject access request';
/** What a change to a closed request hears: the same whether it closed before the change was asked or while it was decided. */
export const CLOSED = {
  add: 'This request is closed; nothing more can be included.',
  remove: 'This request is closed; its response can no longer change.',
  close: 'This request is already closed.',
  other: 'This request is closed.',
} as const;

/**
 * The request, if the audit log records its opening by the organisation its row names; otherwise not there
 * (404). Whose request it is decides who manages it and who receives every part's records, so a row written
 * or moved to another organisation in the database directly is no one's.
 */
export async function requireRequest(o: SubjectAccessChecks, requestId: string): Promise<SubjectAccessRequest> {
  const request = await o.store.repos.subjectAccess.request(requestId);
  if (!request || !(await openedBy(o.store.repos, request.organisationId)).has(request.id)) throw notFound(MISSING);
  return request;
}

/** The ids of the requests the audit log records another organisation asking this one to search for. */
export async function askedOf(repos: Repos, organisationId: string): Promise<Set<string>> {
  const events = await repos.audit.allowedEvents(['subject-access.ask'], { organisationId });
  return new Set(events.map((e) => e.targetIds.requestId).filter((id): id is string => id !== undefined));
}

/** The ids of the requests the audit log records the organisation opening. */
export async function openedBy(repos: Repos, organisationId: string): Promise<Set<string>> {
  const events = await repos.audit.allowedEvents(['subject-access.open'], { organisationId });
  return new Set(events.map((e) => e.targetIds.requestId).filter((id): id is string => id !== undefined));
}

/** The request, if the actor's organisation received it and they are its DPO; otherwise not there (404, audited). */
export async function requireManaged(o: SubjectAccessChecks, actor: Actor, requestId: string): Promise<{ request: SubjectAccessRequest; decision: Decision }> {
  const request = await requireRequest(o, requestId);
  const decision = await o.access.requireOrganisation(actor, 'subject-access.manage', request.organisationId, { requestId }, { missing: MISSING });
  return { request, decision };
}

/**
 * The actor's organisation's part of the request, if it was asked and decide() lets them answer it now (or, with
 * `subject-access.read-part`, read it: the same people); otherwise 404, audited.
 */
export async function requirePart(o: SubjectAccessChecks, actor: Actor, request: SubjectAccessRequest, known?: readonly SubjectAccessPart[], action: 'subject-access.respond' | 'subject-access.read-part' = 'subject-access.respond'): Promise<{ part: SubjectAccessPart; decision: Decision }> {
  const organisationId = actor.organisationId ?? '';
  const target = { organisationId: request.organisationId, ids: { requestId: request.id } };
  const part = (known ?? await o.store.repos.subjectAccess.parts(request.id)).find((p) => p.organisationId === organisationId);
  // A partner's part is there only if the audit log records the requester asking it: a part row written
  // into the database directly would show the person's name to a council no one asked.
  if (!part || (organisationId !== request.organisationId && !(await askedOf(o.store.repos, organisationId)).has(request.id))) {
    await o.access.recordRefusal(actor, action, target, 'not_asked');
    throw notFound(MISSING);
  }
  const decision = await o.access.require(actor, action, partResource(request, organisationId), target, { missing: MISSING });
  return { part, decision };
}

/** `subject-access.manage` of the request, asked again inside the change's transaction (refused: audited as `auditAs`, 404). */
export function managing(request: SubjectAccessRequest, auditAs: string): DecidedAgain {
  return organisationAction('subject-access.manage', request.organisationId, { requestId: request.id }, auditAs, MISSING);
}

/** `subject-access.respond` for the organisation's part, asked again inside the change's transaction (refused: audited as `auditAs`, 404). */
export function responding(request: SubjectAccessRequest, organisationId: string, auditAs: string): DecidedAgain {
  return { action: 'subject-access.respond', resource: partResource(request, organisationId), target: { organisationId: request.organisationId, ids: { requestId: request.id } }, auditAs, missing: MISSING };
}

/**
 * The request read again under its lock inside the transaction, refused if it closed meanwhile: in `closed`, the
 * words the change's check before the transaction says to a later request (one asking partners has no such check).
 */
export async function lockOpen(tx: Repos, request: SubjectAccessRequest, closed = 'This request was closed a moment ago.'): Promise<SubjectAccessRequest> {
  const locked = await tx.subjectAccess.lockRequest(request.id);
  if (!locked || !isRequestOpen(locked)) throw conflict(closed);
  return locked;
}

/**
 * The inclusions the audit log vouches for, as `inclusionKey`s: a sealed `subject-access.add` event for the
 * item and no `subject-access.remove` event (a removed item's row put back by hand stays out, as one written
 * by hand does).
 */
export async function recordedInclusions(repos: Repos, requestId: string, items: readonly SubjectAccessItem[]): Promise<Set<string>> {
  if (items.length === 0) return new Set();
  const logged = (await repos.audit.allowedEvents(['subject-access.add', 'subject-access.remove'], { documentIds: items.map((i) => i.documentId) }))
    .filter((e) => e.targetIds.requestId === requestId);
  const removed = new Set(logged.filter((e) => e.action === 'subject-access.remove').map((e) => e.targetIds.itemId));
  const recorded = logged.filter((e) => e.action === 'subject-access.add' && !removed.has(e.targetIds.itemId));
  return new Set(recorded.map((e) => `${e.targetIds.itemId}|${e.targetOrganisationId}|${e.targetIds.documentId}|${e.targetIds.versionId}|${e.actorUserId}`));
}

/** An item as recordedInclusions writes the inclusion it vouches for: `itemId|organisationId|documentId|versionId|addedBy`. */
export const inclusionKey = (item: SubjectAccessItem): string => `${item.id}|${item.organisationId}|${item.documentId}|${item.versionId}|${item.addedBy ?? ''}`;

export async function requireOrganisationRow(repos: Repos, id: string): Promise<Organisation> {
  const organisation = await repos.organisations.byId(id);
  if (!organisation) throw notFound('organisation');
  return organisation;
}

export function partResource(request: Pick<SubjectAccessRequest, 'organisationId'>, partOrganisationId: string): SubjectAccessResource {
  return { kind: 'subject-access', organisationId: request.organisationId, partOrganisationId };
}

export const brief = (o: Organisation): Pick<Organisation, 'id' | 'slug' | 'name'> => ({ id: o.id, slug: o.slug, name: o.name });
