// SignInSeals (domain/identity/sign-in-seals.ts): HMAC-SHA256 under a key derived from the master key, and
// TOTP secrets sealed with AES-256-GCM under a key of their own (secret-sealer.ts), the person's id as context.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../domain/audit/event.js';
import type { ExternalIdentity, IdentityProvider } from '../domain/identity/federation.js';
import type { CredentialScope } from '../domain/types.js';
import type { SignInSeals } from '../domain/identity/sign-in-seals.js';
import type { MasterKey } from './keys.js';
import { DerivedSecretSealer } from './secret-sealer.js';

export class DerivedSignInSeals implements SignInSeals {
  readonly #key: Buffer;
  readonly #totp: DerivedSecretSealer;

  constructor(master: Pick<MasterKey, 'derive'>) {
    this.#key = master.derive('sign-in seals v1');
    this.#totp = new DerivedSecretSealer(master, 'totp secrets v1');
  }

  // Each seal names what it is over, so one kind of seal is never another's (JSON keeps the fields apart).
  #mac(what: string, fields: unknown[]): string {
    return createHmac('sha256', this.#key).update(`${what}\n${JSON.stringify(fields)}`).digest('base64url');
  }

  password(userId: string, passwordHash: string | null): string {
    return this.#mac('password', [userId, passwordHash]);
  }

  mfa(userId: string, mfaEnabled: boolean, storedSecret: string | null, recoveryCodes: string | null): string {
    return this.#mac('mfa', [userId, mfaEnabled, storedSecret, recoveryCodes]);
  }

  credential(c: { id: string; userId: string; kind: string; secretHash: string; revoked: boolean; scope: CredentialScope }): string {
    // Full: the fields sealed before scopes, so those seals stay valid. Read: one field more (JSON keeps them apart).
    const fields: unknown[] = [c.id, c.userId, c.kind, c.secretHash, c.revoked];
    return this.#mac('credential', c.scope === 'full' ? fields : [...fields, c.scope]);
  }

  scimToken(t: { id: string; organisationId: string; secretHash: string; revoked: boolean }): string {
    return this.#mac('scim token', [t.id, t.organisationId, t.secretHash, t.revoked]);
  }

  identityProvider(p: IdentityProvider, sealedSecret: Uint8Array | null): string {
    // Settings as canonical JSON (keys sorted, what JSON would drop dropped): the same whether the object was
    // built by the admin service or parsed back from the row.
    const settings = canonicalJson(JSON.parse(JSON.stringify(p.kind === 'oidc' ? p.oidc : p.saml) ?? 'null'));
    const secret = sealedSecret === null ? null : createHash('sha256').update(sealedSecret).digest('base64url');
    return this.#mac('identity provider', [p.id, p.organisationId, p.kind, p.name, p.enabled, settings, p.createAccounts, p.groupsClaim, p.mfaAmrValues, p.mfaAcrValues, secret]);
  }

  federatedLink(l: Pick<ExternalIdentity, 'providerId' | 'subject' | 'userId'>): string {
    return this.#mac('federated link', [l.providerId, l.subject, l.userId]);
  }

  matches(expected: string, stored: string | null): boolean {
    if (stored === null) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(stored);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  sealTotpSecret(userId: string, secret: string): string {
    return this.#totp.seal(`totp secret\n${userId}`, secret).toString('base64url');
  }

  openTotpSecret(userId: string, stored: string): string | null {
    return this.#totp.open(`totp secret\n${userId}`, Buffer.from(stored, 'base64url'));
  }
}
