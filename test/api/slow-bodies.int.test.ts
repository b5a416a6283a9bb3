// Every request body the server waits for has a deadline, whoever reads it: a JSON body Fastify
// parses (before any sign-in is checked), a web form, a WebDAV XML body. A client that stops
// sending is answered 408 and cut off, and what it sent is never acted on, even a JSON body that
// was whole but for the chunked encoding's last chunk. Readers that act piece by piece answer first,
// with their own deadlines: uploads (test/malware/fair-uploads.int.test.ts), and the web upload form,
// whose answer lists the files it stored before the client stopped.
import { connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../src/services/identity.service.js';
import { useClamd, useTestVault } from '../support/fixture.js';
import { api } from '../support/http.js';
import { DIALECTS, createOrganisation, upload, type TestOrganisation, type TestUser } from '../support/vault.js';
import { davUser, type DavUser } from '../webdav/support.js';
import { FormClient, PASSWORD, addPerson, enrolTotp } from '../ui/support.js';

const clamd = useClamd();
const IDLE_SECONDS = 1;
/** The upload idle limit plus the guard's margin over it. */
const GUARD_SECONDS = IDLE_SECONDS + 5;
/** A connection on which nothing moves for this long is closed (at least the upload idle limit + 10). */
const CONNECTION_IDLE_SECONDS = IDLE_SECONDS + 10;

interface Stalled {
  received: string;
  /** When the answer began, and when the server closed the connection (ms after connecting). */
  answeredAfterMs: number;
  closedAfterMs: number;
}

/** An HTTP answer's status and body, from the raw bytes of one response. */
function answerOf(raw: string): { status: number; body: string } {
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
}

/** Sends `head` and `sent`, then nothing more, never closing its side; resolves once the server has closed the connection. */
function stall(port: number, head: string, sent: string): Promise<Stalled> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    let answeredAfterMs = -1;
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(head + sent));
    socket.on('data', (d: Buffer) => {
      if (answeredAfterMs < 0) answeredAfterMs = Date.now() - started;
      chunks.push(d);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received: Buffer.concat(chunks).toString(), answeredAfterMs, closedAfterMs: Date.now() - started }));
    socket.setTimeout(30_000, () => reject(new Error('the server never closed the connection')));
  });
}

function problemOf(answer: Stalled): Record<string, unknown> {
  expect(answer.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  expect(answer.received).toContain('Connection: close');
  expect(answer.received).toContain('Content-Type: application/problem+json');
  return JSON.parse(answer.received.slice(answer.received.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe.each(DIALECTS)('slow request bodies on %s', (dialect) => {
  const t = useTestVault(dialect, clamd, {
    listen: true, env: { STRONGROOM_UPLOAD_IDLE_SECONDS: String(IDLE_SECONDS), STRONGROOM_CONNECTION_IDLE_SECONDS: String(CONNECTION_IDLE_SECONDS) },
  });
  let port: number;
  let org: TestOrganisation;
  let clerk: TestUser;
  let davClerk: DavUser;
  beforeAll(async () => {
    port = (t.app.server.address() as AddressInfo).port;
    org = await createOrganisation(t.vault);
    clerk = await org.user({ teams: ['payroll'] });
    davClerk = await davUser(t.vault, org, { teams: ['payroll'] });
  });

  it('answers 408 to bodies that stop arriving on every interface, cuts them off, and acts on none of them', { timeout: 40_000 }, async () => {
    const payroll = org.collections.payroll!;
    const json = (name: string) => JSON.stringify({ name, parentId: payroll, serviceArea: 'payroll', classification: 'OFFICIAL' });
    const chunked = (body: string) => `${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`;
    const stalled = await Promise.all([
      // A whole JSON body but for the chunked encoding's last chunk: were the reader to take it as ended, the folder would be made.
      stall(port, `POST /api/v1/collections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${clerk.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`, chunked(json('Stalled folder'))),
      // No sign-in at all: the body is read before any credential is checked, so anyone can try this.
      stall(port, 'POST /api/v1/collections HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n', '{"name":'),
      stall(port, 'POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\n', 'email=a'),
      stall(port, `PROPPATCH /dav/${org.slug}/payroll/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${davClerk.basic}\r\nContent-Type: application/xml\r\nContent-Length: 500\r\n\r\n`, '<?xml version="1.0"?>'),
    ]);
    for (const answer of stalled) {
      expect(problemOf(answer)).toMatchObject({
        type: 'https://strongroom.local/problems/timeout', status: 408,
        detail: `The request stopped: no data arrived for ${GUARD_SECONDS} seconds. Nothing was changed; try again.`,
      });
      expect(answer.closedAfterMs).toBeGreaterThanOrEqual(GUARD_SECONDS * 1000);
      expect(answer.closedAfterMs).toBeLessThan(GUARD_SECONDS * 1000 + 5_000);
    }
    const children = async () => (await t.vault.collections.get(systemActor(), payroll)).children.map((c) => c.name);
    expect(await children()).toEqual([]);

    // The same request, finished, does make the folder: the one above was refused for its stall alone.
    const made = await api(t.app, clerk).post('collections', JSON.parse(json('Finished folder')) as Record<string, unknown>);
    expect(made.statusCode, made.body).toBe(201);
    expect(await children()).toEqual(['Finished folder']);
  });

  it('answers a web upload form that stops inside or between its files with what it stored, not "nothing was changed"', { timeout: 40_000 }, async () => {
    const member = await addPerson(t.vault, org.slug, { teams: ['payroll'] });
    const client = new FormClient(`http://127.0.0.1:${port}`);
    await client.signIn(member.email);
    const page = await client.get(`/upload?collection=${org.collections.payroll}`);
    const boundary = '----srstall';
    const field = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const file = (name: string, content: string) => `--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n${content}`;
    const head = [
      'POST /upload HTTP/1.1', 'Host: x', 'Accept: application/json',
      `Cookie: ${[...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}`,
      `Content-Type: multipart/form-data; boundary=${boundary}`, 'Content-Length: 100000', '', '',
    ].join('\r\n');
    const start = field('_csrf', FormClient.csrf(page.text)) + field('collectionId', org.collections.payroll!);
    const [inside, between] = await Promise.all([
      stall(port, head, start + file('first-inside.txt', 'Stored whole.') + '\r\n' + file('second-inside.txt', 'Half of it')),
      // The next part's boundary ends the first file; its headers never finish.
      stall(port, head, start + file('first-between.txt', 'Stored whole.') + `\r\n--${boundary}\r\nContent-Disposition: form-da`),
    ]);
    for (const [answer, name, last, reason] of [
      // Inside a file, the file's own upload deadline answers; between files, the guard's, handed to the form.
      [inside, 'first-inside.txt', 'second-inside.txt', `The upload stopped: no data arrived for ${IDLE_SECONDS} seconds. Nothing was stored; try again.`],
      [between, 'first-between.txt', 'The rest of the form', `The upload stopped: no data arrived for ${GUARD_SECONDS} seconds. The files not listed as uploaded were not stored; upload them again.`],
    ] as const) {
      const { status, body } = answerOf(answer.received);
      expect(status, answer.received).toBe(200);
      expect(answer.received).toMatch(/\r\nconnection: close\r\n/i);
      const files = (JSON.parse(body) as { files: { name: string; ok: boolean; message: string }[] }).files;
      expect(files.map((f) => [f.name, f.ok])).toEqual([[name, true], [last, false]]);
      expect(files[1]!.message).toBe(reason);
    }
    const stored = (await api(t.app, clerk).get(`collections/${org.collections.payroll}`)).json().documents.map((d: { name: string }) => d.name).sort();
    expect(stored).toEqual(['first-between.txt', 'first-inside.txt']);
  });

  it('answers a branding form whose logo stops arriving, changing nothing, and refuses someone who may not brand before reading their form', { timeout: 40_000 }, async () => {
    const signedIn = async (roles: string[]) => {
      const person = await addPerson(t.vault, org.slug, { roles });
      const client = new FormClient(`http://127.0.0.1:${port}`);
      await client.signIn(person.email, PASSWORD, roles.includes('org_admin') ? await enrolTotp(t.vault, person.id) : undefined);
      return client;
    };
    const stalledBranding = async (client: FormClient, csrfFrom: string) => {
      const page = await client.get(csrfFrom);
      const boundary = '----srlogo';
      const part = (name: string, value: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
      const head = [
        'POST /admin/branding HTTP/1.1', 'Host: x', `Cookie: ${[...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ')}`,
        `Content-Type: multipart/form-data; boundary=${boundary}`, 'Content-Length: 100000', '', '',
      ].join('\r\n');
      const logoStart = `--${boundary}\r\nContent-Disposition: form-data; name="logo"; filename="logo.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG`;
      return stall(port, head, part('_csrf', FormClient.csrf(page.text)) + part('displayName', 'Stalled Council') + part('colour', '') + logoStart);
    };
    const [admin, member] = await Promise.all([signedIn(['org_admin']), signedIn(['member'])]);
    const [byAdmin, byMember] = await Promise.all([stalledBranding(admin, '/admin/branding'), stalledBranding(member, '/')]);
    // The logo's reader is told of the stall and fails at once: the form is answered, nothing saved.
    expect(answerOf(byAdmin.received).status, byAdmin.received.slice(0, 3000)).toBe(408);
    expect(byAdmin.answeredAfterMs).toBeGreaterThanOrEqual(GUARD_SECONDS * 1000);
    expect(byAdmin.answeredAfterMs).toBeLessThan(GUARD_SECONDS * 1000 + 3_000);
    expect(byAdmin.received).toContain(`The upload stopped: no data arrived for ${GUARD_SECONDS} seconds.`);
    expect((await t.vault.branding.settings(systemActor(), org.slug)).brand?.displayName ?? null).not.toBe('Stalled Council');
    // decide() refuses the member before any of the form is read.
    expect(answerOf(byMember.received).status, byMember.received).toBe(403);
    expect(byMember.answeredAfterMs).toBeLessThan(3_000);
  });
});

// HTTP alone decides this: one dialect is enough.
describe('a client that stops reading its answer', () => {
  const t = useTestVault('sqlite', clamd, {
    listen: true,
    env: {
      STRONGROOM_UPLOAD_IDLE_SECONDS: String(IDLE_SECONDS), STRONGROOM_CONNECTION_IDLE_SECONDS: String(CONNECTION_IDLE_SECONDS),
      // The file is scanned as it is uploaded, so it can be read at once.
      STRONGROOM_INLINE_SCAN_MAX_BYTES: String(128 * 1024 * 1024),
    },
  });
  let port: number;
  let org: TestOrganisation;
  let clerk: TestUser;
  beforeAll(async () => {
    port = (t.app.server.address() as AddressInfo).port;
    org = await createOrganisation(t.vault);
    clerk = await org.user({ teams: ['payroll'] });
  });

  it('closes a connection whose client stopped reading a download, once nothing has moved for the connection idle time', { timeout: 90_000 }, async () => {
    const size = 96 * 1024 * 1024; // more than loopback's socket buffers take (32 MiB to receive, 4 MiB to send, here)
    const stored = await upload(t.app, clerk, org.collections.payroll!, 'large-download.bin', Buffer.alloc(size, 0x5a));
    expect(stored.statusCode, stored.body).toBe(201);
    const id = (stored.json() as { id: string }).id;
    expect(stored.json()).toMatchObject({ status: 'available' }); // scanned inline (see the suite's limits)
    // The server's end of this connection (the only one opened meanwhile): the client reads again once
    // the server has closed it (after one idle period, or two when Node's first timeout saw the kernel
    // still taking data), or at the latest after both have passed.
    const serverSide = new Promise<Socket>((resolve) => t.app.server.once('connection', resolve));
    const { received, endedAfterMs } = await new Promise<{ received: number; endedAfterMs: number }>((resolve) => {
      const started = Date.now();
      let received = 0;
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.write(`GET /api/v1/documents/${id}/content HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${clerk.token}\r\n\r\n`);
        socket.pause(); // reads nothing until the server has given up on it
        const latest = setTimeout(() => socket.resume(), (2 * CONNECTION_IDLE_SECONDS + 3) * 1000);
        void serverSide.then((server) => server.once('close', () => {
          clearTimeout(latest);
          socket.resume();
        }));
      });
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ received, endedAfterMs: Date.now() - started }));
    });
    // What the server had handed to the kernel before the client stopped reading arrives; the rest never does.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(size);
    expect(endedAfterMs).toBeLessThan((2 * CONNECTION_IDLE_SECONDS + 6) * 1000);
  });
});
