// Domain errors with stable codes; the HTTP and WebDAV error mappers are the only places that turn them into responses.

export type ErrorCode =
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'CONFLICT'
  | 'LOCKED'
  | 'INVALID'
  | 'TOO_LARGE'
  | 'INFECTED'
  | 'BLOCKED_FILE_TYPE'
  | 'INTEGRITY'
  | 'UNAVAILABLE'
  /** The disk (or quota) holding documents is full: nothing was stored. */
  | 'INSUFFICIENT_STORAGE'
  | 'RATE_LIMITED'
  /** The client stopped sending (or sent too slowly) before the request was complete. */
  | 'TIMEOUT'
  | 'PRECONDITION_FAILED'
  /** A search query that cannot be understood (the message says how to fix it). */
  | 'BAD_QUERY';

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Extra facts safe to show the client (never secrets, never other organisations' data). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.details = options?.details;
  }
}

/**
 * Whether `error` ended a write whose commit may have gone through after all (the database's connection
 * was lost during the COMMIT: db/driver-errors.ts). Cleaning up after such a failure must keep whatever
 * a committed row may name.
 */
export const commitOutcomeUnknown = (error: unknown): boolean =>
  error instanceof DomainError && error.code === 'UNAVAILABLE' && error.details?.commitOutcomeUnknown === true;

export const notFound = (what = 'resource'): DomainError =>
  new DomainError('NOT_FOUND', `No ${what} with that id exists, or you do not have access to it.`);

export const invalid = (message: string, details?: Record<string, unknown>): DomainError =>
  new DomainError('INVALID', message, details ? { details } : undefined);

export const forbidden = (message: string): DomainError => new DomainError('FORBIDDEN', message);

export const conflict = (message: string): DomainError => new DomainError('CONFLICT', message);

/**
 * The database refused a row because another request had just taken its unique key (a person's e-mail
 * address, an organisation's slug) between the service's "is it taken?" and its insert. The repository
 * that inserts the row knows which of its constraints means "already exists" and says so with this; any
 * other unique violation stays the driver's error (a bug, answered 500 and logged). The service answers
 * it as its own check would now (services/already-taken.ts), so the loser of the race hears exactly what
 * a later duplicate hears; this message is the fallback should nothing hold the key by then.
 */
export class AlreadyExistsError extends DomainError {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super('CONFLICT', `Another request took this ${key} at the same moment, so nothing was added.`, options);
    this.name = 'AlreadyExistsError';
  }
}

/**
 * The database refused a second live document or collection of one name in one place (its live-name unique
 * indexes): a race the name's claim missed, or a path that forgot to claim. services/name-claims.ts answers it
 * as the claim would have (`giveClaimedName`); elsewhere this message is the answer.
 */
export class LiveNameTakenError extends AlreadyExistsError {
  constructor(options?: { cause?: unknown }) {
    super('name', options);
    this.name = 'LiveNameTakenError';
  }
}

/** Raised when stored bytes fail authentication: tampering, truncation, a wrong key or a moved blob. */
export class IntegrityError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTEGRITY', message, options);
    this.name = 'IntegrityError';
  }
}

/**
 * Every stored copy of a version failed its check (or is missing): nothing is served. Unlike other
 * integrity failures, its message is meant for the person downloading, and the interfaces show it.
 */
export class DamagedCopiesError extends IntegrityError {
  constructor(options?: { cause?: unknown }) {
    super("This file's stored copies are damaged; the service's operators have been told.", options);
    this.name = 'DamagedCopiesError';
  }
}

/**
 * One stored object that its storage service keeps in an archive class (an S3 bucket's lifecycle rule moved
 * it to GLACIER or DEEP_ARCHIVE, which GetObject answers 403 InvalidObjectState), so it cannot be read until
 * it is restored from there. That object's problem, not an outage of the store: the reads heal it from the
 * other copy and the scrub names it. The message is for the person downloading, on every interface (503).
 */
export class ArchivedBlobError extends DomainError {
  constructor(readonly blobId: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', "This file is in archive storage, so it cannot be downloaded now; the service's operators have been told. Try again later.", options);
    this.name = 'ArchivedBlobError';
  }
}
