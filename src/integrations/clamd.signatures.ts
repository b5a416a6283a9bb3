// The signature databases our clamd loads: our shipped ones (assets/clamav) and, when enabled,
// freshclam's official ones, copied into clamd's database directory only when changed; and the
// digest of ours that makes a change to them count as a new scanner version.
import { constants as fsConstants, readdirSync, readFileSync } from 'node:fs';
import { chmod, copyFile, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';

/** The formats we ship (hash, body and logical signatures, ignore and allow lists). */
const OUR_DATABASE = /\.(ndb|hdb|hsb|ldb|ign2|fp|sfp)$/;
const OFFICIAL_DATABASE = /\.(cvd|cld|cud)$/;

export interface SignatureSources {
  /** Our shipped signatures. */
  signaturesDir: string;
  /** freshclam's directory (e.g. /var/lib/clamav), or undefined for ours only. */
  officialDatabaseDir?: string | undefined;
  /** clamd's DatabaseDirectory, which ends up holding exactly the wanted files. */
  databaseDir: string;
  warn(obj: object, msg: string): void;
}

/** Makes `databaseDir` hold exactly our signatures (plus the official ones, if enabled); returns their digest. */
export async function syncSignatureDatabases(s: SignatureSources): Promise<string> {
  const wanted = new Map<string, string>();
  let ours: string[];
  try {
    ours = await readdir(s.signaturesDir);
  } catch (error) {
    throw new Error(`cannot read the shipped ClamAV signatures in ${s.signaturesDir}`, { cause: error });
  }
  for (const name of ours) if (OUR_DATABASE.test(name)) wanted.set(name, path.join(s.signaturesDir, name));
  if (wanted.size === 0) throw new Error(`no signature databases (*.ndb, *.hdb …) in ${s.signaturesDir}`);
  if (s.officialDatabaseDir) {
    let official: string[] = [];
    try {
      official = (await readdir(s.officialDatabaseDir)).filter((n) => OFFICIAL_DATABASE.test(n));
    } catch (error) {
      s.warn({ dir: s.officialDatabaseDir, error: String(error) }, 'official ClamAV databases not readable; using ours only');
    }
    if (official.length === 0) {
      s.warn({ dir: s.officialDatabaseDir }, 'no official ClamAV databases found (has freshclam run?); using ours only');
    }
    for (const name of official) wanted.set(name, path.join(s.officialDatabaseDir, name));
  }
  for (const name of await readdir(s.databaseDir)) {
    if (!wanted.has(name)) await rm(path.join(s.databaseDir, name), { recursive: true, force: true });
  }
  for (const [name, source] of wanted) {
    const target = path.join(s.databaseDir, name);
    const from = await stat(source);
    const to = await stat(target).catch(() => undefined);
    // Official databases run to hundreds of MB: copy only what changed.
    if (to && to.size === from.size && to.mtimeMs === from.mtimeMs) continue;
    // Copy beside, then rename: clamd's SelfCheck must never load a half-written database.
    const partial = path.join(s.databaseDir, `.${name}.partial`);
    await copyFile(source, partial, fsConstants.COPYFILE_FICLONE);
    await chmod(partial, 0o600);
    await utimes(partial, from.atime, from.mtime);
    await rename(partial, target);
  }
  return digestSignatures(s.signaturesDir);
}

/**
 * "strongroom-" + 12 hex digits of SHA-256 over our signature files' names and contents (a few KB).
 * clamd's VERSION only reports the official databases, so without it a change to strongroom.ndb
 * would not trigger rescans.
 */
export function digestSignatures(dir: string): string {
  const digest = createHash('sha256');
  for (const name of readdirSync(dir).filter((n) => OUR_DATABASE.test(n)).sort()) {
    digest.update(name).update('\0').update(readFileSync(path.join(dir, name)));
  }
  return `strongroom-${digest.digest('hex').slice(0, 12)}`;
}
