// The read path over the primary and the replica: which copy serves, what is reported, and which
// errors are damage (turn to the replica) and which are not (passed on as they are).
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { EncryptedBlobs, EncryptedVersionRef } from '../domain/ports.js';
import { DamagedCopiesError, DomainError, IntegrityError } from '../domain/errors.js';
import { HealingBlobs } from './healing-blobs.js';

const version: EncryptedVersionRef = { blobId: 'b'.repeat(32), organisationId: 'o', documentId: 'd', versionId: 'v', keyId: 'k', wrappedKey: Buffer.from('wrapped'), size: 5 };

/** A copy whose reads answer `outcome`: bytes, or an error thrown before any byte. */
function copy(outcome: Buffer | Error): EncryptedBlobs {
  const read = async () => {
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return {
    write: vi.fn(), delete: vi.fn(), readRange: vi.fn(), copyTo: vi.fn(),
    content: read,
    openRange: async () => Readable.from([await read()]),
  };
}

function healing(primary: Buffer | Error, replica: Buffer | Error | null) {
  const onPrimaryBad = vi.fn();
  const onUnreadable = vi.fn();
  const blobs = new HealingBlobs({ primary: copy(primary), replica: replica === null ? null : copy(replica), onPrimaryBad, onUnreadable });
  return { blobs, onPrimaryBad, onUnreadable };
}

const good = Buffer.from('right');
const damaged = () => new IntegrityError('a tag did not verify');
const outage = () => new DomainError('UNAVAILABLE', 'Could not read a blob.');

async function bytesOf(content: Buffer | Readable): Promise<Buffer> {
  if (Buffer.isBuffer(content)) return content;
  const parts: Buffer[] = [];
  for await (const part of content) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe.each(['content', 'openRange'] as const)('HealingBlobs.%s', (read) => {
  it('serves a good primary and reports nothing', async () => {
    const { blobs, onPrimaryBad, onUnreadable } = healing(good, damaged());
    expect((await bytesOf(await blobs[read](version))).equals(good)).toBe(true);
    expect(onPrimaryBad).not.toHaveBeenCalled();
    expect(onUnreadable).not.toHaveBeenCalled();
  });

  it('serves the replica when the primary is damaged or missing, and asks for the primary\'s repair', async () => {
    for (const primary of [damaged(), new DomainError('NOT_FOUND', 'No blob.')]) {
      const { blobs, onPrimaryBad, onUnreadable } = healing(primary, good);
      expect((await bytesOf(await blobs[read](version))).equals(good)).toBe(true);
      expect(onPrimaryBad).toHaveBeenCalledExactlyOnceWith(version, primary);
      expect(onUnreadable).not.toHaveBeenCalled();
    }
  });

  it('reports a damaged primary even when the replica is down, and passes the outage on', async () => {
    const primary = damaged();
    const { blobs, onPrimaryBad, onUnreadable } = healing(primary, outage());
    await expect(blobs[read](version)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(onPrimaryBad).toHaveBeenCalledExactlyOnceWith(version, primary);
    expect(onUnreadable).not.toHaveBeenCalled();
  });

  it('says DamagedCopies and tells the operators when no copy is good, or there is no replica', async () => {
    for (const replica of [damaged(), null]) {
      const primary = damaged();
      const { blobs, onPrimaryBad, onUnreadable } = healing(primary, replica);
      await expect(blobs[read](version)).rejects.toBeInstanceOf(DamagedCopiesError);
      expect(onUnreadable).toHaveBeenCalledExactlyOnceWith(version, primary);
      expect(onPrimaryBad).not.toHaveBeenCalled();
    }
  });

  it('passes an outage of the primary on as it is, without asking the replica', async () => {
    const { blobs, onPrimaryBad, onUnreadable } = healing(outage(), good);
    await expect(blobs[read](version)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(onPrimaryBad).not.toHaveBeenCalled();
    expect(onUnreadable).not.toHaveBeenCalled();
  });
});
