// Reading a downloaded zip back in tests (transfer and response packages).
import yauzl from 'yauzl';

/** Every entry of a zip, by name. */
export function unzip(bytes: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out = new Map<string, Buffer>();
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error('no stream'));
          const parts: Buffer[] = [];
          stream.on('data', (c: Buffer) => parts.push(c)).on('end', () => { out.set(entry.fileName, Buffer.concat(parts)); zip.readEntry(); }).on('error', reject);
        });
      });
      zip.on('end', () => resolve(out)).on('error', reject);
      zip.readEntry();
    });
  });
}

/** Every entry's name in the order the zip holds them, repeats included (a Map keeps only the last of two alike). */
export function zipEntryNames(bytes: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (entry: yauzl.Entry) => { names.push(entry.fileName); zip.readEntry(); });
      zip.on('end', () => resolve(names)).on('error', reject);
      zip.readEntry();
    });
  });
}
