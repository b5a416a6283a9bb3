// Port: the upload slots every process shares, which upload admission counts. Part of the Store's
// repositories (domain/repositories.ts `uploadSlots`).

/** The levels an upload is counted at: its account, its client address, its organisation, and everyone. */
export type UploadSlotScope = 'account' | 'client' | 'organisation' | 'total';

/** One upload in progress, in whichever process receives it. */
export interface UploadSlot {
  id: string;
  /** The process holding it (random per process). */
  holder: string;
  /** Null for no account / no address: that level does not count it. */
  accountId: string | null;
  clientAddress: string | null;
  organisationId: string;
  acquiredAt: string;
  /** The lease: renewed while the upload runs; once past, the slot no longer counts. */
  expiresAt: string;
}

/** Upload slots shared by every process (services/upload-admission.ts decides; this only stores). */
export interface UploadSlotsRepository {
  /**
   * Within a transaction: waits until no other admission, in any process, is between counting and
   * taking a slot, and keeps it so until this transaction ends. Without it two processes could
   * each count room for one more and both take it.
   */
  lockAdmission(): Promise<void>;
  /** Deletes slots whose lease ended at or before `now`; returns how many. */
  deleteExpired(now: string): Promise<number>;
  /** Live slots (lease ending after `now`) at each level for these keys; a null key counts 0. */
  liveCounts(keys: { accountId: string | null; clientAddress: string | null; organisationId: string }, now: string): Promise<Record<UploadSlotScope, number>>;
  insert(slot: UploadSlot): Promise<void>;
  /** Moves a held slot's lease end; false if the slot is gone (released, or expired and swept). */
  renew(id: string, expiresAt: string): Promise<boolean>;
  /** True if a slot was removed. */
  delete(id: string): Promise<boolean>;
  /** Live slots, oldest first: for diagnosis and tests. */
  live(now: string): Promise<UploadSlot[]>;
}
