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
