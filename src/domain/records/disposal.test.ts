// What a transfer package must hold before a record decided "transfer" may be destroyed.
import { describe, expect, it } from 'vitest';
import { parseTransferExport, transferGap, type TransferExport } from './disposal.js';

describe('transferGap', () => {
  const exported: TransferExport = {
    exportedAt: '2026-12-01T10:00:00.000Z',
    records: { held: { fingerprint: 'f1', contentOmitted: false }, omitted: { fingerprint: 'f2', contentOmitted: true } },
  };

  it('lets a record through only when the package holds it, content and all, as it is now', () => {
    expect(transferGap(exported, 'held', 'f1')).toBeNull();
    expect(transferGap(exported, 'held', 'f1-after-a-new-version')).toBe('changed');
    expect(transferGap(exported, 'omitted', 'f2')).toBe('content_omitted');
    expect(transferGap(exported, 'never-in-it', 'f3')).toBe('not_exported');
    expect(transferGap(null, 'held', 'f1')).toBe('not_exported');
  });

  it('has nothing to say of a record already gone', () => {
    expect(transferGap(exported, 'held', null)).toBeNull();
    expect(transferGap(exported, 'never-in-it', null)).toBeNull();
  });

  it('reads an export recorded before fingerprints were kept (a bare time) as none', () => {
    expect(parseTransferExport('2026-12-01T10:00:00.000Z')).toBeNull();
    expect(parseTransferExport(undefined)).toBeNull();
    expect(parseTransferExport(JSON.stringify(exported))).toEqual(exported);
  });
});
