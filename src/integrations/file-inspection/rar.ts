// RAR 4 and 5: only "is anything in here behind a password?", from the block headers in the head.

const RAR4_SIGNATURE = Buffer.from('Rar!\x1a\x07\x00', 'latin1');
const RAR5_SIGNATURE = Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1');

/** Walks the block headers within the first 64 KiB (where the first files' headers are). */
export function rarEncryption(head: Buffer): string | undefined {
  try {
    if (head.subarray(0, 8).equals(RAR5_SIGNATURE)) return rar5Encryption(head);
    if (head.subarray(0, 7).equals(RAR4_SIGNATURE)) return rar4Encryption(head);
  } catch {
    // a truncated or odd header: nothing proven
  }
  return undefined;
}

function rar4Encryption(head: Buffer): string | undefined {
  let at = 7;
  for (let blocks = 0; at + 7 <= head.length && blocks < 10_000; blocks++) {
    const type = head[at + 2] as number;
    const flags = head.readUInt16LE(at + 3);
    const headerSize = head.readUInt16LE(at + 5);
    if (headerSize < 7) return undefined;
    if (type === 0x73 && (flags & 0x0080) !== 0) return 'RAR 4 archive with encrypted headers';
    if (type === 0x74 && (flags & 0x0004) !== 0) return 'RAR 4 file entry marked encrypted';
    const addSize = (flags & 0x8000) !== 0 && at + 11 <= head.length ? head.readUInt32LE(at + 7) : 0;
    at += headerSize + addSize;
  }
  return undefined;
}

function rar5Encryption(head: Buffer): string | undefined {
  let at = 8;
  for (let blocks = 0; at + 6 <= head.length && blocks < 10_000; blocks++) {
    const vint = (position: number): [number, number] => {
      let value = 0;
      let shift = 0;
      for (let i = position; i < head.length && i < position + 10; i++) {
        const byte = head[i] as number;
        value += (byte & 0x7f) * 2 ** shift;
        shift += 7;
        if ((byte & 0x80) === 0) return [value, i + 1];
      }
      throw new RangeError('truncated vint');
    };
    const [headerSize, afterSize] = vint(at + 4);
    const headerEnd = afterSize + headerSize;
    const [type, afterType] = vint(afterSize);
    const [flags, afterFlags] = vint(afterType);
    let cursor = afterFlags;
    let extraSize = 0;
    let dataSize = 0;
    if (flags & 0x01) [extraSize, cursor] = vint(cursor);
    if (flags & 0x02) [dataSize, cursor] = vint(cursor);
    if (type === 4) return 'RAR 5 archive with encrypted headers';
    if ((type === 2 || type === 3) && extraSize > 0 && headerEnd <= head.length) {
      // Extra area records: size, type, data. Type 1 is the file encryption record.
      let record = headerEnd - extraSize;
      while (record < headerEnd) {
        const [recordSize, afterRecordSize] = vint(record);
        const [recordType] = vint(afterRecordSize);
        if (recordType === 1) return 'RAR 5 file entry with an encryption record';
        record = afterRecordSize + recordSize;
      }
    }
    at = headerEnd + dataSize;
  }
  return undefined;
}

