// SCIM PATCH (RFC 7644 §3.5.2) read into the changes Strongroom makes, in the shapes Entra ID's provisioning
// service sends: `Replace` with a path or with an object of attributes and no path, booleans as true/false or
// as the strings "True"/"False", op names in any case, group members added and removed by value or by a
// `members[value eq "…"]` path. Attributes Strongroom does not keep (phone numbers, job titles, the
// enterprise extension…) are accepted and ignored, so a directory's extra mappings do not stop provisioning.
import { ScimFilterError, parseScimFilter } from './scim-filter.js';

export type ScimErrorType = 'invalidSyntax' | 'invalidPath' | 'invalidValue' | 'invalidFilter' | 'uniqueness' | 'mutability' | 'noTarget' | 'tooMany';

/** A request Strongroom cannot apply; `scimType` is the RFC 7644 §3.12 error type. */
export class ScimRequestError extends Error {
  constructor(readonly scimType: ScimErrorType, message: string) {
    super(message);
    this.name = 'ScimRequestError';
  }
}

export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** What a PATCH (or PUT) of a User asks to change; absent fields are left as they are. */
export interface ScimUserChange {
  userName?: string;
  externalId?: string | null;
  displayName?: string | null;
  givenName?: string | null;
  familyName?: string | null;
  formatted?: string | null;
  active?: boolean;
}

export interface ScimGroupChange {
  displayName?: string;
  externalId?: string | null;
  /** Replace the whole member list with these user ids. */
  replaceMembers?: string[];
  addMembers: string[];
  removeMembers: string[];
}

interface Operation {
  op: 'add' | 'replace' | 'remove';
  path: string | null;
  value: unknown;
}

function operations(body: unknown): Operation[] {
  if (!isObject(body)) throw new ScimRequestError('invalidSyntax', 'The PATCH body must be a JSON object.');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP_SCHEMA)) throw new ScimRequestError('invalidSyntax', `A PATCH body must list the schema ${PATCH_OP_SCHEMA}.`);
  const ops = body.Operations ?? body.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw new ScimRequestError('invalidSyntax', 'A PATCH body must have a non-empty "Operations" list.');
  if (ops.length > 1000) throw new ScimRequestError('tooMany', 'A PATCH body may carry at most 1000 operations.');
  return ops.map((raw, i) => {
    if (!isObject(raw)) throw new ScimRequestError('invalidSyntax', `Operation ${i + 1} must be a JSON object.`);
    const op = typeof raw.op === 'string' ? raw.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw new ScimRequestError('invalidSyntax', `Operation ${i + 1} has op "${String(raw.op)}"; it must be add, replace or remove.`);
    if (raw.path !== undefined && raw.path !== null && typeof raw.path !== 'string') throw new ScimRequestError('invalidPath', `Operation ${i + 1}'s path must be a string.`);
    const path = typeof raw.path === 'string' && raw.path.trim() !== '' ? raw.path.trim() : null;
    if (op !== 'remove' && raw.value === undefined) throw new ScimRequestError('invalidSyntax', `Operation ${i + 1} (${op}) needs a value.`);
    if (op === 'remove' && path === null) throw new ScimRequestError('noTarget', `Operation ${i + 1} (remove) needs a path.`);
    return { op, path, value: raw.value };
  });
}

const USER_CORE = 'urn:ietf:params:scim:schemas:core:2.0:User:';
const GROUP_CORE = 'urn:ietf:params:scim:schemas:core:2.0:Group:';

/** A path without the core schema's URN prefix (allowed by RFC 7644 §3.10), lower-cased for matching. */
const bare = (path: string, prefix: string): string => (path.toLowerCase().startsWith(prefix.toLowerCase()) ? path.slice(prefix.length) : path).toLowerCase();

export function userPatch(body: unknown): ScimUserChange {
  const change: ScimUserChange = {};
  for (const operation of operations(body)) {
    if (operation.path === null) {
      if (!isObject(operation.value)) throw new ScimRequestError('invalidValue', `A ${operation.op} without a path needs an object of attributes as its value.`);
      for (const [key, value] of Object.entries(operation.value)) applyUser(change, operation.op, key, value);
    } else {
      applyUser(change, operation.op, operation.path, operation.value);
    }
  }
  return change;
}

function applyUser(change: ScimUserChange, op: Operation['op'], path: string, value: unknown): void {
  const remove = op === 'remove';
  switch (bare(path, USER_CORE)) {
    case 'username':
      if (remove) throw new ScimRequestError('mutability', 'userName is required and cannot be removed.');
      change.userName = text(value, 'userName');
      return;
    case 'active':
      if (remove) throw new ScimRequestError('mutability', 'active cannot be removed; replace it with false to switch the account off.');
      change.active = scimBoolean(value, 'active');
      return;
    case 'externalid':
      change.externalId = remove ? null : text(value, 'externalId');
      return;
    case 'displayname':
      change.displayName = remove ? null : text(value, 'displayName');
      return;
    case 'name.givenname':
      change.givenName = remove ? null : text(value, 'name.givenName');
      return;
    case 'name.familyname':
      change.familyName = remove ? null : text(value, 'name.familyName');
      return;
    case 'name.formatted':
      change.formatted = remove ? null : text(value, 'name.formatted');
      return;
    case 'name':
      if (remove) {
        Object.assign(change, { givenName: null, familyName: null, formatted: null });
        return;
      }
      if (!isObject(value)) throw new ScimRequestError('invalidValue', 'name must be an object (givenName, familyName, formatted).');
      for (const [key, part] of Object.entries(value)) applyUser(change, op, `name.${key}`, part);
      return;
    default:
      // Attributes Strongroom does not keep (emails, phoneNumbers, title, the enterprise extension…): ignored.
      return;
  }
}

export function groupPatch(body: unknown): ScimGroupChange {
  const change: ScimGroupChange = { addMembers: [], removeMembers: [] };
  for (const operation of operations(body)) {
    if (operation.path === null) {
      if (!isObject(operation.value)) throw new ScimRequestError('invalidValue', `A ${operation.op} without a path needs an object of attributes as its value.`);
      for (const [key, value] of Object.entries(operation.value)) applyGroup(change, operation.op, key, value);
    } else {
      applyGroup(change, operation.op, operation.path, operation.value);
    }
  }
  return change;
}

function applyGroup(change: ScimGroupChange, op: Operation['op'], path: string, value: unknown): void {
  const attribute = bare(path, GROUP_CORE);
  if (attribute === 'displayname') {
    if (op === 'remove') throw new ScimRequestError('mutability', 'displayName is required and cannot be removed.');
    change.displayName = text(value, 'displayName');
    return;
  }
  if (attribute === 'externalid') {
    change.externalId = op === 'remove' ? null : text(value, 'externalId');
    return;
  }
  if (attribute === 'members') {
    if (op === 'remove' && value === undefined) {
      change.replaceMembers = [];
      change.addMembers = [];
      change.removeMembers = [];
      return;
    }
    const ids = memberIds(value);
    if (op === 'replace') {
      change.replaceMembers = ids;
      change.addMembers = [];
      change.removeMembers = [];
    } else if (op === 'add') {
      change.addMembers.push(...ids);
      change.removeMembers = change.removeMembers.filter((id) => !ids.includes(id));
    } else {
      change.removeMembers.push(...ids);
      change.addMembers = change.addMembers.filter((id) => !ids.includes(id));
    }
    return;
  }
  // members[value eq "…"]: one member, named in the path (RFC 7644 §3.5.2.2).
  const filtered = /^members\[(.*)\]$/i.exec(path.trim());
  if (filtered) {
    if (op !== 'remove') throw new ScimRequestError('invalidPath', 'A members[…] path is supported only to remove a member; add members with path "members" and a list of values.');
    const unsupported = new ScimRequestError('invalidPath', `The path "${path}" is not supported: use members[value eq "<user id>"].`);
    if (!/^\s*value\s/i.test(filtered[1]!)) throw unsupported;
    let member: string;
    try {
      // The same strict reader as ?filter=, on `value eq "…"` read as the id it names.
      member = parseScimFilter('Group', filtered[1]!.replace(/^\s*value/i, 'id')).value;
    } catch (error) {
      if (error instanceof ScimFilterError) throw unsupported;
      throw error;
    }
    change.removeMembers.push(member);
    change.addMembers = change.addMembers.filter((id) => id !== member);
    return;
  }
  throw new ScimRequestError('invalidPath', `The path "${path}" is not a Group attribute Strongroom keeps (displayName, externalId, members).`);
}

/** `[{ value: "<user id>" }, …]` (Entra also sends `$ref: null`), one object alone accepted too. */
export function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((m, i) => {
    if (!isObject(m) || typeof m.value !== 'string' || m.value.trim() === '') throw new ScimRequestError('invalidValue', `Member ${i + 1} must be an object with the user's id as "value".`);
    return m.value.trim();
  });
}

/** true/false, or Entra's "True"/"False" strings. */
export function scimBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw new ScimRequestError('invalidValue', `${field} must be true or false.`);
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new ScimRequestError('invalidValue', `${field} must be a string.`);
  if (value.length > 512) throw new ScimRequestError('invalidValue', `${field} is longer than 512 characters.`);
  return value;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
