// Table types of what the vault tells people: in-app notifications, mail preferences and invitations.

export interface NotificationsTable {
  id: string;
  user_id: string;
  organisation_id: string;
  kind: string;
  document_id: string | null;
  version_id: string | null;
  /** The subject access request a notice is about (migration 202612140000). */
  request_id: string | null;
  message: string;
  created_at: string;
  read_at: string | null;
}

export interface MailPreferencesTable {
  user_id: string;
  non_essential_opt_out: number;
  updated_at: string;
}

export interface InvitationsTable {
  token_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

/** Security notices as sent, one per send-email job (migration 202612190000, domain/mail/notice-limits.ts). */
export interface AccountNoticesTable {
  job_id: number;
  user_id: string;
  window_opened_at: string;
  held: number;
  /** Held only: the address it is for (the one it was queued with) and the notice (its message as JSON). */
  address: string | null;
  message: string | null;
  summarised_at: string | null;
}
