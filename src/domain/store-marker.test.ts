// The store marker's text: what formatStoreMarker writes parses back; anything else is refused with a reason.
import { describe, expect, it } from 'vitest';
import { formatStoreMarker, parseStoreMarker } from './store-marker.js';

const ID = '5c0e9a1e-7d0b-4c43-9a55-0f3cbb0c2d11';

describe('store marker', () => {
  it('reads back what it writes: one line of JSON naming the vault', () => {
    const text = formatStoreMarker({ vaultId: ID, claimedAt: '2026-12-18T00:00:00.000Z' });
    expect(text).toBe(`{"format":"strongroom-store-marker/1","vault":"${ID}","claimedAt":"2026-12-18T00:00:00.000Z"}\n`);
    expect(parseStoreMarker(text)).toEqual({ vaultId: ID, claimedAt: '2026-12-18T00:00:00.000Z' });
  });

  it('refuses text that is not a marker, saying why', () => {
    expect(() => parseStoreMarker('fanout=1\n')).toThrow('it is not a store marker (not JSON): "fanout=1\\n"');
    expect(() => parseStoreMarker('null')).toThrow('it is not a strongroom-store-marker/1 marker');
    expect(() => parseStoreMarker(`{"format":"strongroom-store-marker/2","vault":"${ID}"}`)).toThrow('it is not a strongroom-store-marker/1 marker');
    expect(() => parseStoreMarker('{"format":"strongroom-store-marker/1","vault":"../other"}')).toThrow('it names no vault id');
    expect(() => parseStoreMarker('{"format":"strongroom-store-marker/1"}')).toThrow('it names no vault id');
  });
});
