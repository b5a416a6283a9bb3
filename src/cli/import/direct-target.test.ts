// The import's direct target closes each file it opened for an upload, whether the vault read it or
// refused the upload before reading a byte (a name the policy refuses, a full disk).
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/errors.js';
import type { Actor } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { DirectTarget } from './direct-target.js';
import { FileRefused, ImportFatal } from './target.js';
import { openDescriptorsOn } from '../../../test/support/descriptors.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(join(tmpdir(), 'strongroom-direct-target-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A vault whose uploads fail with `error` before reading the body. */
function refusingVault(error: DomainError): AppServices {
  const refuse = async (): Promise<never> => {
    // The body's file is opened on the next tick: let that happen, as a real refusal takes longer.
    await new Promise((resolve) => setTimeout(resolve, 5));
    throw error;
  };
  return { documents: { upload: refuse, uploadVersion: refuse } } as unknown as AppServices;
}

describe('DirectTarget', () => {
  it('closes the file of every upload refused before its body was read', async () => {
    const path = join(dir, 'payroll.exe');
    await fsp.writeFile(path, 'MZ');
    const { dev, ino } = await fsp.stat(path);
    const file = { path, realPath: await fsp.realpath(path), identity: { dev, ino }, name: 'payroll.exe', size: 2, modifiedAt: new Date() };
    const refused = new DirectTarget(refusingVault(new DomainError('INVALID', 'This file type is not allowed.')), {} as Actor, 'a@example.org');
    for (let i = 0; i < 20; i++) {
      await expect(refused.upload('c', file)).rejects.toBeInstanceOf(FileRefused);
      await expect(refused.uploadVersion('d', file)).rejects.toBeInstanceOf(FileRefused);
    }
    const full = new DirectTarget(refusingVault(new DomainError('INSUFFICIENT_STORAGE', 'The disk is full.')), {} as Actor, 'a@example.org');
    await expect(full.upload('c', file)).rejects.toBeInstanceOf(ImportFatal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await openDescriptorsOn(path)).toBe(0);
  });
});
