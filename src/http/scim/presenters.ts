// SCIM resources as the directory reads them (RFC 7643): Users, Groups and list responses.
import type { FastifyRequest } from 'fastify';
import { GROUP_SCHEMA, USER_SCHEMA } from '../../domain/identity/scim-resources.js';
import { ScimRequestError } from '../../domain/identity/scim-patch.js';
import type { ScimGroupView } from '../../services/scim-groups.service.js';
import type { PageRequest, ScimPage, ScimUserView } from '../../services/scim-users.service.js';

export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/** The most resources one page holds; a larger `count` gets this many (RFC 7644 §3.4.2.4 lets a server return fewer). */
export const MAX_PAGE = 200;

/** The SCIM base URL this request came in on, for `meta.location`. */
export function scimBase(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/scim/v2`;
}

export function presentUser(view: ScimUserView, base: string) {
  const { user, person } = view;
  return {
    schemas: [USER_SCHEMA],
    id: user.id,
    ...(person?.externalId ? { externalId: person.externalId } : {}),
    userName: user.email,
    name: {
      formatted: user.name,
      ...(person?.givenName ? { givenName: person.givenName } : {}),
      ...(person?.familyName ? { familyName: person.familyName } : {}),
    },
    displayName: user.name,
    active: !user.disabled,
    emails: [{ value: user.email, type: 'work', primary: true }],
    meta: { resourceType: 'User', created: user.createdAt, lastModified: person?.updatedAt ?? user.createdAt, location: `${base}/Users/${user.id}` },
  };
}

export function presentGroup(view: ScimGroupView, base: string) {
  const { group, members } = view;
  return {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(members === null ? {} : { members: members.map((id) => ({ value: id, $ref: `${base}/Users/${id}` })) }),
    meta: { resourceType: 'Group', created: group.createdAt, lastModified: group.updatedAt, location: `${base}/Groups/${group.id}` },
  };
}

export function listResponse<T>(page: ScimPage<T>, present: (item: T) => unknown) {
  return { schemas: [LIST_SCHEMA], totalResults: page.totalResults, startIndex: page.startIndex, itemsPerPage: page.items.length, Resources: page.items.map(present) };
}

type Query = Record<string, string | string[] | undefined>;

/** A query parameter given at most once: a repeated one is refused rather than one of its values picked. */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new ScimRequestError(name === 'filter' ? 'invalidFilter' : 'invalidValue', `Give ${name} once; it was given ${value.length} times.`);
  return value;
}

/** startIndex (from 1; below 1 means 1) and count (negative means 0; at most MAX_PAGE), RFC 7644 §3.4.2.4. */
export function pageOf(query: Query): PageRequest {
  const number = (name: string, fallback: number): number => {
    const raw = single(query, name);
    if (raw === undefined || raw === '') return fallback;
    if (!/^-?\d{1,9}$/.test(raw.trim())) throw new ScimRequestError('invalidValue', `${name} must be a whole number.`);
    return Number(raw.trim());
  };
  return { startIndex: Math.max(1, number('startIndex', 1)), count: Math.min(MAX_PAGE, Math.max(0, number('count', 100))) };
}

/** Whether `excludedAttributes` asks to leave the members out (Entra's `excludedAttributes=members`). */
export function membersExcluded(query: Query): boolean {
  return (single(query, 'excludedAttributes') ?? '').split(',').some((a) => a.trim().toLowerCase() === 'members');
}
