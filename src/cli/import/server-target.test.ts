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

describe('ServerTarget', () => {
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
