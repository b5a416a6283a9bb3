// What an org admin may type for an identity provider, checked into the shape domain/identity/federation.ts
// keeps: every refusal names the field and says how to put it right. Plain rules, no I/O.
import { invalid } from '../errors.js';
import { CLASSIFICATIONS, ROLES, type Classification, type Role } from '../types.js';
import { isSingleFactorValue, type GroupMapping, type OidcSettings, type ProviderKind, type SamlSettings } from './federation.js';

/** A provider as the admin page, the CLI and the REST API send it (strings, before any check). */
export interface ProviderInput {
  kind?: string;
  name?: string;
  enabled?: boolean;
  createAccounts?: boolean;
  groupsClaim?: string | null;
  mfaAmrValues?: string[];
  mfaAcrValues?: string[];
  /** OIDC */
  issuer?: string;
  clientId?: string;
  /** OIDC: the client secret. Undefined or empty on an update keeps the stored one. */
  clientSecret?: string;
  scopes?: string[];
  /** SAML */
  entryPoint?: string;
  idpEntityId?: string;
  idpCertificates?: string[];
  emailAttribute?: string | null;
}

export interface CheckedProvider {
  kind: ProviderKind;
  name: string;
  enabled: boolean;
  createAccounts: boolean;
  groupsClaim: string | null;
  mfaAmrValues: string[];
  mfaAcrValues: string[];
  oidc: OidcSettings | null;
  saml: SamlSettings | null;
}

const NAME_MAX = 100;
// Control characters (C0, C1: ESC, CR, LF, NEL), zero-width characters and bidirectional overrides and
// isolates. What an admin types here is shown to others: the sign-in button, invitation mails, the
// operator's `idp list` and `idp test`. None of it may break a line, act on a terminal or reorder text.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]/;
// Addresses and identifiers have no spaces at all (a URL parser would drop a tab or newline silently).
const UNSAFE_OR_SPACE = new RegExp(`${UNSAFE.source}|\\s`);
const CLAIM = /^[A-Za-z0-9_.:/#-]{1,200}$/;
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * An address the provider is reached at (or sends people to). https always; plain http only on this
 * machine's loopback, where nothing can listen in (the tests' own provider, a developer's Keycloak).
 */
export function checkProviderUrl(value: string | undefined, field: string, what: string): string {
  const text = (value ?? '').trim();
  if (!text) throw invalid(`Enter the ${what}`, { field });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(`The ${what} must be a full web address, like https://login.microsoftonline.com/…`, { field });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw invalid(`The ${what} must start with https:// (plain http is only allowed for a provider on this machine's loopback address)`, { field });
  }
  if (UNSAFE_OR_SPACE.test(text)) throw invalid(`The ${what} must not contain spaces, control or text-direction characters`, { field });
  if (url.username || url.password) throw invalid(`The ${what} must not contain a user name or password`, { field });
  if (url.hash) throw invalid(`The ${what} must not contain a # fragment`, { field });
  return text;
}

/** Whether an address a provider hands out (its end-session endpoint) is one a browser may be sent to. */
export function isProviderAddress(value: string): boolean {
  try {
    checkProviderUrl(value, 'address', 'address');
    return true;
  } catch {
    return false;
  }
}

function mfaValues(values: string[] | undefined, field: 'mfaAmrValues' | 'mfaAcrValues'): string[] {
  const list = words(values);
  const single = list.find(isSingleFactorValue);
  if (single !== undefined) {
    throw invalid(`“${single}” says how a password (or another single factor) was given, not that a second factor was: list only values your provider sends after multi-factor sign-in, such as “mfa”`, { field });
  }
  return list;
}

const words = (values: string[] | undefined): string[] => [...new Set((values ?? []).flatMap((v) => v.split(/[\s,]+/)).map((v) => v.trim()).filter(Boolean))];

/** Checks a whole provider (a new one, or the full settings of one being changed). */
export function checkProvider(input: ProviderInput): CheckedProvider {
  if (input.kind !== 'oidc' && input.kind !== 'saml') throw invalid('Choose OpenID Connect or SAML 2.0', { field: 'kind' });
  const kind: ProviderKind = input.kind;
  const name = (input.name ?? '').trim();
  if (!name) throw invalid('Enter the name people see on the sign-in button, like "North Shire Council staff"', { field: 'name' });
  if (name.length > NAME_MAX) throw invalid(`The name must be ${NAME_MAX} characters or fewer`, { field: 'name' });
  if (UNSAFE.test(name)) throw invalid('The name cannot contain control or text-direction characters', { field: 'name' });
  const groupsClaim = (input.groupsClaim ?? '').trim() || null;
  if (groupsClaim !== null && !CLAIM.test(groupsClaim)) throw invalid('The groups claim must be a claim or attribute name (letters, digits and _ . : / # -), like "groups"', { field: 'groupsClaim' });
  const amr = mfaValues(input.mfaAmrValues, 'mfaAmrValues');
  const acr = mfaValues(input.mfaAcrValues, 'mfaAcrValues');
  const common = { kind, name, enabled: input.enabled ?? true, createAccounts: input.createAccounts ?? false, groupsClaim, mfaAmrValues: amr, mfaAcrValues: acr };
  if (kind === 'oidc') {
    const issuer = checkProviderUrl(input.issuer, 'issuer', 'issuer URL');
    const clientId = (input.clientId ?? '').trim();
    if (!clientId) throw invalid('Enter the client id (Entra ID: "Application (client) ID")', { field: 'clientId' });
    if (clientId.length > 200 || UNSAFE_OR_SPACE.test(clientId)) throw invalid('The client id must be at most 200 characters, without spaces or control characters', { field: 'clientId' });
    const scopes = words(input.scopes);
    if (scopes.some((s) => !/^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/.test(s))) throw invalid('Scopes are words separated by spaces, like "openid email profile"', { field: 'scopes' });
    // openid makes it OpenID Connect; email and profile carry the address and name the account match needs.
    const all = ['openid', ...scopes.filter((s) => s !== 'openid')];
    return { ...common, oidc: { issuer, clientId, scopes: all.length === 1 ? ['openid', 'email', 'profile'] : all }, saml: null };
  }
  const entryPoint = checkProviderUrl(input.entryPoint, 'entryPoint', 'single sign-on URL');
  const idpEntityId = (input.idpEntityId ?? '').trim();
  if (!idpEntityId) throw invalid('Enter the identity provider\'s entity id (Entra ID: "Microsoft Entra Identifier")', { field: 'idpEntityId' });
  if (UNSAFE_OR_SPACE.test(idpEntityId)) throw invalid('The entity id must not contain spaces, control or text-direction characters', { field: 'idpEntityId' });
  const idpCertificates = (input.idpCertificates ?? []).map(pemCertificate).filter((c): c is string => c !== null);
  if (idpCertificates.length === 0) throw invalid('Add the identity provider\'s signing certificate (Base64 or PEM)', { field: 'idpCertificates' });
  const emailAttribute = (input.emailAttribute ?? '').trim() || null;
  return { ...common, oidc: null, saml: { entryPoint, idpEntityId, idpCertificates, emailAttribute } };
}

/** A certificate as Entra's "Certificate (Base64)" download or a PEM file gives it; null for an empty entry. */
function pemCertificate(text: string): string | null {
  const body = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!body) return null;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length < 200) {
    throw invalid('The signing certificate must be a Base64 or PEM certificate, as the identity provider gives it for download', { field: 'idpCertificates' });
  }
  return `-----BEGIN CERTIFICATE-----\n${body.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----`;
}

/** One row of the admin's mapping table, before any check. */
export interface GroupMappingInput {
  group?: string;
  roles?: string[];
  teams?: string[];
  clearance?: string | null;
}

/** The organisation's whole mapping: each group once, known roles, teams and clearances only. */
export function checkGroupMappings(organisationId: string, rows: readonly GroupMappingInput[], serviceAreas: readonly string[]): GroupMapping[] {
  const seen = new Set<string>();
  return rows.flatMap((row, index): GroupMapping[] => {
    const group = (row.group ?? '').trim();
    const roles = row.roles ?? [];
    const teams = row.teams ?? [];
    const field = `group-${index}`;
    if (!group) {
      if (roles.length === 0 && teams.length === 0 && !row.clearance) return []; // an empty row of the form
      throw invalid(`Row ${index + 1}: enter the directory group's id or name`, { field });
    }
    if (group.length > 256) throw invalid(`Row ${index + 1}: the group must be 256 characters or fewer`, { field });
    if (UNSAFE.test(group)) throw invalid(`Row ${index + 1}: the group cannot contain control or text-direction characters`, { field });
    if (seen.has(group)) throw invalid(`The group "${group}" is mapped twice: give each group one row`, { field });
    seen.add(group);
    const badRole = roles.find((r) => !(ROLES as readonly string[]).includes(r));
    if (badRole) throw invalid(`Row ${index + 1}: unknown role ${badRole}: roles are ${ROLES.join(', ')}`, { field });
    const badTeam = teams.find((t) => !serviceAreas.includes(t));
    if (badTeam) throw invalid(`Row ${index + 1}: unknown service area ${badTeam}: service areas are ${serviceAreas.join(', ')}`, { field });
    const clearance = row.clearance ? row.clearance : null;
    if (clearance !== null && !(CLASSIFICATIONS as readonly string[]).includes(clearance)) throw invalid(`Row ${index + 1}: clearance must be one of ${CLASSIFICATIONS.join(', ')}`, { field });
    return [{ organisationId, group, roles: [...new Set(roles)] as Role[], teams: [...new Set(teams)], clearance: clearance as Classification | null }];
  });
}
