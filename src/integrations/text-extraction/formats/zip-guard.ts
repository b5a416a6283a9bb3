// Zip-based formats (DOCX, XLSX, ODT) are checked before a parser inflates them: the sum of the
// declared sizes must fit the cap, and each entry is inflated here with yauzl, which fails an entry
// whose real size exceeds what it declares. So a zip bomb stops after at most `maxBytes` of output,
// whether it is honest about its size or lies in its central directory.
import yauzl from 'yauzl';

export class ZipLimitError extends Error {}

function open(input: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(input, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (error, zip) => (error ? reject(error) : resolve(zip))),
  );
}

/**
 * Inflates every entry, counting bytes, and returns the contents of the entries `wanted` selects.
 * Throws ZipLimitError when the declared or actual total passes `maxBytes`.
 */
export async function readZipBounded(input: Buffer, maxBytes: number, wanted: (name: string) => boolean = () => false): Promise<Map<string, Buffer>> {
  const zip = await open(input);
  const found = new Map<string, Buffer>();
  let declared = 0;
  let actual = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        declared += entry.uncompressedSize;
        if (declared > maxBytes) {
          reject(new ZipLimitError(`the archive declares more than ${maxBytes} bytes uncompressed (zip bomb?)`));
          return;
        }
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        zip.openReadStream(entry, (error, stream) => {
          if (error) {
            reject(error);
            return;
          }
          const keep = wanted(entry.fileName);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => {
            actual += chunk.length;
            if (actual > maxBytes) {
              stream.destroy();
              reject(new ZipLimitError(`the archive expands to more than ${maxBytes} bytes (zip bomb?)`));
              return;
            }
            if (keep) chunks.push(chunk);
          });
          stream.on('error', (streamError: Error) => reject(/too many bytes|too few bytes/i.test(streamError.message) ? new ZipLimitError(`an entry's size does not match what the archive declares (${streamError.message})`) : streamError));
          stream.on('end', () => {
            if (keep) found.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
  return found;
}
