// What a sign-in that finds a seal not matching (domain/identity/sign-in-seals.ts) tells the operator, beside
// the refusal it audits as `secrets_not_sealed`: only a write into the database directly, or a row never
// sealed since the seals came (docs/operations.md, "Upgrading"), leaves one, so it is logged at error level.

/** Called with what to log; composition gives the logger's error (compose/identity.ts). */
export type SealAlarm = (alarm: { message: string; ids: Record<string, string> }) => void;

export const unsealedSecrets = (userId: string, credentialId?: string): { message: string; ids: Record<string, string> } => ({
  message: credentialId
    ? 'an API token or app password was refused: its row is not what Strongroom wrote (its seal does not match); it was written into the database directly'
    : 'a sign-in or invitation was refused: this person\'s password hash or two-factor state is not what Strongroom wrote (its seal does not match); it was written into the database directly, or never sealed (an admin must reset it)',
  ids: { userId, ...(credentialId ? { credentialId } : {}) },
});

/** A SCIM token refused because its row is not what Strongroom wrote. */
export const unsealedScimToken = (scimTokenId: string): { message: string; ids: Record<string, string> } => ({
  message: 'a SCIM token was refused: its row is not what Strongroom wrote (its seal does not match); it was written into the database directly',
  ids: { scimTokenId },
});

/** A federated sign-in refused because the provider's row, or the link of its subject to a person, is not what Strongroom wrote. */
export const unsealedFederation = (ids: { providerId: string; subject?: string; userId?: string }): { message: string; ids: Record<string, string> } => ({
  message: ids.subject === undefined
    ? 'a federated sign-in was refused: the identity provider\'s row is not what Strongroom wrote (its seal does not match); it was written into the database directly, or never sealed (an org admin must remove the provider and add it again)'
    : 'a federated sign-in was refused: the link of the provider\'s subject to a person is not what Strongroom wrote (its seal does not match); it was written into the database directly',
  ids: Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined)) as Record<string, string>,
});
