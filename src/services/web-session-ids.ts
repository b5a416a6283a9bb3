// What a web session id is: made bound to its person, the stage it was made at and whether a provider
// vouched for MFA, and stored keyed (person-bound-token.ts). Making one (a new session, or one replacing
// another) is here, shared by every web sign-in service; reading one back is WebSessionsService.resolve.
import { randomBytes } from 'node:crypto';
import type { User } from '../domain/types.js';
import type { Repos } from '../domain/repositories.js';
import { newPersonBoundToken, storedPersonBoundToken } from './person-bound-token.js';
import type { SessionStage, WebSession, WebSessionsOptions } from './web-sessions.service.js';

/**
 * What a session id is bound to: its person, the stage it was made at and whether a provider vouched for
 * MFA. Stages only ever move down a row without a new id (resolve(): a role that now needs MFA, MFA set up
 * in another browser); a move up (a second factor passed) always makes a new session. So a row whose stage
 * or provider_mfa was written up by hand (someone who knows only the password, past the second factor)
 * is no session.
 */
export const sessionSubject = (userId: string, stage: SessionStage, providerMfa: boolean): string => `${userId}\n${stage}\n${providerMfa ? 'provider mfa' : 'no provider mfa'}`;
/** The stages a session made at a stage may have reached without a new id. */
export const REACHABLE: Record<SessionStage, readonly SessionStage[]> = { active: ['active', 'mfa_setup', 'mfa'], mfa_setup: ['mfa_setup', 'mfa'], mfa: ['mfa'] };
export const STAGES = Object.keys(REACHABLE) as SessionStage[];

export const newSecret = (): string => randomBytes(32).toString('base64url');

export class WebSessionIds {
  constructor(private readonly o: Pick<WebSessionsOptions, 'store' | 'clock' | 'sessionKey' | 'absoluteHours' | 'pendingMinutes'>) {}

  /** What a session id is stored as: keyed, so a row written by hand is no session anyone can present (person-bound-token.ts). */
  storedId(sessionId: string): string {
    return storedPersonBoundToken(this.o.sessionKey, sessionId);
  }

  private get repos() {
    return this.o.store.repos;
  }

  private get absoluteMs() { return (this.o.absoluteHours ?? 12) * 3_600_000; }
  private get pendingMs() { return (this.o.pendingMinutes ?? 10) * 60_000; }

  async create(user: User, stage: SessionStage, options: { providerMfa?: boolean } = {}, repos: Repos = this.repos): Promise<string> {
    const sessionId = newPersonBoundToken(this.o.sessionKey, sessionSubject(user.id, stage, options.providerMfa === true));
    const now = this.o.clock.now();
    const lifetime = stage === 'active' ? this.absoluteMs : this.pendingMs;
    await repos.sessions.insert({
      idHash: this.storedId(sessionId), userId: user.id, csrfToken: newSecret(), stage,
      createdAt: now.toISOString(), lastSeenAt: now.toISOString(), expiresAt: new Date(now.getTime() + lifetime).toISOString(), providerMfa: options.providerMfa === true,
    });
    return sessionId;
  }

  /** `repos`: a transaction's, when the new session must commit with the change that earned it. */
  async rotate(session: WebSession, stage: SessionStage, repos: Repos = this.repos): Promise<string> {
    await repos.sessions.delete(session.idHash);
    return this.create(session.user, stage, {}, repos);
  }
}
