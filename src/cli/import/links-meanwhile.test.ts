// A share being imported is written to by the people whose files it holds, while the import runs
// with the operator's rights (and, directly, beside the vault's data directory and keys). Whatever
// they do to the share meanwhile, the import reads only files inside it, reached without a link:
// a folder or file swapped for a symbolic link after the walk saw it is refused, never followed.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Actor } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { DirectTarget } from './direct-target.js';
import { Progress, emptyTally } from './progress.js';
import type { ReportRow } from './report.js';
import { runImport } from './run.js';
import type { ImportTarget } from './target.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.realpath(await fsp.mkdtemp(join(tmpdir(), 'strongroom-import-links-')));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const SECRET = 'master-key-bytes-0123456789abcdef';

/** A vault that takes every upload whole, keeping what it was sent. */
function recordingVault(received: string[]): AppServices {
  const take = async (input: { body: Readable }) => {
    const chunks: Buffer[] = [];
    for await (const chunk of input.body) chunks.push(chunk as Buffer);
    received.push(Buffer.concat(chunks).toString());
    return { document: { id: 'd1' }, version: { number: 1, scanStatus: 'clean' } };
  };
  return {
    collections: {
      open: async () => ({ collection: { organisationId: 'o', id: 'c' }, children: [] }),
      get: async () => ({ collection: { organisationId: 'o', id: 'c' }, children: [], documents: [] }),
    },
    documents: { upload: (_a: unknown, _c: unknown, input: { body: Readable }) => take(input), uploadVersion: (_a: unknown, _d: unknown, input: { body: Readable }) => take(input) },
  } as unknown as AppServices;
}

/** The direct target, with `meanwhile` run when the run lists a folder's documents: after the walk saw its files, before any is sent. */
function racing(target: DirectTarget, meanwhile: () => Promise<void>): ImportTarget {
  return {
    description: target.description,
    open: (id) => target.open(id),
    childCollection: async () => 'child',
    documents: async () => {
      await meanwhile();
      return new Map();
    },
    versions: (id) => target.versions(id),
    upload: (c, f) => target.upload(c, f),
    uploadVersion: (d, f) => target.uploadVersion(d, f),
    close: () => target.close(),
  };
}

async function importing(target: ImportTarget, source: string): Promise<ReportRow[]> {
  const rows: ReportRow[] = [];
  const tally = emptyTally();
  const progress = new Progress(tally, { stream: { write: () => true } as unknown as NodeJS.WriteStream, tty: false, total: { files: 0, bytes: 0 } });
  await runImport(target, { sources: [source], collectionId: 'root', jobs: 1, dryRun: false, report: { add: (row: ReportRow) => void rows.push(row) } as never, progress, tally });
  return rows;
}

describe('import: links made while it runs', () => {
  it('refuses a file whose folder was swapped for a link to somewhere else after the walk listed it', async () => {
    const keys = join(dir, 'keys');
    await fsp.mkdir(keys);
    await fsp.writeFile(join(keys, 'master.key'), SECRET);
    const share = join(dir, 'share');
    await fsp.mkdir(join(share, 'letters'), { recursive: true });
    // A file of the same name and size as the one the swap will point at.
    await fsp.writeFile(join(share, 'letters', 'master.key'), 'x'.repeat(SECRET.length));
    const received: string[] = [];
    const target = racing(new DirectTarget(recordingVault(received), {} as Actor, 'a@example.org'), async () => {
      await fsp.rename(join(share, 'letters'), join(share, 'letters-old'));
      await fsp.symlink(keys, join(share, 'letters'));
    });
    const rows = await importing(target, share);
    expect(received.join('')).not.toContain(SECRET);
    expect(rows).toEqual([expect.objectContaining({ path: join(share, 'letters', 'master.key'), outcome: 'refused', detail: expect.stringMatching(/changed while it was being imported/) })]);
  });

  it('refuses a file swapped for a link after the walk saw it', async () => {
    await fsp.writeFile(join(dir, 'secret.txt'), SECRET);
    const share = join(dir, 'share');
    await fsp.mkdir(share);
    await fsp.writeFile(join(share, 'notes.txt'), 'x'.repeat(SECRET.length));
    const received: string[] = [];
    // The run looks at the file again just before sending it; the swap comes after that look.
    const direct = new DirectTarget(recordingVault(received), {} as Actor, 'a@example.org');
    const target: ImportTarget = {
      ...racing(direct, async () => undefined),
      upload: async (c, f) => {
        await fsp.rm(join(share, 'notes.txt'));
        await fsp.symlink(join(dir, 'secret.txt'), join(share, 'notes.txt'));
        return direct.upload(c, f);
      },
    };
    const rows = await importing(target, share);
    expect(received.join('')).not.toContain(SECRET);
    expect(rows).toEqual([expect.objectContaining({ outcome: 'refused', detail: expect.stringMatching(/changed while it was being imported/) })]);
  });

  it('imports ordinary files, below a root whose own path goes through a link the operator chose', async () => {
    const share = join(dir, 'real', 'share');
    await fsp.mkdir(join(share, 'a'), { recursive: true });
    await fsp.writeFile(join(share, 'a', 'one.txt'), 'one');
    await fsp.writeFile(join(share, 'two.txt'), 'two');
    await fsp.symlink(join(dir, 'real'), join(dir, 'mnt'));
    const received: string[] = [];
    const rows = await importing(racing(new DirectTarget(recordingVault(received), {} as Actor, 'a@example.org'), async () => undefined), join(dir, 'mnt', 'share'));
    expect(rows.map((r) => r.outcome)).toEqual(['imported', 'imported']);
    expect(received.sort()).toEqual(['one', 'two']);
  });
});
