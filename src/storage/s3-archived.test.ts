// An object a bucket's lifecycle rule moved to a cold storage class (GLACIER, DEEP_ARCHIVE): GetObject
// answers 403 InvalidObjectState for that object alone, while the bucket answers for every other. s3rver
// has no storage classes, so this is tested with a client that answers as S3 does (the SDK's own
// exception class). Before the outside review of 7 December it was taken for an outage of the whole store.
import { AccessDenied, GetObjectCommand, HeadObjectCommand, InvalidObjectState, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3BlobStore } from './s3.blob-store.js';

const ARCHIVED = 'a'.repeat(32);
const DENIED = 'd'.repeat(32);

/** A bucket where ARCHIVED is in GLACIER and DENIED is refused to this role; HEAD answers for both, as S3's does. */
function bucket(): S3BlobStore {
  const client = {
    send: async (command: unknown) => {
      if (command instanceof HeadObjectCommand) return { ContentLength: 100, StorageClass: 'GLACIER' };
      if (command instanceof GetObjectCommand) {
        const key = command.input.Key!;
        if (key.endsWith(ARCHIVED)) {
          throw new InvalidObjectState({ message: "The operation is not valid for the object's storage class", $metadata: { httpStatusCode: 403 }, StorageClass: 'GLACIER' });
        }
        throw new AccessDenied({ message: 'Access Denied', $metadata: { httpStatusCode: 403 } } as never);
      }
      throw new Error('not used here');
    },
    destroy: () => undefined,
  } as unknown as S3Client;
  return new S3BlobStore({ client, bucket: 'council', prefix: 'blobs' });
}

async function failure(promise: Promise<unknown>): Promise<{ name: string; code: string; message: string; blobId?: string }> {
  return promise.then(() => { throw new Error('expected a failure'); }, (e: { name: string; code: string; message: string; blobId?: string }) => e);
}

describe('S3BlobStore, an object in a cold storage class', () => {
  it('says that object is archived (its id, a message a person understands), not that the store is down: whole, by range and small', async () => {
    const store = bucket();
    for (const attempt of [store.get(ARCHIVED), store.get(ARCHIVED, { start: 0, end: 9 }), store.readSmall(ARCHIVED, 1000)]) {
      const error = await failure(attempt);
      expect(error.name).toBe('ArchivedBlobError');
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.blobId).toBe(ARCHIVED);
      expect(error.message).toBe("This file is in archive storage, so it cannot be downloaded now; the service's operators have been told. Try again later.");
    }
  });

  it('still says an outage for a 403 that is the role refused (AccessDenied)', async () => {
    const error = await failure(bucket().get(DENIED));
    expect(error.name).toBe('DomainError');
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toBe('Could not read a blob: the blob storage service is unavailable.');
  });
});
