// What the search reader's thread (sqlite-read-thread.ts) is started with, is sent and answers.

export interface ReaderSettings {
  file: string;
  /** The database key (kysely.ts SqliteOptions.key), copied to the thread. */
  key: Uint8Array;
  cacheMib?: number;
  busyTimeoutMs: number;
  /** Test seam (sqlite-read-thread.ts waitAtGate), on a SharedArrayBuffer: [0] 1 holds statements, [1] counts those that reached it. */
  gate?: Int32Array;
}

export interface ReaderRequest {
  id: number;
  sql: string;
  parameters: readonly unknown[];
}

export type ReaderReply =
  | { kind: 'ready' }
  | { kind: 'failed'; error: { message: string; code?: string } }
  | { kind: 'rows'; id: number; rows: unknown[] }
  | { kind: 'error'; id: number; error: { message: string; code?: string } };
