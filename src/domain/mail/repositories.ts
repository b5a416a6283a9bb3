// The database as the mail services see it: per-person preferences, invitation tokens (by hash only) and the
// security notices sent (domain/mail/notice-limits.ts).
import type { AccountChangeMessage } from './message.js';

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
  /** The fate already decided for the notice the send-email job `jobId` carries (a retry of it), if any. */
  noticeFate(jobId: number): Promise<{ held: boolean } | undefined>;
  /** The person's latest window of notices: when it opened, and how many notices it counted. */
  latestNoticeWindow(userId: string): Promise<{ openedAt: string; counted: number } | undefined>;
  /** Records a notice's fate; a held one with its address and message, for the summary. */
  recordNotice(row: HeldOrSentNotice): Promise<void>;
  /**
   * Deletes the rows of windows opened before `before` (the person's, or everyone's), except held notices not yet
   * summarised and notices whose send-email job is not done (a retry finds its decision).
   */
  forgetNoticeWindows(before: string, userId?: string): Promise<void>;
  /** The oldest `limit` held notices of the person's window for `address` not yet summarised, oldest first. */
  heldNotices(userId: string, windowOpenedAt: string, address: string, limit: number): Promise<{ jobId: number; message: AccountChangeMessage }[]>;
  /** Marks held notices summarised (their summary was sent). */
  noticesSummarised(jobIds: readonly number[], at: string): Promise<void>;
}

/** One notice's fate, as recorded: sent alone, or held with the address and message its summary is made of. */
export type HeldOrSentNotice = { jobId: number; userId: string; windowOpenedAt: string } & (
  { held: false } | { held: true; address: string; message: AccountChangeMessage }
);
