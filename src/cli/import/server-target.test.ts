// The import's server target closes the file of an upload the server refused before reading it all.
import { promises as fsp } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServerTarget } from './server-target.js';
import { FileRefused, ImportFatal } from './target.js';
import { openDescriptorsOn } from '../../../test/support/descriptors.js';

let dir: string;
let server: Server;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'strongroom-server-target-'));
  // Refuses every upload at once, as a server does a name its policy refuses, and hangs up.
  server = createServer((request, response) => {
    response.writeHead(422, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify({ detail: 'This file type is not allowed.' }), () => request.socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve));
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A server that answers every request 503, with Retry-After (its database refusing for a moment) or without. */
async function unavailable(retryAfter: boolean): Promise<Server> {
  const down = createServer((_request, response) => {
    response.writeHead(503, { 'content-type': 'application/problem+json', ...(retryAfter ? { 'retry-after': '5' } : {}) });
    response.end(JSON.stringify({ detail: 'The database is not available at the moment. Try again in a few seconds.' }));
  });
  await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
  return down;
}

describe('ServerTarget', () => {
  it('stops the import on a 503, as the database refusing for a moment (exit 75) only when the server says when to come back', async () => {
    for (const retryAfter of [true, false]) {
      const down = await unavailable(retryAfter);
      try {
        const target = new ServerTarget(`http://127.0.0.1:${(down.address() as AddressInfo).port}`, 'token', 1);
        const stopped = await target.open('c').catch((error: unknown) => error);
        expect(stopped).toBeInstanceOf(ImportFatal);
        expect(stopped).toMatchObject({ message: 'the server answered 503: The database is not available at the moment. Try again in a few seconds.', databaseUnavailable: retryAfter });
      } finally {
        await new Promise((resolve) => down.close(resolve));
      }
    }
  });

  it('stops the import at the first upload refused because the token can only read (every file after would be refused the same way)', async () => {
    const readOnly = createServer((request, response) => {
      request.resume();
      response.writeHead(403, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({
        type: 'https://strongroom.local/problems/forbidden', title: 'Forbidden', status: 403, reason: 'credential_scope',
        detail: 'This API token can only read: it cannot make changes. Use one made with full access, or the web interface.',
      }));
    });
    await new Promise<void>((resolve) => readOnly.listen(0, '127.0.0.1', resolve));
    try {
      const path = join(dir, 'payslip.txt');
      await fsp.writeFile(path, 'Payslip\n');
      const { dev, ino } = await fsp.stat(path);
      const file = { path, realPath: await fsp.realpath(path), identity: { dev, ino }, name: 'payslip.txt', size: 8, modifiedAt: new Date() };
      const target = new ServerTarget(`http://127.0.0.1:${(readOnly.address() as AddressInfo).port}`, 'token', 1);
      for (const refused of [() => target.upload('c', file), () => target.uploadVersion('d', file)]) {
        const stopped = await refused().catch((error: unknown) => error);
        expect(stopped).toBeInstanceOf(ImportFatal);
        expect(stopped).toMatchObject({ message: 'the server answered 403: This API token can only read: it cannot make changes. Use one made with full access, or the web interface.', databaseUnavailable: false });
      }
      await target.close();
    } finally {
      await new Promise((resolve) => readOnly.close(resolve));
    }
  });

  it('closes the file of every upload the server refused before reading it all', async () => {
    const path = join(dir, 'big.exe');
    await fsp.writeFile(path, Buffer.alloc(8 * 1024 * 1024));
    const { dev, ino } = await fsp.stat(path);
    const file = { path, realPath: await fsp.realpath(path), identity: { dev, ino }, name: 'big.exe', size: 8 * 1024 * 1024, modifiedAt: new Date() };
    const target = new ServerTarget(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'token', 2);
    // Refused, or cut off as the server hangs up mid-body (which wins is a race): either way the file is closed.
    for (let i = 0; i < 10; i++) await expect(target.upload('c', file)).rejects.toSatisfy((error) => error instanceof FileRefused || error instanceof ImportFatal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await openDescriptorsOn(path)).toBe(0);
  });
});
