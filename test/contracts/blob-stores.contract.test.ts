// Every BlobStore adapter against the one contract (blob-store.contract.ts). An S3 adapter is
// added by one more entry here (issue #14), with its own leftover-making hook.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/storage/fs.blob-store.js';
import { blobStoreContract, type BlobStoreAdapter } from './blob-store.contract.js';

const filesystem: BlobStoreAdapter = {
  name: 'filesystem (FsBlobStore)',
  async open() {
    const dataDir = await fsp.mkdtemp(join(tmpdir(), 'sr-blob-contract-'));
    return {
      store: new FsBlobStore({ dataDir }),
      another: () => new FsBlobStore({ dataDir }),
      async leaveCrashedPut(ageMs) {
        // What #write leaves when the process dies before the rename: a staged .part file.
        const staging = join(dataDir, 'tmp');
        await fsp.mkdir(staging, { recursive: true });
        const file = join(staging, `${randomBytes(16).toString('hex')}.part`);
        await fsp.writeFile(file, randomBytes(1000));
        const at = new Date(Date.now() - ageMs);
        await fsp.utimes(file, at, at);
      },
      close: () => fsp.rm(dataDir, { recursive: true, force: true }),
    };
  },
};

for (const adapter of [filesystem]) blobStoreContract(adapter);
