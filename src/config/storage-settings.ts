// Where blobs live (STRONGROOM_BLOBS), their offsite replica (STRONGROOM_REPLICA) and the offsite folder
// (STRONGROOM_OFFSITE): parsed and checked for loadConfig, which reports every problem at once.
import path from 'node:path';
import type { Config } from './config.js';

/**
 * STRONGROOM_BLOBS: a folder path, or s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=true.
 * Never credentials: the S3 client takes those from the environment (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, a profile, or an instance role), so they stay out of URLs, logs and `ps`.
 */
export type BlobsSetting =
  /** `dir` unset: the data directory's own layout (<data>/blobs, staged in <data>/tmp). */
  | { kind: 'folder'; dir?: string }
  | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; region?: string; forcePathStyle: boolean };

const S3_URL = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/;
/** S3's rules for bucket names (3–63 lower-case letters, digits, dots, hyphens; a letter or digit at each end). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const S3_PARAMETERS = new Set(['endpoint', 'region', 'forcePathStyle']);

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

export function sameBlobPlace(replica: BlobsSetting, blobs: BlobsSetting, dataDir: string): boolean {
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
