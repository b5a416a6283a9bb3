// Configuration: flags and environment parsed once by main.ts into a frozen, typed Config.
// Every problem is reported at once, so an operator fixes them in one go. This file holds the
// schema, the Config type and the loader; each area's own parsing and checks live beside it:
// storage-settings.ts (blobs, replica, offsite), network-settings.ts (proxies, TLS), branding-setting.ts
// (the logo), limits.ts (sizes, counts, rates and how they fit together), env-names.ts (problem names).
import path from 'node:path';
import { z } from 'zod';
import { COLOUR_PATTERN } from '../domain/branding/brand.js';
import { DEFAULT_NOTICE_LIMITS } from '../domain/mail/notice-limits.js';
import { parseBrandLogo, type BrandLogoSetting } from './branding-setting.js';
import { ENV_NAMES } from './env-names.js';
import { countSchema, rateSchema, SCAN_WHOLE_DEFAULT_BYTES, shareProblems, sizeSchema, SQLITE_CACHE_DEFAULT_MIB, SQLITE_MAIN_CACHE_DEFAULT_MIB } from './limits.js';
import { parseTrustProxy, type TrustedProxies } from './network-settings.js';
import { defaultOffsiteDir, parseBlobsSetting, parseReplicaSetting, sameBlobPlace, type BlobsSetting } from './storage-settings.js';

const configSchema = z
  .object({
    dataDir: z.string().min(1, 'must not be empty'),
    host: z.string().min(1, 'must not be empty'),
    port: z.coerce.number({ error: 'must be a port number from 0 to 65535' }).int('must be a whole number').min(0, 'must be a port number from 0 to 65535').max(65535, 'must be a port number from 0 to 65535'),
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (leave it unset for the embedded SQLite database)')
      .optional(),
    /**
     * Pages the embedded database's search reader keeps decrypted in memory. Every page read past
     * this cache is decrypted again; search over a large index reads tens of MB per query
     * (docs/performance.md).
     */
    sqliteCacheMib: countSchema,
    /** The same for the main connection (writes, listings, everything but search's reads). */
    sqliteMainCacheMib: countSchema,
    tlsCert: z.string().optional(),
    tlsKey: z.string().optional(),
    /** Whose X-Forwarded-For/-Proto/-Host to believe; null = nobody's (the connecting address is the client). */
    trustProxy: z.custom<TrustedProxies | null>(),
    /** An existing clamd: a unix socket path or host:port. Unset = start our own. */
    clamd: z.string().optional(),
    /** Where freshclam keeps the official signature databases (e.g. /var/lib/clamav); unset = ours only. */
    clamavDatabaseDir: z.string().optional(),
    /** Files up to this size get their malware verdict before the upload is acknowledged. */
    inlineScanMaxBytes: sizeSchema,
    /**
     * Longest stream sent to clamd, which spools it whole on tmpfs (RAM): files up to this are scanned
     * whole, larger ones in overlapping segments this long (services/segmented-scan.ts).
     */
    scanWholeMaxBytes: sizeSchema,
    /** Bytes each segment repeats from the one before, so a signature across a boundary is seen whole. */
    scanSegmentOverlapBytes: sizeSchema,
    maxUploadBytes: sizeSchema,
    /** Uploads one account, one client address, one organisation and everyone may have in progress. */
    uploadsPerAccount: countSchema,
    uploadsPerClient: countSchema,
    uploadsPerOrganisation: countSchema,
    uploadsTotal: countSchema,
    /** Milliseconds of search time one person, and one organisation's people together, may spend on one node per window (services/search-budget.ts). */
    searchMsPerPerson: countSchema,
    searchMsPerOrganisation: countSchema,
    searchWindowSeconds: countSchema,
    /** Searches one node runs at once (each holds a database connection while it runs): below the pool's 10. */
    searchesAtOnce: countSchema,
    /** PostgreSQL's statement_timeout for a search's statements: past it the search is refused (400), not left to run. */
    searchTimeoutMs: countSchema,
    /** An upload whose body sends nothing for this long is abandoned (408, nothing stored). */
    uploadIdleSeconds: countSchema,
    /** Slowest average upload rate accepted after the first minute (0: no minimum). */
    uploadMinBytesPerSecond: rateSchema,
    /** A connection on which nothing moves either way for this long is closed (a client that stopped reading its answer). */
    connectionIdleSeconds: countSchema,
    /** clamd streams (INSTREAM) one account, one organisation and everyone may hold at once. */
    scanStreamsPerAccount: countSchema,
    scanStreamsPerOrganisation: countSchema,
    scanStreamsTotal: countSchema,
    /**
     * Scan jobs one worker runs at once (the availability lane's slots): a file answered before it was scanned
     * waits behind at most this many longer scans. Our clamd gets one thread more, for the uploads' inline scans.
     */
    scanJobsAtOnce: countSchema,
    /** After a signature update, rescan versions stored in this many days. */
    rescanDays: sizeSchema,
    /** Soft-deleted documents are purged (crypto-shredded) this many days after deletion, unless held. */
    binDays: countSchema,
    /** Base64 master key from the environment instead of keys/master.key. */
    masterKey: z.string().optional(),
    auditCheckpointEvents: sizeSchema,
    auditCheckpointSeconds: sizeSchema,
    auditOrigin: z.string().min(1),
    /** Where offsite copies (replica, audit checkpoints) are written; never inside dataDir by default. */
    offsiteDir: z.string().min(1),
    /** Bearer token a Prometheus scraper must present at /metrics; unset = loopback clients only. */
    metricsToken: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /** How passwords are hashed: 'standard' (argon2id, 64 MiB) or 'test-only-weak' for test suites (integrations/argon2.password-hasher.ts). */
    passwordHashing: z.enum(['standard', 'test-only-weak']),
    role: z.enum(['all', 'web', 'worker']),
    /** Where blobs are kept: a folder (default <data>/blobs) or an S3-compatible bucket. */
    blobs: z.custom<BlobsSetting>(),
    /** The offsite replica of every blob: a folder (default <offsite>/blobs) or a bucket; null when turned off. */
    replica: z.custom<BlobsSetting | null>(),
    /** The signed database backup into the replica: 'daily' (default while there is a replica) or 'off'. */
    backupSchedule: z.enum(['daily', 'off']),
    /** The UK hour (0–23) from which the day's backup is taken. */
    backupHour: z.coerce.number().int().min(0, 'must be an hour from 0 to 23').max(23, 'must be an hour from 0 to 23'),
    /** How many scheduled backups the replica keeps (older ones are deleted after each new one). */
    backupKeep: z.coerce.number().int().min(1, 'must keep at least 1 backup').max(10_000),
    /** The service's name in every page header (a council may call it "Records vault"). */
    serviceName: z.string().trim().min(1, 'must not be empty').max(60, 'must be 60 characters or fewer'),
    /** The deploying organisation's name beside the logo; unset = none. */
    brandName: z.string().trim().min(1).max(80, 'must be 80 characters or fewer').optional(),
    /** The header's logo, checked at start (exists, ≤ 200 KB, PNG or SVG by content); null = none. */
    brandLogo: z.custom<BrandLogoSetting | null>(),
    /** The header's colour, #rrggbb; unset = the neutral header. */
    brandColour: z.string().regex(COLOUR_PATTERN, 'must be a colour written as #rrggbb (for example #00703c)').optional(),
    /** The SMTP server e-mail goes through (smtp:// or smtps://, credentials allowed); unset = the server log. */
    smtpUrl: z.string().regex(/^smtps?:\/\/[^/?#]+/, 'must be an smtp:// or smtps:// URL, e.g. smtp://user:password@mail.example.gov.uk:587').optional(),
    /** The From of every e-mail, e.g. "Records vault <no-reply@example.gov.uk>". */
    mailFrom: z.string().regex(/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/, 'must be an e-mail address, optionally with a name: "Records vault <no-reply@example.gov.uk>"').optional(),
    /** Security notices sent one by one to a person within a window; the rest go in one summary at its end (domain/mail/notice-limits.ts). */
    accountNoticesSingly: countSchema,
    /** How long a window of a person's security notices lasts, in minutes, from its first notice. */
    accountNoticeWindowMinutes: countSchema,
    /** Where people reach the service (https://vault.example.gov.uk): links in e-mail, the SAML entity id and reply URL. */
    publicUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// address, e.g. https://vault.example.gov.uk' }).transform((u) => u.replace(/\/+$/, '')).optional(),
  });

export type Config = Readonly<z.infer<typeof configSchema>>;

export interface ConfigInput {
  env: NodeJS.ProcessEnv;
  /** Values from command-line flags; these win over the environment. */
  flags?: Partial<Record<'data' | 'host' | 'port' | 'databaseUrl' | 'tlsCert' | 'tlsKey' | 'trustProxy' | 'clamd' | 'role', string | boolean | undefined>>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The main connection's cache when STRONGROOM_SQLITE_MAIN_CACHE_MIB is unset: its own default, but
 * never more than STRONGROOM_SQLITE_CACHE_MIB, which before the two were apart governed both
 * connections, so an operator who lowered it to save memory does not get more back.
 */
function defaultMainCacheMib(sharedSetting: string | undefined): number {
  const shared = Number(sharedSetting);
  return sharedSetting !== undefined && Number.isInteger(shared) && shared > 0 ? Math.min(shared, SQLITE_MAIN_CACHE_DEFAULT_MIB) : SQLITE_MAIN_CACHE_DEFAULT_MIB;
}

export function loadConfig({ env, flags = {} }: ConfigInput): Config {
  const dataDir = path.resolve(str(flags.data) ?? env.STRONGROOM_DATA ?? './data');
  const blobs = parseBlobsSetting(env.STRONGROOM_BLOBS);
  const offsiteDir = path.resolve(env.STRONGROOM_OFFSITE || defaultOffsiteDir(dataDir));
  const replica = parseReplicaSetting(env.STRONGROOM_REPLICA, offsiteDir);
  let replicaClash = false;
  if (replica.setting !== null && sameBlobPlace(replica.setting, blobs.setting, dataDir)) {
    // By default only when the offsite folder is the data directory (warned about at start-up): keep the two apart.
    if (!env.STRONGROOM_REPLICA?.trim()) replica.setting = { kind: 'folder', dir: path.join(offsiteDir, 'blobs-replica') };
    else replicaClash = true;
  }
  const brandLogo = parseBrandLogo(env.STRONGROOM_BRAND_LOGO);
  const trustProxy = parseTrustProxy(flags.trustProxy ?? env.STRONGROOM_TRUST_PROXY);
  const raw = {
    dataDir,
    host: str(flags.host) ?? env.STRONGROOM_HOST ?? '127.0.0.1',
    port: str(flags.port) ?? env.STRONGROOM_PORT ?? '8080',
    databaseUrl: str(flags.databaseUrl) ?? (env.STRONGROOM_DATABASE_URL || undefined),
    sqliteCacheMib: env.STRONGROOM_SQLITE_CACHE_MIB ?? String(SQLITE_CACHE_DEFAULT_MIB),
    sqliteMainCacheMib: env.STRONGROOM_SQLITE_MAIN_CACHE_MIB ?? String(defaultMainCacheMib(env.STRONGROOM_SQLITE_CACHE_MIB)),
    tlsCert: str(flags.tlsCert) ?? (env.STRONGROOM_TLS_CERT || undefined),
    tlsKey: str(flags.tlsKey) ?? (env.STRONGROOM_TLS_KEY || undefined),
    trustProxy: trustProxy.setting,
    clamd: str(flags.clamd) ?? (env.STRONGROOM_CLAMD || undefined),
    clamavDatabaseDir: env.STRONGROOM_CLAMAV_DATABASE_DIR || undefined,
    inlineScanMaxBytes: env.STRONGROOM_INLINE_SCAN_MAX_BYTES ?? String(64 * 1024 * 1024),
    // 128 MiB spooled, plus at most as much again unpacked from it (our clamd's MaxScanSize is
    // twice this): 256 MiB of tmpfs per scan, under the 300 MB a scan may hold whatever the file size.
    scanWholeMaxBytes: env.STRONGROOM_SCAN_WHOLE_MAX_BYTES ?? String(SCAN_WHOLE_DEFAULT_BYTES),
    // Far longer than any body signature we know of (EICAR is 68 bytes; ClamAV's longest fixed
    // patterns are a few KiB), for under 1% more bytes scanned.
    scanSegmentOverlapBytes: env.STRONGROOM_SCAN_SEGMENT_OVERLAP_BYTES ?? String(1024 * 1024),
    maxUploadBytes: env.STRONGROOM_MAX_UPLOAD_BYTES ?? String(16 * 1024 * 1024 * 1024),
    rescanDays: env.STRONGROOM_RESCAN_DAYS ?? '30',
    binDays: env.STRONGROOM_BIN_DAYS ?? '30',
    uploadsPerAccount: env.STRONGROOM_UPLOADS_PER_ACCOUNT ?? '4',
    uploadsPerClient: env.STRONGROOM_UPLOADS_PER_CLIENT ?? '8',
    uploadsPerOrganisation: env.STRONGROOM_UPLOADS_PER_ORGANISATION ?? '16',
    uploadsTotal: env.STRONGROOM_UPLOADS_TOTAL ?? '64',
    searchMsPerPerson: env.STRONGROOM_SEARCH_MS_PER_PERSON ?? '10000',
    searchMsPerOrganisation: env.STRONGROOM_SEARCH_MS_PER_ORGANISATION ?? '30000',
    searchWindowSeconds: env.STRONGROOM_SEARCH_WINDOW_SECONDS ?? '60',
    searchesAtOnce: env.STRONGROOM_SEARCHES_AT_ONCE ?? '4',
    searchTimeoutMs: env.STRONGROOM_SEARCH_TIMEOUT_MS ?? '5000',
    uploadIdleSeconds: env.STRONGROOM_UPLOAD_IDLE_SECONDS ?? '30',
    uploadMinBytesPerSecond: env.STRONGROOM_UPLOAD_MIN_BYTES_PER_SECOND ?? '1024',
    // Two minutes, or longer when bodies may idle longer (see shareProblems).
    connectionIdleSeconds: env.STRONGROOM_CONNECTION_IDLE_SECONDS ?? String(Math.max(120, (Number(env.STRONGROOM_UPLOAD_IDLE_SECONDS ?? 30) || 0) + 10)),
    // Our clamd's MaxQueue is 20 (see clamd.config.ts): 12, the scan jobs' streams among them, leaves room
    // for health checks, and no one organisation's uploads can take more than a third of it. Per account equals
    // the uploads one account may have open, so one person's parallel uploads are all scanned inline.
    scanStreamsPerAccount: env.STRONGROOM_SCAN_STREAMS_PER_ACCOUNT ?? '4',
    scanStreamsPerOrganisation: env.STRONGROOM_SCAN_STREAMS_PER_ORGANISATION ?? '4',
    scanStreamsTotal: env.STRONGROOM_SCAN_STREAMS_TOTAL ?? '12',
    // Two: a 16 GiB file's ten-minute scan no longer holds every other large upload unreadable behind it. Fewer
    // when the total is lowered (to fit a small tmpfs) to two or one: at least one stream stays for the uploads.
    scanJobsAtOnce: env.STRONGROOM_SCAN_JOBS_AT_ONCE ?? String(Math.max(1, Math.min(2, (Number(env.STRONGROOM_SCAN_STREAMS_TOTAL ?? 12) || 0) - 1))),
    masterKey: env.STRONGROOM_MASTER_KEY || undefined,
    auditCheckpointEvents: env.STRONGROOM_AUDIT_CHECKPOINT_EVENTS ?? '1000',
    auditCheckpointSeconds: env.STRONGROOM_AUDIT_CHECKPOINT_SECONDS ?? '10',
    auditOrigin: env.STRONGROOM_AUDIT_ORIGIN ?? 'strongroom.local/audit',
    offsiteDir,
    metricsToken: env.STRONGROOM_METRICS_TOKEN || undefined,
    logLevel: env.STRONGROOM_LOG_LEVEL ?? 'info',
    passwordHashing: env.STRONGROOM_PASSWORD_HASHING?.trim() || 'standard',
    role: str(flags.role) ?? env.STRONGROOM_ROLE ?? 'all',
    blobs: blobs.setting,
    replica: replica.setting,
    // Into the replica, so nothing to do without one (unless asked for explicitly: a problem, below).
    backupSchedule: env.STRONGROOM_BACKUP?.trim() || (replica.setting === null ? 'off' : 'daily'),
    backupHour: env.STRONGROOM_BACKUP_HOUR?.trim() || '1',
    backupKeep: env.STRONGROOM_BACKUP_KEEP?.trim() || '14',
    serviceName: env.STRONGROOM_SERVICE_NAME ?? 'Strongroom',
    brandName: env.STRONGROOM_BRAND_NAME?.trim() || undefined,
    brandLogo: brandLogo.setting,
    brandColour: env.STRONGROOM_BRAND_COLOUR?.trim() || undefined,
    smtpUrl: env.STRONGROOM_SMTP_URL?.trim() || undefined,
    mailFrom: env.STRONGROOM_MAIL_FROM?.trim() || undefined,
    accountNoticesSingly: env.STRONGROOM_ACCOUNT_NOTICES_SINGLY?.trim() || String(DEFAULT_NOTICE_LIMITS.singly),
    accountNoticeWindowMinutes: env.STRONGROOM_ACCOUNT_NOTICE_WINDOW_MINUTES?.trim() || String(DEFAULT_NOTICE_LIMITS.windowMinutes),
    publicUrl: env.STRONGROOM_PUBLIC_URL?.trim() || undefined,
  };
  const parsed = configSchema.safeParse(raw);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '');
        return `${ENV_NAMES[key] ?? key}: ${issue.message}`;
      });
  problems.push(...blobs.problems.map((problem) => `${ENV_NAMES.blobs}: ${problem}`));
  problems.push(...replica.problems.map((problem) => `${ENV_NAMES.replica}: ${problem}`));
  problems.push(...brandLogo.problems.map((problem) => `${ENV_NAMES.brandLogo}: ${problem}`));
  problems.push(...trustProxy.problems.map((problem) => `${ENV_NAMES.trustProxy}: ${problem}`));
  if (raw.backupSchedule === 'daily' && replica.setting === null) {
    problems.push(`${ENV_NAMES.backupSchedule}: a daily backup goes into the replica, and ${ENV_NAMES.replica} is none; set STRONGROOM_BACKUP=off or name a replica`);
  }
  if (raw.smtpUrl && (!raw.publicUrl || !raw.mailFrom)) {
    // Links in mail must point at the service people use, never at whatever Host a request named.
    if (!raw.publicUrl) problems.push(`${ENV_NAMES.publicUrl}: needed with ${ENV_NAMES.smtpUrl}, so links in e-mail point at the service (e.g. https://vault.example.gov.uk)`);
    if (!raw.mailFrom) problems.push(`${ENV_NAMES.mailFrom}: needed with ${ENV_NAMES.smtpUrl}: the address e-mail comes from, e.g. "Records vault <no-reply@example.gov.uk>"`);
  }
  if (replicaClash) {
    problems.push(`${ENV_NAMES.replica}: must not be where the blobs themselves are (${ENV_NAMES.blobs}): a replica in the same place protects nothing`);
  }
  // Checked by hand so it is reported together with the schema's problems, not after them.
  if (parsed.success) problems.push(...shareProblems(parsed.data));
  if (Boolean(raw.tlsCert) !== Boolean(raw.tlsKey)) problems.push('STRONGROOM_TLS_CERT / STRONGROOM_TLS_KEY: set both --tls-cert and --tls-key, or neither');
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(parsed.data);
}
