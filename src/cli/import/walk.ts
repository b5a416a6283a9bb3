// Walking the source tree for `strongroom import`: depth first, names sorted, symbolic links never
// followed (a link on a share can point anywhere, including back up the tree), and every entry that
// cannot be read reported rather than fatal. Yields as it goes, so a 100,000-file share is never
// held in memory as a list.
import type { Dirent } from 'node:fs';
import { lstat, opendir, realpath } from 'node:fs/promises';
import path from 'node:path';

/** A folder entered: `folders` is its path of folder names below the import root. */
export interface FolderEntry { kind: 'folder'; folders: string[]; source: string }
/** `realPath`: where it is, every folder above it resolved once at the root (opening it must land there); `identity`: its device and inode. */
export interface FileEntry { kind: 'file'; folders: string[]; name: string; source: string; realPath: string; identity: { dev: number; ino: number }; size: number; modifiedAt: Date }
/** Something that is not imported and why: a link, a device or socket, or an entry that could not be read. */
export interface ProblemEntry { kind: 'problem'; folders: string[]; source: string; outcome: 'refused' | 'failed'; reason: string }
export type TreeEntry = FolderEntry | FileEntry | ProblemEntry;

/** The paths given on the command line: a folder's contents land in the destination collection itself, a file lands there too. */
export async function* walkSources(sources: string[]): AsyncGenerator<TreeEntry> {
  for (const source of sources) {
    const info = await lstat(source).catch((error: NodeJS.ErrnoException) => error);
    if (info instanceof Error) {
      yield problem([], source, 'failed', unreadable(info));
    } else if (info.isSymbolicLink()) {
      yield problem([], source, 'refused', LINK);
    } else if (info.isDirectory()) {
      // The folders above the root the operator named are theirs to choose: resolved here, once.
      const real = await realpath(source).catch((error: NodeJS.ErrnoException) => error);
      if (real instanceof Error) yield problem([], source, 'failed', unreadable(real));
      else yield* walkFolder(source, real, []);
    } else if (info.isFile()) {
      const realDir = await realpath(path.dirname(source)).catch((error: NodeJS.ErrnoException) => error);
      if (realDir instanceof Error) yield problem([], source, 'failed', unreadable(realDir));
      else yield { kind: 'file', folders: [], name: path.basename(source), source, realPath: path.join(realDir, path.basename(source)), identity: { dev: info.dev, ino: info.ino }, size: info.size, modifiedAt: info.mtime };
    } else {
      yield problem([], source, 'refused', SPECIAL);
    }
  }
}

async function* walkFolder(dir: string, realDir: string, folders: string[]): AsyncGenerator<TreeEntry> {
  let names: Dirent[];
  try {
    names = [];
    // opendir streams the listing; it is sorted here so runs and reports come out in one order.
    for await (const entry of await opendir(dir)) names.push(entry);
  } catch (error) {
    yield problem(folders, dir, 'failed', unreadable(error as NodeJS.ErrnoException));
    return;
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: Dirent[] = [];
  const subfolders: Dirent[] = [];
  for (const entry of names) (entry.isDirectory() ? subfolders : files).push(entry);
  // Files first, then each subfolder: a folder's documents are listed once, when it is entered.
  for (const entry of files) {
    const source = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      yield problem(folders, source, 'refused', LINK);
    } else if (entry.isFile()) {
      const info = await lstat(source).catch((error: NodeJS.ErrnoException) => error);
      if (info instanceof Error) yield problem(folders, source, 'failed', unreadable(info));
      else yield { kind: 'file', folders, name: entry.name, source, realPath: path.join(realDir, entry.name), identity: { dev: info.dev, ino: info.ino }, size: info.size, modifiedAt: info.mtime };
    } else {
      yield problem(folders, source, 'refused', SPECIAL);
    }
  }
  for (const entry of subfolders) {
    const inner = [...folders, entry.name];
    const source = path.join(dir, entry.name);
    yield { kind: 'folder', folders: inner, source };
    yield* walkFolder(source, path.join(realDir, entry.name), inner);
  }
}

/** Files and bytes below the sources, for the progress bar's ETA: names and sizes only, nothing kept. */
export async function countSources(sources: string[]): Promise<{ files: number; bytes: number }> {
  const total = { files: 0, bytes: 0 };
  for await (const entry of walkSources(sources)) {
    if (entry.kind === 'file') {
      total.files += 1;
      total.bytes += entry.size;
    } else if (entry.kind === 'problem') {
      total.files += 1;
    }
  }
  return total;
}

const LINK = 'symbolic link: not followed';
const SPECIAL = 'not a regular file (device, socket or pipe)';

function problem(folders: string[], source: string, outcome: 'refused' | 'failed', reason: string): ProblemEntry {
  return { kind: 'problem', folders, source, outcome, reason };
}

function unreadable(error: NodeJS.ErrnoException): string {
  if (error.code === 'EACCES' || error.code === 'EPERM') return 'unreadable: permission denied';
  if (error.code === 'ENOENT') return 'unreadable: no longer there';
  return `unreadable: ${error.code ?? error.message}`;
}
