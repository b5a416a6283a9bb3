// The BlobStore contract (domain/ports.ts): what every blob store must do, whatever holds the
// bytes. blob-stores.contract.test.ts runs it on each adapter; an adapter is one entry there.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/errors.js';
import type { BlobStore } from '../../src/domain/ports.js';

export interface BlobStoreUnderTest {
  store: BlobStore;
  /** A second instance over the same storage, as another process would open it. */
  another(): BlobStore;
  /** Leaves what a put cut short by a crash leaves behind (a staged, uncommitted object), `ageMs` old. */
  leaveCrashedPut(ageMs: number): Promise<void>;
  /**
   * A store of the same kind whose storage cannot be reached (a folder that cannot be opened, a
   * server that is not listening): every operation must say UNAVAILABLE, never NOT_FOUND.
   */
  unreachable(): Promise<BlobStore>;
  /** Removes everything the instance stored. */
  close(): Promise<void>;
}

export interface BlobStoreAdapter {
  name: string;
  open(): Promise<BlobStoreUnderTest>;
}

const MIB = 1024 * 1024;

/** A well-formed id that no store has handed out. */
const unknownId = () => randomBytes(16).toString('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function listAll(store: BlobStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids.sort();
}

function pieces(buffer: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) out.push(buffer.subarray(i, i + size));
  return out;
}

/** Peak growth of live memory (heap and buffers, after collecting garbage) while `work` runs. */
async function peakMemoryGrowth(work: () => Promise<void>): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const live = (): number => {
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  const base = live();
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, live());
  }, 100);
  try {
    await work();
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, live()) - base;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return (error as DomainError).code;
}

export function blobStoreContract(adapter: BlobStoreAdapter): void {
  describe(`BlobStore contract: ${adapter.name}`, () => {
    let u: BlobStoreUnderTest;
    let store: BlobStore;
    beforeEach(async () => {
      u = await adapter.open();
      store = u.store;
    });
    afterEach(async () => {
      await u?.close();
    });

    it('stores what it is given and gives it back whole, with its size', async () => {
      const bytes = randomBytes(2 * 1024 * 1024 + 3);
      const { id, size } = await store.put(Readable.from(pieces(bytes, 65_552)));
      expect(size).toBe(bytes.length);
      expect(await store.size(id)).toBe(bytes.length);
      expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
    });

    it('accepts an async iterable of Uint8Arrays, and an empty blob', async () => {
      async function* source(): AsyncGenerator<Uint8Array> {
        yield new Uint8Array([1, 2]);
        yield new Uint8Array(0);
        yield new Uint8Array([3]);
      }
      const small = await store.put(source());
      expect([...(await readAll(await store.get(small.id)))]).toEqual([1, 2, 3]);
      const empty = await store.put(Readable.from([]));
      expect(empty.size).toBe(0);
      expect(await store.size(empty.id)).toBe(0);
      expect(await readAll(await store.get(empty.id))).toHaveLength(0);
    });

    it('reads a small blob whole into memory, and refuses one longer than the caller allows as INTEGRITY', async () => {
      const bytes = randomBytes(5000);
      const { id } = await store.put(Readable.from(pieces(bytes, 1000)));
      expect((await store.readSmall(id, 5000)).equals(bytes)).toBe(true);
      const empty = await store.put(Readable.from([]));
      expect(await store.readSmall(empty.id, 0)).toHaveLength(0);
      await expect(store.readSmall(id, 4999)).rejects.toMatchObject({ code: 'INTEGRITY', message: `Blob ${id} is longer than the 4999 bytes its record allows.` });
      // Past the size a local folder reads in one call: the same answer from a stream.
      const long = randomBytes(200_000);
      const longId = (await store.put(Readable.from(pieces(long, 65_536)))).id;
      expect((await store.readSmall(longId, 200_000)).equals(long)).toBe(true);
      await expect(store.readSmall(longId, 100_000)).rejects.toMatchObject({ code: 'INTEGRITY' });
      expect(await codeOf(store.readSmall(unknownId(), 10))).toBe('NOT_FOUND');
    });

    it('reads inclusive byte ranges: the first byte, one in the middle, the last, and a long one', async () => {
      const bytes = randomBytes(3 * 1024 * 1024);
      const { id } = await store.put(Readable.from(pieces(bytes, 1 << 20)));
      for (const [start, end] of [[0, 0], [1_048_575, 1_048_576], [bytes.length - 1, bytes.length - 1], [17, 2_500_000]] as const) {
        expect((await readAll(await store.get(id, { start, end }))).equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
    });

    it('putAs writes under the id given and replaces a blob already there whole (replica copies and repairs)', async () => {
      const id = unknownId();
      const first = randomBytes(70_000);
      expect(await store.putAs(id, Readable.from(pieces(first, 65_536)))).toEqual({ id, size: first.length });
      expect((await readAll(await store.get(id))).equals(first)).toBe(true);
      const second = randomBytes(1234);
      await store.putAs(id, Readable.from([second]));
      expect(await store.size(id)).toBe(second.length);
      expect((await readAll(await store.get(id))).equals(second)).toBe(true);
      expect(await listAll(store)).toEqual([id]);
      expect(await codeOf(store.putAs('../escape', Readable.from([second])))).toBe('INVALID');
    });

    it('refuses an invalid range as INVALID', async () => {
      const { id } = await store.put(Readable.from([Buffer.from('abc')]));
      expect(await codeOf(store.get(id, { start: 2, end: 1 }))).toBe('INVALID');
      expect(await codeOf(store.get(id, { start: -1, end: 1 }))).toBe('INVALID');
      expect(await codeOf(store.get(id, { start: 0.5, end: 1 }))).toBe('INVALID');
    });

    it('says NOT_FOUND for a blob it does not hold, before any byte is streamed', async () => {
      expect(await codeOf(store.get(unknownId()))).toBe('NOT_FOUND');
      expect(await codeOf(store.get(unknownId(), { start: 0, end: 1 }))).toBe('NOT_FOUND');
      expect(await codeOf(store.size(unknownId()))).toBe('NOT_FOUND');
    });

    it('deletes idempotently, a blob it never held included', async () => {
      const { id } = await store.put(Readable.from([Buffer.from('short-lived')]));
      await store.delete(id);
      await store.delete(id);
      await store.delete(unknownId());
      expect(await codeOf(store.get(id))).toBe('NOT_FOUND');
      expect(await listAll(store)).toEqual([]);
    });

    it('hands out a new id for every put, even for the same bytes, and lists each once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) ids.push((await store.put(Readable.from([Buffer.from('same bytes')]))).id);
      expect(new Set(ids).size).toBe(25);
      expect(await listAll(store)).toEqual([...ids].sort());
      // Another process sees the same blobs.
      expect(await listAll(u.another())).toEqual([...ids].sort());
    });

    it('commits atomically: nothing is listed until put resolves', async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      async function* source(): AsyncGenerator<Buffer> {
        yield randomBytes(2 * 1024 * 1024);
        await gate;
        yield Buffer.from('tail');
      }
      const putting = store.put(source());
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await listAll(store)).toEqual([]);
      release();
      const { id, size } = await putting;
      expect(size).toBe(2 * 1024 * 1024 + 4);
      expect(await listAll(store)).toEqual([id]);
    });

    it('stores nothing when the source fails, passes the source’s error on, and leaves nothing staged', async () => {
      const boom = new Error('client went away');
      async function* failing(): AsyncGenerator<Buffer> {
        yield randomBytes(3 * 1024 * 1024);
        throw boom;
      }
      await expect(store.put(failing())).rejects.toBe(boom);
      const early = new Readable({ read() {} });
      early.destroy(boom);
      await expect(store.put(early)).rejects.toBe(boom);
      expect(await listAll(store)).toEqual([]);
      expect(await store.cleanStaging(0)).toBe(0);
    });

    it('reads ranges across 5 MiB part boundaries of a blob streamed in small pieces', async () => {
      const bytes = randomBytes(11 * MIB + 7);
      const { id, size } = await store.put(Readable.from(pieces(bytes, 64 * 1024 + 3)));
      expect(size).toBe(bytes.length);
      for (const [start, end] of [[5 * MIB - 1, 5 * MIB], [5 * MIB - 10, 10 * MIB + 10], [10 * MIB, bytes.length - 1], [0, bytes.length - 1]] as const) {
        expect((await readAll(await store.get(id, { start, end }))).equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
      expect((await readAll(await store.get(id))).equals(bytes)).toBe(true);
    });

    it('stores nothing and leaves nothing staged when the source fails after several parts were sent', async () => {
      const boom = new Error('connection reset by the client');
      async function* failing(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 12; i++) yield randomBytes(MIB);
        throw boom;
      }
      await expect(store.put(failing())).rejects.toBe(boom);
      expect(await listAll(store)).toEqual([]);
      expect(await store.cleanStaging(0)).toBe(0);
    });

    it('says UNAVAILABLE, never NOT_FOUND, when its storage cannot be reached', async () => {
      const down = await u.unreachable();
      const id = unknownId();
      expect(await codeOf(down.get(id))).toBe('UNAVAILABLE');
      expect(await codeOf(down.get(id, { start: 0, end: 9 }))).toBe('UNAVAILABLE');
      expect(await codeOf(down.size(id))).toBe('UNAVAILABLE');
      expect(await codeOf(down.put(Readable.from([Buffer.from('lost?')])))).toBe('UNAVAILABLE');
      expect(await codeOf(down.delete(id))).toBe('UNAVAILABLE');
      expect(await codeOf(listAll(down))).toBe('UNAVAILABLE');
      expect(await codeOf(down.cleanStaging(0))).toBe('UNAVAILABLE');
      expect(await codeOf(down.readMarker())).toBe('UNAVAILABLE');
      expect(await codeOf(down.writeMarker('{}'))).toBe('UNAVAILABLE');
    });

    it('keeps a store marker beside the blobs: written once, never over another, never listed as a blob, and staged nowhere', async () => {
      expect(await store.readMarker()).toBeUndefined();
      const { id } = await store.put(Readable.from([Buffer.from('a blob')]));
      expect(await store.writeMarker('{"vault":"first"}\n')).toBe(true);
      expect(await store.readMarker()).toBe('{"vault":"first"}\n');
      // Another process over the same storage sees it, and cannot write over it.
      expect(await u.another().readMarker()).toBe('{"vault":"first"}\n');
      expect(await u.another().writeMarker('{"vault":"second"}\n')).toBe(false);
      expect(await u.another().writeMarker('{"vault":"second"}\n', true)).toBe(false); // only an empty one is written over
      expect(await store.readMarker()).toBe('{"vault":"first"}\n');
      expect(await listAll(store)).toEqual([id]);
      expect(await store.cleanStaging(0)).toBe(0);
    });

    it('streams a 96 MiB put with live memory growing by less than 64 MiB', { timeout: 180_000 }, async () => {
      const piece = randomBytes(MIB);
      async function* large(): AsyncGenerator<Buffer> {
        for (let i = 0; i < 96; i++) yield piece;
      }
      let stored: { id: string; size: number } | undefined;
      const growth = await peakMemoryGrowth(async () => {
        stored = await store.put(large());
      });
      expect(stored?.size).toBe(96 * MIB);
      expect(await store.size(stored!.id)).toBe(96 * MIB);
      expect(growth, `${(growth / MIB).toFixed(1)} MiB`).toBeLessThan(64 * MIB);
    });

    it('cleans what a crashed put left, sparing recent ones until their grace period has passed', async () => {
      const { id } = await store.put(Readable.from([Buffer.from('committed')]));
      await u.leaveCrashedPut(3_600_000);
      await u.leaveCrashedPut(0);
      expect(await store.cleanStaging(60_000)).toBe(1);
      expect(await store.cleanStaging(0)).toBe(1);
      expect(await store.cleanStaging(0)).toBe(0);
      expect(await listAll(store)).toEqual([id]);
      expect((await readAll(await store.get(id))).toString()).toBe('committed');
    });
  });
}
