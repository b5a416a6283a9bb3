// confirmStoresAtOpen: which failures to confirm a store stop a vault starting.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import type { BlobStore } from '../domain/ports.js';
import type { StoreRole } from '../domain/store-marker.js';
import { confirmStoresAtOpen } from './store-claims.js';

const failing = (code: ErrorCode) => ({ confirm: async (): Promise<void> => { throw new DomainError(code, `the store said ${code}`); } });
const folder = { location: '/srv/blobs' } as BlobStore;

async function warnings(ownership: { confirm(role: StoreRole, store: BlobStore): Promise<void> }, outageTolerated: boolean): Promise<Array<Record<string, unknown>>> {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  await confirmStoresAtOpen(ownership, [{ role: 'primary', store: folder, outageTolerated }], logger);
  return lines;
}

describe('confirmStoresAtOpen', () => {
  it('starts over a full store (ENOSPC, a quota), warning with the store named', async () => {
    for (const tolerated of [true, false]) {
      const lines = await warnings(failing('INSUFFICIENT_STORAGE'), tolerated);
      expect(lines.map((l) => [l.store, l.location, l.msg])).toEqual([['primary', '/srv/blobs',
        'could not check that the blob store at /srv/blobs is this vault\'s (its marker): it is full; the orphan sweep checks before it deletes anything there']]);
    }
  });

  it('starts over an unreachable store only where an outage is tolerated; refuses another vault\'s always', async () => {
    expect((await warnings(failing('UNAVAILABLE'), true)).map((l) => l.location)).toEqual(['/srv/blobs']);
    await expect(warnings(failing('UNAVAILABLE'), false)).rejects.toThrow('the store said UNAVAILABLE');
    await expect(warnings(failing('CONFLICT'), true)).rejects.toThrow('the store said CONFLICT');
  });
});
