import { describe, expect, it } from 'vitest';
import type { Document, Version } from '../domain/types.js';
import type { UploadResult } from './documents.service.js';
import { uploadOutcome } from './upload-outcome.js';

const result = (scanStatus: Version['scanStatus'], extra: Partial<UploadResult> = {}): UploadResult => ({
  document: { id: 'd1' } as Document,
  version: { id: 'v1', scanStatus } as Version,
  ...extra,
});

describe('uploadOutcome', () => {
  it('names malware first, with its signature', () => {
    expect(uploadOutcome(result('infected', { infected: { signature: 'Eicar-Test-Signature' } }))).toEqual({ kind: 'infected', signature: 'Eicar-Test-Signature' });
  });
  it('tells a file held for review apart from an available one', () => {
    expect(uploadOutcome(result('held', { heldForReview: { reason: 'password-protected archive' } }))).toEqual({ kind: 'held_for_review', reason: 'password-protected archive' });
  });
  it('is pending while the version is still being checked, available once clean', () => {
    expect(uploadOutcome(result('pending'))).toEqual({ kind: 'pending_scan' });
    expect(uploadOutcome(result('clean'))).toEqual({ kind: 'available' });
  });
});
