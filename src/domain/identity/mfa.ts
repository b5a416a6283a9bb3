// Which people must use a second factor, and what that means for their other credentials.
// One rule, read by web sign-in and by API token / app password authentication alike.
import type { Role } from '../types.js';

/** Roles that can change who sees what: they must use a second factor. */
export const MFA_ROLES: readonly Role[] = ['org_admin', 'security_admin', 'records_manager'];

export function mfaRequired(roles: readonly Role[]): boolean {
  return roles.some((role) => MFA_ROLES.includes(role));
}

/**
 * Whether a person may use an API token or app password now. Those credentials skip the second
 * factor, so someone who needs one must have set it up first; otherwise a password and a token
 * minted for them (by the CLI, or before a role change) would be a way round MFA.
 */
export function credentialsUsable(person: { roles: readonly Role[]; mfaEnabled: boolean }): boolean {
  return !mfaRequired(person.roles) || person.mfaEnabled;
}
