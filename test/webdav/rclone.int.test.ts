// rclone as a real client: copy a tree of mixed files up, check it, copy it down, compare byte for byte.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { csv, docx, pdf, png, pseudoRandomBytes, xlsx } from '../support/samples.js';
import { DIALECTS } from '../support/vault.js';
import { createOrganisation, dav, davUser, openDavServer, type DavServer, type DavUser } from './support.js';

const run = promisify(execFile);

const clamd = useClamd();

async function files(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const rel = path.posix.join(prefix, e.name);
    if (e.isDirectory()) out.push(...(await files(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

describe.each(DIALECTS)('rclone on %s', (dialect) => {
  let s: DavServer;
  let user: DavUser;
  let slug: string;
  let work: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    s = await openDavServer(dialect, clamd.socketPath);
    const org = await createOrganisation(s.vault, { areas: { hr: 'OFFICIAL-SENSITIVE' } });
    slug = org.slug;
    user = await davUser(s.vault, org, { teams: ['hr'] });
    work = await mkdtemp(path.join(tmpdir(), 'sr-rclone-'));
    const { stdout: obscured } = await run('rclone', ['obscure', user.appPassword]);
    env = {
      ...process.env,
      RCLONE_CONFIG: path.join(work, 'rclone.conf'),
      RCLONE_CONFIG_SR_TYPE: 'webdav', RCLONE_CONFIG_SR_URL: `${s.base}/dav/${slug}/hr/`, RCLONE_CONFIG_SR_VENDOR: 'other',
      RCLONE_CONFIG_SR_USER: user.email, RCLONE_CONFIG_SR_PASS: obscured.trim(),
    };
  });
  afterAll(async () => {
    await s?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('copies a mixed tree up and down byte-identically (rclone copy + rclone check)', async () => {
    const up = path.join(work, 'up');
    const tree: Record<string, Buffer> = {
      'minutes.docx': docx(), 'budget/forecast.xlsx': xlsx(), 'budget/2026/ledger.csv': csv(), 'letters/reminder.pdf': pdf(),
      'letters/crest.png': png(), 'notes/empty.txt': Buffer.alloc(0), 'notes/unicode – £ é 雪.txt': Buffer.from('Grüße £5\n'),
      'data/random.bin': pseudoRandomBytes(3 * 1024 * 1024 + 17), 'data/with space & (brackets).txt': Buffer.from('x'.repeat(1000)),
    };
    for (const [rel, body] of Object.entries(tree)) {
      await mkdir(path.dirname(path.join(up, rel)), { recursive: true });
      await writeFile(path.join(up, rel), body);
    }
    await run('rclone', ['copy', up, 'sr:upload'], { env, timeout: 120_000 });
    // --download compares content, not just sizes (the server offers no hashes rclone understands).
    const check = await run('rclone', ['check', '--download', up, 'sr:upload'], { env, timeout: 120_000 }).catch((e: { stderr: string }) => ({ stderr: e.stderr, failed: true }));
    expect('failed' in check, check.stderr).toBe(false);
    expect(check.stderr).toMatch(/0 differences found/);

    const down = path.join(work, 'down');
    await run('rclone', ['copy', 'sr:upload', down], { env, timeout: 120_000 });
    expect(await files(down)).toEqual(await files(up));
    for (const rel of Object.keys(tree)) expect((await readFile(path.join(down, rel))).equals(tree[rel]!), rel).toBe(true);

    // A second copy is a no-op, and a changed file becomes a new version, not a new document.
    await writeFile(path.join(up, 'minutes.docx'), docx('Minutes, amended'));
    await run('rclone', ['copy', up, 'sr:upload'], { env, timeout: 120_000 });
    const listing = await dav(s.base, 'PROPFIND', `/dav/${slug}/hr/upload/`, { user, headers: { depth: '1' } });
    expect(listing.status).toBe(207);
    const doc = (await s.vault.store.repos.collections.listByOrganisation((await s.vault.organisations.organisationBySlug(slug)).id)).find((c) => c.name === 'upload')!;
    const minutes = await s.vault.store.repos.documents.byName(doc.id, 'minutes.docx');
    expect(minutes?.currentVersion).toBe(2);
  });
});
