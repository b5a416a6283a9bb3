// OLE2 (Compound File Binary: legacy Office, MSI): walks the directory for VBA storages, an
// installer's class id and the EncryptedPackage stream of a password-protected OOXML file.
import { describeError, type ReadExclusive } from './random-access.js';

const OLE_SIGNATURE = Buffer.from('d0cf11e0a1b11ae1', 'hex');
const ENDOFCHAIN = 0xfffffffe;
const MAX_SECTOR = 0xfffffffa;
const MACRO_STORAGES = new Set(['vba', '_vba_project', '_vba_project_cur', 'macros']);
const MAX_DIRECTORY_SECTORS = 8192;
const MAX_DIFAT_SECTORS = 4096;

export interface OleFacts {
  /** Name of the storage or stream that shows a VBA project. */
  macroStorage?: string;
  /** Root class id of a Windows Installer package, patch or transform. */
  installer: boolean;
  /** A password-protected Office Open XML file is an OLE2 wrapper around this stream. */
  encryptedPackage?: string;
  unreadable?: string;
}

/**
 * Walks the directory of a compound file and looks at names and the root class id only.
 * Entries are read linearly rather than as a tree, so orphaned (hidden) entries count too.
 */
export async function inspectOle(read: ReadExclusive, size: number): Promise<OleFacts> {
  const facts: OleFacts = { installer: false };
  try {
    if (size < 512) throw new Error('shorter than an OLE2 header');
    const header = await read(0, 512);
    if (!header.subarray(0, 8).equals(OLE_SIGNATURE)) throw new Error('no OLE2 signature');
    const shift = header.readUInt16LE(0x1e);
    if (shift !== 9 && shift !== 12) throw new Error(`unsupported sector size 2^${shift}`);
    const sectorSize = 1 << shift;
    const perSector = sectorSize / 4;
    const firstDirectory = header.readUInt32LE(0x30);
    let difatSector = header.readUInt32LE(0x44);
    const difat: number[] = [];
    for (let i = 0; i < 109; i++) difat.push(header.readUInt32LE(0x4c + i * 4));

    const sector = async (id: number): Promise<Buffer> => {
      const start = (id + 1) * sectorSize;
      if (id > MAX_SECTOR || start + sectorSize > size) throw new Error(`sector ${id} outside the file`);
      return read(start, start + sectorSize);
    };
    let difatSectorsRead = 0;
    const fatSectorId = async (fatIndex: number): Promise<number> => {
      while (fatIndex >= difat.length) {
        if (difatSector > MAX_SECTOR || ++difatSectorsRead > MAX_DIFAT_SECTORS) throw new Error('FAT index beyond the DIFAT');
        const block = await sector(difatSector);
        for (let i = 0; i < perSector - 1; i++) difat.push(block.readUInt32LE(i * 4));
        difatSector = block.readUInt32LE((perSector - 1) * 4);
      }
      return difat[fatIndex] as number;
    };
    const fatCache = new Map<number, Buffer>();
    const nextSector = async (id: number): Promise<number> => {
      const fatIndex = Math.floor(id / perSector);
      let fat = fatCache.get(fatIndex);
      if (!fat) {
        fat = await sector(await fatSectorId(fatIndex));
        fatCache.set(fatIndex, fat);
      }
      return fat.readUInt32LE((id % perSector) * 4);
    };

    const seen = new Set<number>();
    let entryIndex = 0;
    for (let id = firstDirectory; id !== ENDOFCHAIN; id = await nextSector(id)) {
      if (id > MAX_SECTOR) throw new Error(`bad directory chain (${id})`);
      if (seen.has(id)) throw new Error('directory chain loops');
      if (seen.size >= MAX_DIRECTORY_SECTORS) throw new Error('directory too large');
      seen.add(id);
      const block = await sector(id);
      for (let at = 0; at + 128 <= block.length; at += 128, entryIndex++) {
        const type = block[at + 0x42];
        if (type !== 1 && type !== 2 && type !== 5) continue; // unused slot
        const nameLength = block.readUInt16LE(at + 0x40);
        const name = nameLength >= 2 && nameLength <= 64 ? block.toString('utf16le', at, at + nameLength - 2) : '';
        if (entryIndex === 0 && type === 5 && isInstallerClsid(block.subarray(at + 0x50, at + 0x60))) facts.installer = true;
        if (MACRO_STORAGES.has(name.toLowerCase())) facts.macroStorage ??= name;
        if (type === 2 && name === 'EncryptedPackage') facts.encryptedPackage ??= name;
      }
    }
  } catch (error) {
    facts.unreadable = describeError(error);
  }
  return facts;
}

/** {000C1084-…-C000-000000000046} (MSI), {000C1086-…} (MSP patch), {000C1082-…} (MST transform). */
function isInstallerClsid(clsid: Buffer): boolean {
  const first = clsid[0];
  return (first === 0x84 || first === 0x86 || first === 0x82) && clsid.subarray(1).equals(Buffer.from('100c0000000000c000000000000046', 'hex'));
}
