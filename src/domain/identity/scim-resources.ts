// SCIM User and Group bodies (POST and PUT, RFC 7643 §4) read into what Strongroom keeps, and the rules
// that turn a directory's view of a person into an account: the userName is the e-mail address
// (lower-cased), the name comes from displayName, name.formatted or the given and family names.
import { ScimRequestError, isObject, memberIds, scimBoolean } from './scim-patch.js';
import { isEmailAddress } from './email-address.js';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';


export interface ScimUserInput {
  userName: string;
  externalId: string | null;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  formatted: string | null;
  active: boolean;
}

export interface ScimGroupInput {
  displayName: string;
  externalId: string | null;
  members: string[];
}

export function userResource(body: unknown): ScimUserInput {
  if (!isObject(body)) throw new ScimRequestError('invalidSyntax', 'The body must be a SCIM User: a JSON object.');
  requireSchema(body, USER_SCHEMA);
  const name = body.name === undefined || body.name === null ? {} : body.name;
  if (!isObject(name)) throw new ScimRequestError('invalidValue', 'name must be an object (givenName, familyName, formatted).');
  return {
    userName: requiredText(body.userName, 'userName'),
    externalId: optionalText(body.externalId, 'externalId'),
    displayName: optionalText(body.displayName, 'displayName'),
    givenName: optionalText(name.givenName, 'name.givenName'),
    familyName: optionalText(name.familyName, 'name.familyName'),
    formatted: optionalText(name.formatted, 'name.formatted'),
    active: body.active === undefined || body.active === null ? true : scimBoolean(body.active, 'active'),
  };
}

export function groupResource(body: unknown): ScimGroupInput {
  if (!isObject(body)) throw new ScimRequestError('invalidSyntax', 'The body must be a SCIM Group: a JSON object.');
  requireSchema(body, GROUP_SCHEMA);
  const members = body.members === undefined || body.members === null ? [] : body.members;
  if (!Array.isArray(members)) throw new ScimRequestError('invalidValue', 'members must be a list of { "value": "<user id>" }.');
  return {
    displayName: requiredText(body.displayName, 'displayName'),
    externalId: optionalText(body.externalId, 'externalId'),
    members: members.length === 0 ? [] : memberIds(members),
  };
}

/** The account's e-mail address from a userName: lower-cased, and it must be an address. */
export function emailFromUserName(userName: string): string {
  const email = userName.trim().toLowerCase();
  if (!isEmailAddress(email)) {
    throw new ScimRequestError('invalidValue', `userName "${userName}" is not an e-mail address. Strongroom uses the e-mail address as userName: map userPrincipalName (or mail) to userName.`);
  }
  return email;
}

/** What people see as the person's name: displayName, else name.formatted, else given and family names, else the e-mail address. */
export function personName(parts: { displayName: string | null; formatted: string | null; givenName: string | null; familyName: string | null }, email: string): string {
  const joined = [parts.givenName, parts.familyName].map((p) => p?.trim() ?? '').filter(Boolean).join(' ');
  return parts.displayName?.trim() || parts.formatted?.trim() || joined || email;
}

function requireSchema(body: Record<string, unknown>, schema: string): void {
  if (!Array.isArray(body.schemas) || !body.schemas.includes(schema)) throw new ScimRequestError('invalidSyntax', `The body must list the schema ${schema}.`);
}

function requiredText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ScimRequestError('invalidValue', `${field} is required and must be a non-empty string.`);
  if (value.length > 512) throw new ScimRequestError('invalidValue', `${field} is longer than 512 characters.`);
  return value.trim();
}

function optionalText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ScimRequestError('invalidValue', `${field} must be a string.`);
  if (value.length > 512) throw new ScimRequestError('invalidValue', `${field} is longer than 512 characters.`);
  return value;
}
