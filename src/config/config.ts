// Configuration: flags and environment parsed once by main.ts into a frozen, typed Config.
// Every problem is reported at once, so an operator fixes them in one go.
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { COLOUR_PATTERN, LOGO_MAX_BYTES, logoProblems, logoType, type LogoType } from '../domain/branding/brand.js';
import { DEFAULT_NOTICE_LIMITS } from '../domain/mail/notice-limits.js';

const MIB = 1024 * 1024;
/** 64 MiB held the whole working set of a 100,000-document search index; 32 MiB did not (performance.md). */
export const SQLITE_CACHE_DEFAULT_MIB = 64;
export const SCAN_WHOLE_DEFAULT_BYTES = 128 * MIB;
const SCAN_WHOLE_MIN_BYTES = MIB;
const SCAN_WHOLE_MAX_BYTES = 1023 * MIB;
const SCAN_OVERLAP_MIN_BYTES = 4096;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const sizeSchema = z.coerce.number({ error: 'must be a number of bytes' }).int('must be a whole number').positive('must be more than 0');
const countSchema = z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').positive('must be more than 0');
const rateSchema = z.coerce.number({ error: 'must be a number of bytes a second' }).int('must be a whole number').min(0, 'must be 0 (no minimum) or more');

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
     * Pages the embedded database keeps decrypted in memory. Every page read past this cache is
     * decrypted again; search over a large index reads tens of MB per query (docs/performance.md).
     */
    sqliteCacheMib: countSchema,
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

/**
 * STRONGROOM_TRUST_PROXY (--trust-proxy): the reverse proxies in front, never "everyone". `hops`: that
 * many proxies, each appending to X-Forwarded-For, so the client is the entry that many from the
 * right (1: the right-most, the address the one proxy saw). `addresses`: only a connection from one
 * of these (addresses, CIDRs, or loopback/linklocal/uniquelocal) is a proxy, and the client is the
 * right-most entry not itself one of them. Either way the entries a client wrote itself, on the left,
 * are never taken.
 */
export type TrustedProxies = { hops: number } | { addresses: readonly string[] };

/** STRONGROOM_BRAND_LOGO after its check: the file and what its content says it is. */
export interface BrandLogoSetting { file: string; type: LogoType }

/**
 * STRONGROOM_BLOBS: a folder path, or s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true.
 * Never credentials: the S3 client takes those from the environment (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, a profile, or an instance role), so they stay out of URLs, logs and `ps`.
 */
export type BlobsSetting =
  /** `dir` unset: the data directory's own layout (<data>/blobs, staged in <data>/tmp). */
  | { kind: 'folder'; dir?: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle: boolean };

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

const ENV_NAMES: Record<string, string> = {
  dataDir: 'STRONGROOM_DATA (--data)',
  host: 'STRONGROOM_HOST (--host)',
  port: 'STRONGROOM_PORT (--port)',
  databaseUrl: 'STRONGROOM_DATABASE_URL',
  sqliteCacheMib: 'STRONGROOM_SQLITE_CACHE_MIB',
  tlsCert: 'STRONGROOM_TLS_CERT (--tls-cert)',
  tlsKey: 'STRONGROOM_TLS_KEY (--tls-key)',
  trustProxy: 'STRONGROOM_TRUST_PROXY (--trust-proxy)',
  clamd: 'STRONGROOM_CLAMD',
  clamavDatabaseDir: 'STRONGROOM_CLAMAV_DATABASE_DIR',
  inlineScanMaxBytes: 'STRONGROOM_INLINE_SCAN_MAX_BYTES',
  scanWholeMaxBytes: 'STRONGROOM_SCAN_WHOLE_MAX_BYTES',
  scanSegmentOverlapBytes: 'STRONGROOM_SCAN_SEGMENT_OVERLAP_BYTES',
  maxUploadBytes: 'STRONGROOM_MAX_UPLOAD_BYTES',
  rescanDays: 'STRONGROOM_RESCAN_DAYS',
  binDays: 'STRONGROOM_BIN_DAYS',
  uploadsPerAccount: 'STRONGROOM_UPLOADS_PER_ACCOUNT',
  uploadsPerClient: 'STRONGROOM_UPLOADS_PER_CLIENT',
  uploadsPerOrganisation: 'STRONGROOM_UPLOADS_PER_ORGANISATION',
  uploadsTotal: 'STRONGROOM_UPLOADS_TOTAL',
  searchMsPerPerson: 'STRONGROOM_SEARCH_MS_PER_PERSON',
  searchMsPerOrganisation: 'STRONGROOM_SEARCH_MS_PER_ORGANISATION',
  searchWindowSeconds: 'STRONGROOM_SEARCH_WINDOW_SECONDS',
  searchesAtOnce: 'STRONGROOM_SEARCHES_AT_ONCE',
  searchTimeoutMs: 'STRONGROOM_SEARCH_TIMEOUT_MS',
  uploadIdleSeconds: 'STRONGROOM_UPLOAD_IDLE_SECONDS',
  uploadMinBytesPerSecond: 'STRONGROOM_UPLOAD_MIN_BYTES_PER_SECOND',
  connectionIdleSeconds: 'STRONGROOM_CONNECTION_IDLE_SECONDS',
  scanStreamsPerAccount: 'STRONGROOM_SCAN_STREAMS_PER_ACCOUNT',
  scanStreamsPerOrganisation: 'STRONGROOM_SCAN_STREAMS_PER_ORGANISATION',
  scanStreamsTotal: 'STRONGROOM_SCAN_STREAMS_TOTAL',
  masterKey: 'STRONGROOM_MASTER_KEY',
  auditCheckpointEvents: 'STRONGROOM_AUDIT_CHECKPOINT_EVENTS',
  auditCheckpointSeconds: 'STRONGROOM_AUDIT_CHECKPOINT_SECONDS',
  auditOrigin: 'STRONGROOM_AUDIT_ORIGIN',
  offsiteDir: 'STRONGROOM_OFFSITE',
  metricsToken: 'STRONGROOM_METRICS_TOKEN',
  logLevel: 'STRONGROOM_LOG_LEVEL',
  passwordHashing: 'STRONGROOM_PASSWORD_HASHING',
  role: 'STRONGROOM_ROLE',
  blobs: 'STRONGROOM_BLOBS',
  replica: 'STRONGROOM_REPLICA',
  backupSchedule: 'STRONGROOM_BACKUP',
  backupHour: 'STRONGROOM_BACKUP_HOUR',
  backupKeep: 'STRONGROOM_BACKUP_KEEP',
  serviceName: 'STRONGROOM_SERVICE_NAME',
  brandName: 'STRONGROOM_BRAND_NAME',
  brandLogo: 'STRONGROOM_BRAND_LOGO',
  brandColour: 'STRONGROOM_BRAND_COLOUR',
  smtpUrl: 'STRONGROOM_SMTP_URL',
  mailFrom: 'STRONGROOM_MAIL_FROM',
  accountNoticesSingly: 'STRONGROOM_ACCOUNT_NOTICES_SINGLY',
  accountNoticeWindowMinutes: 'STRONGROOM_ACCOUNT_NOTICE_WINDOW_MINUTES',
  publicUrl: 'STRONGROOM_PUBLIC_URL',
};

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

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
    // Our clamd's MaxQueue is 20 (see clamd.supervisor.ts): 12 leaves room for the scan job and
    // health checks, and no one organisation can take more than a third of it. Per account equals
    // the uploads one account may have open, so one person's parallel uploads are all scanned inline.
    scanStreamsPerAccount: env.STRONGROOM_SCAN_STREAMS_PER_ACCOUNT ?? '4',
    scanStreamsPerOrganisation: env.STRONGROOM_SCAN_STREAMS_PER_ORGANISATION ?? '4',
    scanStreamsTotal: env.STRONGROOM_SCAN_STREAMS_TOTAL ?? '12',
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

/** A share larger than the whole would let one party take everything, which the limits exist to stop. */
function shareProblems(c: z.infer<typeof configSchema>): string[] {
  const problems: string[] = [];
  const within = (part: keyof typeof c, whole: keyof typeof c): void => {
    if ((c[part] as number) > (c[whole] as number)) problems.push(`${ENV_NAMES[part]}: must not be more than ${ENV_NAMES[whole]} (${String(c[whole])})`);
  };
  within('uploadsPerAccount', 'uploadsPerOrganisation');
  within('uploadsPerClient', 'uploadsTotal');
  within('uploadsPerOrganisation', 'uploadsTotal');
  within('searchMsPerPerson', 'searchMsPerOrganisation');
  within('scanStreamsPerAccount', 'scanStreamsPerOrganisation');
  within('scanStreamsPerOrganisation', 'scanStreamsTotal');
  if (c.scanWholeMaxBytes < SCAN_WHOLE_MIN_BYTES || c.scanWholeMaxBytes > SCAN_WHOLE_MAX_BYTES) {
    problems.push(`${ENV_NAMES.scanWholeMaxBytes}: must be from 1 MiB to 1023 MiB (our clamd may unpack twice this from one stream, and clamd cannot scan past 2 GiB)`);
  } else if (c.scanSegmentOverlapBytes < SCAN_OVERLAP_MIN_BYTES || c.scanSegmentOverlapBytes * 4 > c.scanWholeMaxBytes) {
    problems.push(`${ENV_NAMES.scanSegmentOverlapBytes}: must be from 4 KiB to a quarter of ${ENV_NAMES.scanWholeMaxBytes} (${c.scanWholeMaxBytes / 4} bytes)`);
  }
  // Bodies have their own, shorter deadlines (the slow-body guard waits the upload idle time and 5 s
  // more), and they must come first: a body's 408 would otherwise be a bare close.
  if (c.connectionIdleSeconds < c.uploadIdleSeconds + 10) {
    problems.push(`${ENV_NAMES.connectionIdleSeconds}: must be at least ${ENV_NAMES.uploadIdleSeconds} + 10 (${c.uploadIdleSeconds + 10}), so a stalled request body is answered before its connection is closed`);
  }
  if (c.scanStreamsPerOrganisation === c.scanStreamsTotal && c.scanStreamsTotal > 1) {
    problems.push(`${ENV_NAMES.scanStreamsPerOrganisation}: must be less than ${ENV_NAMES.scanStreamsTotal}, or one organisation could take every scanner stream`);
  }
  return problems;
}

/**
 * STRONGROOM_BRAND_LOGO: a PNG or SVG file, read now so a missing, oversized or mislabelled logo
 * stops the start with the other problems rather than showing a broken image to every visitor.
 */
export function parseBrandLogo(value: string | undefined): { setting: BrandLogoSetting | null; problems: string[] } {
  if (value === undefined || value.trim() === '') return { setting: null, problems: [] };
  const file = path.resolve(value.trim());
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return { setting: null, problems: [`${file} is not a file`] };
    size = stat.size;
  } catch {
    return { setting: null, problems: [`no file at ${file}`] };
  }
  if (size > LOGO_MAX_BYTES) return { setting: null, problems: [`the logo must be 200 KB or smaller (${file} is ${Math.ceil(size / 1024)} KB)`] };
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    return { setting: null, problems: [`cannot read ${file}: ${(err as Error).message}`] };
  }
  const problems = logoProblems(bytes, true);
  const type = logoType(bytes);
  return problems.length > 0 || type === null ? { setting: null, problems } : { setting: { file, type }, problems: [] };
}

const S3_URL = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/;
/** S3's rules for bucket names (3–63 lower-case letters, digits, dots, hyphens; a letter or digit at each end). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_PARAMETERS = new Set(['endpoint', 'region', 'forcePathStyle']);

const MAX_PROXY_HOPS = 10;
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * STRONGROOM_TRUST_PROXY (or --trust-proxy, with or without a value) → the proxies trusted. `1` and
 * `true`, which once meant "trust every hop", now mean one proxy in front: the same deployment, minus
 * a client's own X-Forwarded-For entries. Unset, `0` or `false`: none.
 */
export function parseTrustProxy(value: string | boolean | undefined): { setting: TrustedProxies | null; problems: string[] } {
  if (value === undefined || value === false) return { setting: null, problems: [] };
  const text = value === true ? '1' : value.trim().toLowerCase();
  if (text === '' || text === '0' || text === 'false') return { setting: null, problems: [] };
  if (text === 'true') return { setting: { hops: 1 }, problems: [] };
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= MAX_PROXY_HOPS
      ? { setting: { hops }, problems: [] }
      : { setting: null, problems: [`${hops} proxies in a row is not a deployment we can believe: give from 1 to ${MAX_PROXY_HOPS}, or the proxies' addresses`] };
  }
  const addresses = text.split(',').map((a) => a.trim()).filter((a) => a !== '');
  const bad = addresses.filter((a) => !PROXY_RANGE_NAMES.has(a) && !isAddressOrCidr(a));
  if (bad.length > 0) {
    return { setting: null, problems: [`${bad.join(', ')}: not an IP address or CIDR range; give how many proxies are in front (e.g. 1), or their addresses (e.g. 127.0.0.1,10.0.0.0/24)`] };
  }
  return { setting: { addresses }, problems: [] };
}

function isAddressOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** STRONGROOM_BLOBS → where blobs live, and every problem with it (all at once, as for the rest). */
export function parseBlobsSetting(value: string | undefined): { setting: BlobsSetting; problems: string[] } {
  if (value === undefined || value.trim() === '') return { setting: { kind: 'folder' }, problems: [] };
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { setting: { kind: 'folder', dir: path.resolve(value) }, problems: [] };
  const match = S3_URL.exec(value);
  if (!match) return { setting: { kind: 'folder' }, problems: ['must be a folder path or s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true'] };
  const problems: string[] = [];
  const authority = match[1] ?? '';
  if (authority.includes('@')) problems.push('must not carry credentials: remove them from the URL and set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment instead');
  const bucket = authority.slice(authority.lastIndexOf('@') + 1);
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) problems.push(`"${bucket}" is not a valid bucket name (3 to 63 lower-case letters, digits, dots and hyphens)`);
  let prefix = '';
  try {
    prefix = decodeURIComponent(match[2] ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  } catch {
    problems.push('the prefix after the bucket is not valid URL encoding');
  }
  const setting: BlobsSetting = { kind: 's3', bucket, prefix: prefix === '' ? '' : `${prefix}/`, forcePathStyle: false };
  const query = new URLSearchParams(match[3] ?? '');
  for (const name of new Set(query.keys())) {
    if (!S3_PARAMETERS.has(name)) {
      problems.push(/key|secret|token|password|credential/i.test(name)
        ? `must not carry credentials ("${name}"): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment instead`
        : `unknown setting "${name}" (known: endpoint, region, forcePathStyle)`);
    }
  }
  const endpoint = query.get('endpoint');
  if (endpoint !== null) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
      problems.push(`endpoint "${endpoint}" must be an http:// or https:// URL without credentials`);
    } else {
      setting.endpoint = endpoint;
    }
  }
  const region = query.get('region');
  if (region !== null) {
    if (/^[a-z0-9-]{1,64}$/i.test(region)) setting.region = region;
    else problems.push(`region "${region}" must be a region name such as eu-west-2`);
  }
  const pathStyle = query.get('forcePathStyle');
  if (pathStyle !== null) {
    if (pathStyle === 'true' || pathStyle === 'false') setting.forcePathStyle = pathStyle === 'true';
    else problems.push('forcePathStyle must be true or false');
  }
  return { setting, problems };
}

/**
 * STRONGROOM_REPLICA: unset → a folder `blobs` in the offsite folder (so `make run` keeps a second
 * copy beside the data directory); `none` turns replication off; otherwise parsed as STRONGROOM_BLOBS.
 */
export function parseReplicaSetting(value: string | undefined, offsiteDir: string): { setting: BlobsSetting | null; problems: string[] } {
  if (value === undefined || value.trim() === '') return { setting: { kind: 'folder', dir: path.join(offsiteDir, 'blobs') }, problems: [] };
  if (value.trim().toLowerCase() === 'none') return { setting: null, problems: [] };
  return parseBlobsSetting(value);
}

function sameBlobPlace(replica: BlobsSetting, blobs: BlobsSetting, dataDir: string): boolean {
  if (replica.kind === 'folder' && blobs.kind === 'folder') return path.resolve(replica.dir ?? path.join(dataDir, 'blobs')) === path.resolve(blobs.dir ?? path.join(dataDir, 'blobs'));
  if (replica.kind === 's3' && blobs.kind === 's3') return replica.bucket === blobs.bucket && replica.prefix === blobs.prefix && replica.endpoint === blobs.endpoint;
  return false;
}

/**
 * Beside the data directory, not in it (`/srv/strongroom` → `/srv/strongroom-offsite`): restoring,
 * copying or wiping the data directory leaves the audit checkpoints that would betray it alone.
 * Still the same disk, so production points STRONGROOM_OFFSITE at another disk or host.
 */
export function defaultOffsiteDir(dataDir: string): string {
  const parent = path.dirname(dataDir);
  // A data directory at the filesystem root has no sibling to use; a child named apart is the best left.
  return parent === dataDir ? path.join(dataDir, 'strongroom-offsite') : path.join(parent, `${path.basename(dataDir)}-offsite`);
}

/** Whether the offsite folder sits in (or is) the data directory it is meant to protect. */
export function offsiteInsideDataDir(config: Pick<Config, 'dataDir' | 'offsiteDir'>): boolean {
  const relative = path.relative(config.dataDir, config.offsiteDir);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/**
 * Data in transit must be protected: off loopback we need TLS here, or an operator's
 * explicit word that a TLS-terminating proxy is in front.
 */
export function listenProblems(config: Config): string[] {
  if (LOOPBACK.has(config.host)) return [];
  if (config.tlsCert && config.tlsKey) return [];
  if (config.trustProxy) return [];
  return [
    `refusing to listen on ${config.host} without TLS: give --tls-cert and --tls-key, or --trust-proxy if a TLS-terminating proxy is in front`,
  ];
}
