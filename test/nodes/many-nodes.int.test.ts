// Many nodes: two web processes (A, B) and two workers, real `strongroom serve --role …` processes
// each with a data directory of its own (copies of the same keys, as an operator would deploy
// them), over one PostgreSQL database and one S3 bucket (loopback s3rver). Whatever one node does,
// the next request to another node sees: documents, web sessions, WebDAV locks, a suspended
// arrangement. Each background job runs once across both workers. A SIGKILLed web node loses no
// acknowledged upload and leaves no version without its blob. PostgreSQL only: several processes on
// one SQLite file are not a supported deployment (docs/operations.md "Several nodes").
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanVersionJob } from '../../src/domain/jobs/kinds.js';
import { systemActor } from '../../src/services/identity.service.js';
import { listeningPort, spawnCli } from '../support/cli.js';
import { useClamd } from '../support/fixture.js';
import { S3RVER_CREDENTIALS, startLoopbackS3, type LoopbackS3 } from '../support/s3.js';
import { createOrganisation, createPartnership, openTestVault, type TestOrganisation, type TestUser, type TestVault } from '../support/vault.js';
import { FormClient } from '../ui/support.js';
import { streamedUpload, type UploadOutcome } from '../support/streamed-upload.js';

const clamd = useClamd();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Above the inline scan limit the nodes are given, so an upload is scanned by a background job. */
const INLINE_SCAN_MAX_BYTES = 64 * 1024;

interface Node {
  name: string;
  process: ChildProcess;
  base: string;
  said: () => string;
}

const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
let s3: LoopbackS3;
let t: TestVault;
let org: TestOrganisation;
let member: TestUser;
const scratch: string[] = [];
const nodes: Record<'a' | 'b' | 'worker1' | 'worker2', Node> = {} as never;
let nodeEnv: Record<string, string>;

async function startNode(name: string, role: 'web' | 'worker', env: Record<string, string>): Promise<Node> {
  // Each node its own data directory, holding copies of the keys only (as deployed from a secret store).
  const dataDir = await mkdtemp(path.join(tmpdir(), `sr-node-${name}-`));
  scratch.push(dataDir);
  await cp(path.join(t.dataDir, 'keys'), path.join(dataDir, 'keys'), { recursive: true });
  const child = spawnCli(['--data', dataDir, 'serve', '--port', '0', '--role', role], { env });
  let said = '';
  child.stderr?.on('data', (d: Buffer) => (said += d.toString()));
  const port = await listeningPort(child);
  return { name, process: child, base: `http://127.0.0.1:${port}`, said: () => said };
}

beforeAll(async () => {
  // Credentials from the environment only, as in production; the children inherit them.
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  s3 = await startLoopbackS3();
  const blobs = s3.blobsUrl(await s3.createBucket(), 'nodes');
  // Seeds the shared database (and makes the keys the nodes copy); it serves no requests itself.
  t = await openTestVault({ dialect: 'postgres', clamdSocket: clamd.socketPath, env: { STRONGROOM_BLOBS: blobs } });
  org = await createOrganisation(t.vault);
  member = await org.user({ teams: ['payroll'] });
  const offsite = await mkdtemp(path.join(tmpdir(), 'sr-nodes-offsite-'));
  scratch.push(offsite);
  const env = nodeEnv = {
    STRONGROOM_DATABASE_URL: t.vault.config.databaseUrl!, STRONGROOM_BLOBS: blobs, STRONGROOM_CLAMD: clamd.socketPath,
    STRONGROOM_LOG_LEVEL: 'warn', STRONGROOM_OFFSITE: offsite, STRONGROOM_INLINE_SCAN_MAX_BYTES: String(INLINE_SCAN_MAX_BYTES),
    STRONGROOM_UPLOADS_PER_ACCOUNT: '64', STRONGROOM_UPLOADS_PER_CLIENT: '64', STRONGROOM_UPLOADS_PER_ORGANISATION: '64',
  };
  const [a, b, worker1, worker2] = await Promise.all([
    startNode('a', 'web', env), startNode('b', 'web', env), startNode('worker1', 'worker', env), startNode('worker2', 'worker', env),
  ]);
  Object.assign(nodes, { a, b, worker1, worker2 });
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(nodes).map(async (node) => {
    if (node.process.exitCode !== null || node.process.signalCode !== null) return;
    const exited = new Promise((resolve) => node.process.once('exit', resolve));
    node.process.kill('SIGTERM');
    await exited;
  }));
  await t?.close();
  await s3?.stop();
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
  for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}, 60_000);

const bearer = (user: { token: string }) => ({ authorization: `Bearer ${user.token}` });

async function uploadTo(node: Node, user: TestUser, collectionId: string, name: string, body: Buffer): Promise<{ status: number; id?: string }> {
  const res = await fetch(`${node.base}/api/v1/collections/${collectionId}/documents?name=${encodeURIComponent(name)}`, {
    method: 'POST', headers: { ...bearer(user), 'content-type': 'application/octet-stream' }, body,
  });
  const text = await res.text();
  return res.status === 201 ? { status: 201, id: (JSON.parse(text) as { id: string }).id } : { status: res.status };
}

/** The content through `node` once a worker has scanned it (pending_scan answers 423 until then). */
async function contentVia(node: Node, user: TestUser, id: string): Promise<{ status: number; body: Buffer }> {
  for (let tries = 0; ; tries++) {
    const res = await fetch(`${node.base}/api/v1/documents/${id}/content`, { headers: bearer(user) });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 423 || tries >= 240) return { status: res.status, body };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('two web nodes and two workers on PostgreSQL and S3', () => {
  it('serves through B what was uploaded through A, byte-identical, scanned by a worker', { timeout: 60_000 }, async () => {
    const body = randomBytes(3 * INLINE_SCAN_MAX_BYTES + 17);
    const created = await uploadTo(nodes.a, member, org.collections.payroll!, 'from-a.bin', body);
    expect(created.status).toBe(201);
    const read = await contentVia(nodes.b, member, created.id!);
    expect(read.status).toBe(200);
    expect(sha256(read.body)).toBe(sha256(body));
  });

  it('honours on B a web session signed in on A, and a sign-out on B ends it on A', { timeout: 30_000 }, async () => {
    const onA = new FormClient(nodes.a.base);
    await onA.signIn(member.email);
    const onB = new FormClient(nodes.b.base);
    for (const [name, value] of onA.cookies) onB.cookies.set(name, value);
    const home = await onB.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Sign out');
    // A stranger's request to B without the cookie is sent to sign in.
    expect((await new FormClient(nodes.b.base).get('/')).location).toBe('/sign-in?next=%2F');

    const out = await onB.post('/sign-out', { _csrf: FormClient.csrf(home.text) });
    expect(out.status).toBe(303);
    const again = new FormClient(nodes.a.base);
    for (const [name, value] of onA.cookies) again.cookies.set(name, value);
    expect((await again.get('/')).location).toBe('/sign-in?next=%2F');
  });

  it('honours on B a WebDAV lock taken on A: a PUT without the token is 423, with it succeeds', { timeout: 30_000 }, async () => {
    const { secret } = await t.vault.credentials.createCredential(systemActor(), member.id, 'app_password', 'nodes test');
    const basic = `Basic ${Buffer.from(`${member.email}:${secret}`).toString('base64')}`;
    const url = `/dav/${org.slug}/payroll/locked-on-a.txt`;
    const put = (node: Node, body: string, headers: Record<string, string> = {}) =>
      fetch(`${node.base}${url}`, { method: 'PUT', headers: { authorization: basic, ...headers }, body });
    expect((await put(nodes.a, 'first\n')).status).toBe(201);
    const lock = await fetch(`${nodes.a.base}${url}`, {
      method: 'LOCK', headers: { authorization: basic, timeout: 'Second-600', 'content-type': 'application/xml' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>node a</D:owner></D:lockinfo>',
    });
    expect(lock.status).toBe(200);
    const token = lock.headers.get('lock-token');
    expect(token).toMatch(/^<.+>$/);

    expect((await put(nodes.b, 'sneaked in on b\n')).status).toBe(423);
    expect((await put(nodes.b, 'second, with the token\n', { if: `(${token!})` })).status).toBe(204);
    const got = await fetch(`${nodes.b.base}${url}`, { headers: { authorization: basic } });
    expect(await got.text()).toBe('second, with the token\n');
  });

  it('refuses on B, at the very next request, an arrangement suspended through A', { timeout: 30_000 }, async () => {
    const { host, partner, arrangement } = await createPartnership(t.vault, { accessLevel: 'read', ceiling: 'OFFICIAL-SENSITIVE' });
    const serving = await host.user({ teams: ['payroll'] });
    const partnerAdmin = await partner.user({ roles: ['org_admin'] });
    const listing = `${nodes.b.base}/api/v1/collections/${partner.collections.payroll}`;
    expect((await fetch(listing, { headers: bearer(serving) })).status).toBe(200);

    const suspended = await fetch(`${nodes.a.base}/api/v1/arrangements/${arrangement.id}/suspend`, { method: 'POST', headers: bearer(partnerAdmin) });
    expect(suspended.status).toBe(200);
    expect(((await suspended.json()) as { status: string }).status).toBe('suspended');

    const refused = await fetch(listing, { headers: bearer(serving) });
    expect(refused.status).toBe(404);
    expect(await refused.text()).toMatch(/not found/i);
  });

  it('runs each background scan once across the two workers', { timeout: 90_000 }, async () => {
    const uploads = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      uploadTo(i % 2 === 0 ? nodes.a : nodes.b, member, org.collections.payroll!, `scanned-${i}.bin`, randomBytes(2 * INLINE_SCAN_MAX_BYTES + i))));
    expect(uploads.map((u) => u.status)).toEqual(Array(8).fill(201));
    for (const u of uploads) expect((await contentVia(nodes.b, member, u.id!)).status).toBe(200);

    const db = t.vault.store.db;
    const versions = await db.selectFrom('versions').select(['id', 'scan_status']).where('document_id', 'in', uploads.map((u) => u.id!)).execute();
    expect(versions).toHaveLength(8);
    expect(versions.every((v) => v.scan_status === 'clean')).toBe(true);
    const jobs = await db.selectFrom('jobs').select(['payload', 'status', 'attempts']).where('kind', '=', scanVersionJob.kind).execute();
    const scans = await db.selectFrom('audit_events').select(['target_ids']).where('action', '=', 'scan.clean').execute();
    for (const v of versions) {
      const own = jobs.filter((j) => (JSON.parse(j.payload) as { versionId: string }).versionId === v.id);
      expect(own.map((j) => [j.status, j.attempts]), v.id).toEqual([['done', 1]]);
      expect(scans.filter((e) => e.target_ids.includes(v.id)), v.id).toHaveLength(1);
    }
  });

  it('leaves alone an upload in flight on A while another node starts on the same bucket', { timeout: 90_000 }, async () => {
    // 16 MiB: past 5 MiB the S3 store has a multipart upload open in the bucket, which a node that
    // cleaned all staging at start-up would abort under A's feet.
    const body = randomBytes(16 * 1024 * 1024);
    let started = false;
    const port = Number(new URL(nodes.a.base).port);
    const uploading = streamedUpload(port, member.token, org.collections.payroll!, 'in-flight.bin', body, (offset) => {
      if (offset < 7 * 1024 * 1024) return 0;
      return started || offset >= body.length - 1024 * 1024 ? 0 : 100;
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const c = await startNode('c', 'web', nodeEnv);
    started = true;
    try {
      const outcome = await uploading;
      expect(outcome.status).toBe(201);
      const read = await contentVia(nodes.b, member, outcome.id!);
      expect(read.status).toBe(200);
      expect(sha256(read.body)).toBe(sha256(body));
    } finally {
      const exited = new Promise((resolve) => c.process.once('exit', resolve));
      c.process.kill('SIGTERM');
      await exited;
    }
  });

  it('loses no acknowledged upload when A is SIGKILLed during 20, and leaves no version without its blob', { timeout: 120_000 }, async () => {
    const uploads = Array.from({ length: 20 }, (_, i) => ({ name: `killed-${String(i).padStart(2, '0')}.bin`, body: randomBytes(randomInt(200 * 1024, 1536 * 1024)) }));
    const port = Number(new URL(nodes.a.base).port);
    const pending = uploads.map((u) => slowUpload(port, member.token, org.collections.payroll!, u.name, u.body));
    // Kill once about a third are acknowledged, or after 5 s once at least one is.
    let acknowledged = 0;
    let waited = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        waited = true;
        if (acknowledged > 0) resolve();
      }, 5000);
      for (const p of pending) {
        void p.then((o) => {
          if (o.status !== 201) return;
          acknowledged++;
          if (acknowledged >= 7 || waited) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
    const exited = new Promise((resolve) => nodes.a.process.once('exit', resolve));
    nodes.a.process.kill('SIGKILL');
    await exited;
    const outcomes = await Promise.all(pending);
    const ok = outcomes.filter((o) => o.status === 201);
    expect(ok.length, 'some uploads were acknowledged before the kill').toBeGreaterThan(0);
    expect(outcomes.filter((o) => o.status !== 201).every((o) => o.status === 'error'), JSON.stringify(outcomes.map((o) => o.status))).toBe(true);

    for (const o of ok) {
      const read = await contentVia(nodes.b, member, o.id!);
      expect(read.status, o.name).toBe(200);
      expect(sha256(read.body), o.name).toBe(o.sha);
    }
    // No row without a blob: every version in the database, of any upload on any node, is in the bucket.
    const versions = await t.vault.store.db.selectFrom('versions').select(['id', 'blob_id', 'size']).execute();
    expect(versions.length).toBeGreaterThanOrEqual(ok.length);
    const inBucket = new Set<string>();
    for await (const id of t.vault.blobStore.list()) inBucket.add(id);
    expect(versions.filter((v) => !inBucket.has(v.blob_id)).map((v) => v.id)).toEqual([]);
    // B is still serving (and the kill left B's and the workers' own work alone).
    expect((await fetch(`${nodes.b.base}/readyz`)).status).toBe(200);
    expect(nodes.b.said()).not.toMatch(/removed unfinished uploads/);
  });

  it('shows on web node B the audit alarm a worker\'s signer raised', { timeout: 60_000 }, async () => {
    const ready = async () => (await (await fetch(`${nodes.b.base}/readyz`)).json()) as { status: string; checks: { audit: string } };
    expect((await ready()).checks.audit).toBe('ok');
    // What tampering does: the stored tree loses the nodes the sequencer needs to grow it.
    await t.vault.store.db.deleteFrom('audit_tree_nodes').execute();
    expect((await uploadTo(nodes.b, member, org.collections.payroll!, 'after-tampering.txt', Buffer.from('still recorded\n'))).status).toBe(201);
    let seen = await ready();
    for (let tries = 0; seen.checks.audit !== 'alarm' && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      seen = await ready();
    }
    // Web nodes stay ready (the council's work goes on), but say so, and so do their metrics.
    expect(seen).toMatchObject({ status: 'ready', checks: { audit: 'alarm' } });
    const metrics = await fetch(`${nodes.b.base}/metrics`);
    expect(await metrics.text()).toMatch(/^strongroom_audit_integrity_alarm 1$/m);
  });
});

/** Streams the body in 64 KiB pieces with small pauses, so uploads are genuinely in flight when the node dies. */
function slowUpload(port: number, token: string, collectionId: string, name: string, body: Buffer): Promise<UploadOutcome> {
  return streamedUpload(port, token, collectionId, name, body, () => randomInt(2, 15));
}

