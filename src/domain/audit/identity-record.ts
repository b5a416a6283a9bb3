// Whether every way into an organisation that the new identity features keep in the database is one an
// audited change made: a SCIM token (acts as the organisation's directory), an identity provider's
// settings and sealed client secret (signs in anyone of its organisation by e-mail address), and the link
// of a provider subject to an account (signs that subject in as the account, an org admin's too). A database
// administrator who writes one of these rows directly could get in as anyone; as for API tokens
// (credential-record.ts), `audit verify` must name it. Each change's event records a binding of the row.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';
import { canonicalJson } from './event.js';
import type { GroupMapping, IdentityProvider } from '../identity/federation.js';

const bind = (value: unknown): string => createHash('sha256').update(canonicalJson(value)).digest('base64url');

export interface StoredScimToken { id: string; organisationId: string; secretHash: string }
export interface StoredProvider { provider: IdentityProvider; sealedSecret: Buffer | null }
export interface StoredLink { providerId: string; subject: string; userId: string }

export const scimTokenBinding = (t: StoredScimToken): string => bind({ id: t.id, organisationId: t.organisationId, secretHash: t.secretHash });

/** Everything a sign-in through the provider depends on (not its timestamps), and a hash of its sealed secret. */
export function providerBinding({ provider: p, sealedSecret }: StoredProvider): string {
  return bind({
    id: p.id, organisationId: p.organisationId, kind: p.kind, name: p.name, enabled: p.enabled, oidc: p.oidc, saml: p.saml,
    createAccounts: p.createAccounts, groupsClaim: p.groupsClaim, mfaAmrValues: p.mfaAmrValues, mfaAcrValues: p.mfaAcrValues,
    sealedSecret: sealedSecret === null ? null : createHash('sha256').update(sealedSecret).digest('base64url'),
  });
}

export const linkBinding = (l: StoredLink): string => bind({ providerId: l.providerId, subject: l.subject, userId: l.userId });

export const IDENTITY_RECORD_ACTIONS = ['scim-token.create', 'identity-provider.add', 'identity-provider.update', 'identity.link'] as const;

const DIRECT = 'it was written into the database directly, not by Strongroom.';

function vouchedBindings(events: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>[]): Set<string> {
  const vouched = new Set<string>();
  for (const e of events) {
    if (e.decision === 'allow' && e.targetIds.binding && (IDENTITY_RECORD_ACTIONS as readonly string[]).includes(e.action)) vouched.add(`${e.action}|${e.targetIds.binding}`);
  }
  return vouched;
}

/** The SCIM tokens unrecordedIdentityRow's rule vouches for (the same events): what the upgrade to sign-in seals seals. */
export function recordedScimTokens<T extends StoredScimToken>(tokens: readonly T[], events: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>[]): T[] {
  const vouched = vouchedBindings(events);
  return tokens.filter((t) => vouched.has(`scim-token.create|${scimTokenBinding(t)}`));
}

/** The identity providers unrecordedIdentityRow's rule vouches for (as added or last updated): what the upgrade to sign-in seals seals. */
export function recordedProviders<T extends StoredProvider>(providers: readonly T[], events: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>[]): T[] {
  const vouched = vouchedBindings(events);
  return providers.filter((p) => vouched.has(`identity-provider.add|${providerBinding(p)}`) || vouched.has(`identity-provider.update|${providerBinding(p)}`));
}

/** The links of provider subjects to people unrecordedIdentityRow's rule vouches for: what the upgrade seals. */
export function recordedLinks<T extends StoredLink>(links: readonly T[], events: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>[]): T[] {
  const vouched = vouchedBindings(events);
  return links.filter((l) => vouched.has(`identity.link|${linkBinding(l)}`));
}

/** The first row no allowed event vouches for, said to a person; null when every one matches. */
export function unrecordedIdentityRow(
  rows: { scimTokens: readonly StoredScimToken[]; providers: readonly StoredProvider[]; links: readonly StoredLink[] },
  events: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds'>[],
): string | null {
  const vouched = vouchedBindings(events);
  for (const t of rows.scimTokens) {
    if (!vouched.has(`scim-token.create|${scimTokenBinding(t)}`)) return `SCIM token ${t.id} (organisation ${t.organisationId}) matches no recorded creation: ${DIRECT}`;
  }
  for (const p of rows.providers) {
    const b = providerBinding(p);
    if (!vouched.has(`identity-provider.add|${b}`) && !vouched.has(`identity-provider.update|${b}`)) {
      return `Identity provider ${p.provider.id} (${p.provider.kind}, organisation ${p.provider.organisationId}) matches none of its recorded settings: ${DIRECT}`;
    }
  }
  for (const l of rows.links) {
    if (!vouched.has(`identity.link|${linkBinding(l)}`)) return `The link of provider ${l.providerId}'s subject to person ${l.userId} matches no recorded link: ${DIRECT}`;
  }
  return null;
}

/**
 * The organisation's whole group mapping (what each directory group, OIDC claim or SAML attribute value
 * grants: roles, teams, clearance), set at once by an org admin. A mapping row written by hand would have
 * the next sign-in or directory sync grant a role no one gave, recorded by a legitimate-looking change to
 * the person; so each setting records a binding of the whole mapping, and `audit verify` compares the rows
 * with the organisation's latest setting. Order does not matter: groups are sorted, and so are the roles
 * and teams each grants.
 */
export function groupMappingsBinding(mappings: readonly Pick<GroupMapping, 'group' | 'roles' | 'teams' | 'clearance'>[]): string {
  const rows = [...mappings].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))
    .map((m) => ({ group: m.group, roles: [...m.roles].sort(), teams: [...m.teams].sort(), clearance: m.clearance }));
  return bind(rows);
}

export const GROUP_MAPPING_ACTIONS = ['identity.group-mappings'] as const;

/**
 * For `audit verify`: the first organisation whose group mapping is not what its latest setting
 * records; null when each is. An organisation with mapping rows and no setting has rows no one set.
 * A setting recorded before settings carried a binding (5 December 2026) vouches for the number of
 * groups only, until the mapping is next saved. `events`: settings IN THE ORDER THEY WERE WRITTEN.
 */
export function unrecordedGroupMappings(
  rows: readonly GroupMapping[],
  events: readonly Pick<AuditEvent, 'action' | 'decision' | 'targetIds' | 'targetOrganisationId'>[],
): string | null {
  const latest = new Map<string, Pick<AuditEvent, 'targetIds'>>();
  for (const e of events) {
    if (e.decision === 'allow' && e.action === 'identity.group-mappings' && e.targetOrganisationId) latest.set(e.targetOrganisationId, e);
  }
  const byOrganisation = new Map<string, GroupMapping[]>();
  for (const m of rows) byOrganisation.set(m.organisationId, [...(byOrganisation.get(m.organisationId) ?? []), m]);
  for (const organisationId of new Set([...byOrganisation.keys(), ...latest.keys()])) {
    const mappings = byOrganisation.get(organisationId) ?? [];
    const setting = latest.get(organisationId);
    const groups = (n: number | string) => (String(n) === '1' ? '1 group' : `${n} groups`);
    const subject = `Organisation ${organisationId}'s group mapping (${groups(mappings.length)})`;
    if (!setting) {
      if (mappings.length > 0) return `${subject} was set by no recorded change: ${DIRECT}`;
      continue;
    }
    const recorded = setting.targetIds.binding;
    if (recorded === undefined ? String(mappings.length) !== setting.targetIds.groups : recorded !== groupMappingsBinding(mappings)) {
      return `${subject} is not what its latest recorded setting (${groups(setting.targetIds.groups ?? '?')}) made it: ${DIRECT}`;
    }
  }
  return null;
}
