// The database as the mail services see it: per-person preferences and invitation tokens (by hash only).

export interface MailPreferences {
  /** Non-essential mail is not sent (essential mail always is). */
  nonEssentialOptOut: boolean;
  updatedAt: string | null;
}

export interface InvitationRow {
  /** SHA-256 of the token in the link; the token itself is never stored. */
  tokenHash: string;
  userId: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
}

export interface MailRepository {
  preferences(userId: string): Promise<MailPreferences>;
  setPreferences(userId: string, preferences: { nonEssentialOptOut: boolean }, at: string): Promise<void>;
  /** Replaces every earlier invitation of the person: only the newest link works. */
  replaceInvitation(row: Omit<InvitationRow, 'usedAt'>): Promise<void>;
  invitationByHash(tokenHash: string): Promise<InvitationRow | undefined>;
  /** Withdraws every invitation of the person (used or not): their links stop working for good. */
  withdrawInvitations(userId: string): Promise<void>;
  /** Marks it used if it was unused and unexpired at `at`; false if another request used it first or it expired. */
  useInvitation(tokenHash: string, at: string): Promise<boolean>;
}
