// The OLE2 directory walk on its own: VBA storages, installer class ids, the EncryptedPackage of a
// password-protected OOXML file, and damage reported as unreadable rather than thrown.
import { describe, expect, it } from 'vitest';
import { encryptedOfficeDocument, msiPackage, ole, oleDocument, oleWithVba } from '../../../test/support/samples.js';
import { inspectOle } from './ole.js';
import { memoryReader } from './random-access.js';

const inspect = (data: Buffer) => inspectOle(memoryReader(data), data.length);

describe('inspectOle', () => {
  it('names the storage that holds a VBA project', async () => {
    expect(await inspect(oleWithVba())).toMatchObject({ macroStorage: expect.stringMatching(/^(VBA|Macros|_VBA_PROJECT(_CUR)?)$/i), installer: false });
  });

  it('finds macro storages anywhere in the directory, orphaned entries included', async () => {
    const data = ole([{ name: 'WordDocument', type: 'stream' }, { name: 'Macros', type: 'storage', parent: 99 }]);
    expect((await inspect(data)).macroStorage).toBe('Macros');
  });

  it('reports a plain legacy document as nothing in particular', async () => {
    expect(await inspect(oleDocument())).toEqual({ installer: false });
  });

  it('recognises a Windows Installer package by its root class id', async () => {
    expect(await inspect(msiPackage())).toMatchObject({ installer: true });
  });

  it('finds the EncryptedPackage stream of a password-protected Office file', async () => {
    expect(await inspect(encryptedOfficeDocument())).toMatchObject({ encryptedPackage: 'EncryptedPackage', installer: false });
  });

  it('reports short, unsigned and truncated files as unreadable instead of throwing', async () => {
    expect(await inspect(Buffer.alloc(100))).toEqual({ installer: false, unreadable: 'shorter than an OLE2 header' });
    expect(await inspect(Buffer.alloc(1024))).toEqual({ installer: false, unreadable: 'no OLE2 signature' });
    const truncated = oleWithVba().subarray(0, 600);
    expect((await inspect(truncated)).unreadable).toMatch(/outside the file/);
  });
});
