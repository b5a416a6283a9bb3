// Source trees for `strongroom import` suites, the vault's view of what landed, and the report read back.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** `files` small text files spread over `folders` folders (folder-00 …), each with its own content; returns relative path → SHA-256. */
export async function smallTree(root: string, files: number, folders: number): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (let f = 0; f < folders; f += 1) await mkdir(path.join(root, `folder-${String(f).padStart(2, '0')}`), { recursive: true });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < files; i += 1) {
    const rel = path.join(`folder-${String(i % folders).padStart(2, '0')}`, `note-${String(i).padStart(5, '0')}.txt`);
    const body = `Minutes, item ${i}: the committee noted the report.\n${'x'.repeat(i % 200)}\n`;
    hashes.set(rel, sha256(body));
    writes.push(writeFile(path.join(root, rel), body));
    if (writes.length >= 64) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  return hashes;
}

export interface VaultDocument { id: string; name: string; sha256: string; status: string; version: number; sourceModifiedAt: string | null }
export type Getter = (url: string) => Promise<{ status: number; json: () => unknown }>;

/** Every document below a collection, by path relative to it ("folder-00/note-00000.txt"), read through the REST API. */
export async function vaultTree(get: Getter, collectionId: string, prefix = ''): Promise<Map<string, VaultDocument>> {
  const found = new Map<string, VaultDocument>();
  let after: string | undefined;
  let children: { id: string; name: string }[] = [];
  for (;;) {
    const res = await get(`collections/${collectionId}${after === undefined ? '' : `?documentsAfter=${encodeURIComponent(after)}`}`);
    if (res.status !== 200) throw new Error(`listing ${collectionId}: ${res.status}`);
    const body = res.json() as { children: { id: string; name: string }[]; documents: VaultDocument[] };
    if (after === undefined) children = body.children;
    if (body.documents.length === 0) break;
    for (const d of body.documents) found.set(path.join(prefix, d.name), d);
    after = body.documents[body.documents.length - 1]!.name;
  }
  for (const child of children) for (const [k, v] of await vaultTree(get, child.id, path.join(prefix, child.name))) found.set(k, v);
  return found;
}

/** The report as rows of fields (RFC 4180: quoted fields may hold commas, quotes and line breaks). */
export async function readReport(file: string): Promise<string[][]> {
  const text = await readFile(file, 'utf8');
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 1; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 1; } else field += c;
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}
