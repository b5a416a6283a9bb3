// Table types of the audit trail: events, the Merkle tree's nodes and signed checkpoints.
import type { Generated } from 'kysely';

export interface AuditEventsTable {
  id: Generated<number>;
  seq: number | null;
  leaf_hash: Buffer | null;
  time: string;
  actor_user_id: string | null;
  actor_organisation_id: string | null;
  action: string;
  target_organisation_id: string | null;
  target_ids: string;
  /** Copied from target_ids so a document's access history is an indexed look-up. */
  document_id: string | null;
  decision: string;
  reason: string;
  arrangement_id: string | null;
  channel: string;
  client_address: string | null;
  request_id: string | null;
  /** eventSeal() of the event as the service wrote it; null only for events written before seals. */
  seal: string | null;
}

export interface AuditTreeNodesTable {
  level: number;
  idx: number;
  hash: Buffer;
}

export interface AuditCheckpointsTable {
  tree_size: number;
  root_hash: Buffer;
  note: string;
  created_at: string;
}
