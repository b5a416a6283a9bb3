// `strongroom import --server URL --token T` against a running `strongroom serve`: a dry run writes
// nothing; the import brings every file in with its modification time; a re-run after a file
// changed brings it in as a new version of the same document and skips the rest; EICAR is refused
// and reported; usage errors, a refused token and a read-only one stop with exit 2. And the REST upload's own check
// of sourceModifiedAt.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useClamd } from '../support/fixture.js';
import { listeningPort, runCli, seedWithCli, spawnCli } from '../support/cli.js';
import { readReport, sha256, smallTree, vaultTree, type Getter } from '../support/import-tree.js';
import { sharedVaultPlace, type SharedVaultPlace } from '../support/vault-dir.js';
import * as samples from '../support/samples.js';
import { DIALECTS } from '../support/vault.js';

const clamd = useClamd();

describe.each(DIALECTS)('strongroom import --server on %s', (dialect) => {
  let place: SharedVaultPlace;
  let work: string;
  let seeded: { collectionId: string; token: string; email: string };
  let server: ChildProcess;
  let base: string;
  let get: Getter;
  beforeAll(async () => {
    place = await sharedVaultPlace(dialect, clamd.socketPath, 'sr-import-srv-');
    work = await mkdtemp(path.join(tmpdir(), 'sr-import-srv-src-'));
    seeded = await seedWithCli(place.dataDir, place.env, `import-srv-${dialect}`);
    server = spawnCli(['--data', place.dataDir, 'serve', '--port', '0'], { env: place.env });
    base = `http://127.0.0.1:${await listeningPort(server)}`;
    get = async (url) => {
      const res = await fetch(`${base}/api/v1/${url}`, { headers: { authorization: `Bearer ${seeded.token}` } });
      const body = await res.json() as unknown;
      return { status: res.status, json: () => body };
    };
  }, 300_000);
  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await place?.remove();
    await rm(work, { recursive: true, force: true });
  });

  const importArgs = (source: string, extra: string[] = []) => ['import', source, '--collection', seeded.collectionId, '--server', base, '--token', seeded.token, ...extra];

  it('dry run writes nothing; the import brings every file in; a changed file becomes a new version; EICAR is refused', { timeout: 180_000 }, async () => {
    const source = path.join(work, 'share');
    const hashes = await smallTree(source, 20, 2);
    const modified = new Date('2021-09-14T16:05:00.000Z');
    await utimes(path.join(source, 'folder-01', 'note-00001.txt'), modified, modified);

    const dryReport = path.join(work, 'dry.csv');
    const dry = await runCli(importArgs(source, ['--dry-run', '--report', dryReport]));
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toContain('Dry run: would import 20 file(s); 0 already there; 0 refused; 0 held for review; 0 failed. Nothing was written.');
    expect((await readReport(dryReport)).slice(1).map((r) => r[1])).toEqual(Array(20).fill('would import'));
    const untouched = (await get(`collections/${seeded.collectionId}`)).json() as { children: unknown[]; documents: unknown[] };
    expect(untouched.children).toEqual([]);
    expect(untouched.documents).toEqual([]);

    const first = await runCli(importArgs(source, ['--jobs', '3']));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('Imported 20 file(s); 0 refused; 0 skipped (already there); 0 held for review; 0 failed.');
    const landed = await vaultTree(get, seeded.collectionId);
    expect(new Map([...landed].map(([rel, d]) => [rel, d.sha256]))).toEqual(hashes);
    const stamped = landed.get(path.join('folder-01', 'note-00001.txt'))!;
    expect(stamped.sourceModifiedAt).toBe(modified.toISOString());
    expect(((await get(`documents/${stamped.id}/versions`)).json() as { versions: { sourceModifiedAt: string }[] }).versions[0]!.sourceModifiedAt).toBe(modified.toISOString());

    // The source changed after the migration: one file edited, one malware file dropped in.
    const changed = path.join(source, 'folder-00', 'note-00000.txt');
    await writeFile(changed, 'Amended after the meeting.\n');
    await writeFile(path.join(source, 'folder-00', 'eicar.txt'), samples.eicar());
    const preview = await runCli(importArgs(source, ['--dry-run']));
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stderr).toContain('Dry run: would import 2 file(s); 19 already there; 0 refused; 0 held for review; 0 failed. Nothing was written.');

    const report = path.join(work, 'second.csv');
    const second = await runCli(importArgs(source, ['--report', report]));
    expect(second.code, second.stderr).toBe(1);
    expect(second.stderr).toContain('Imported 1 file(s); 1 refused; 19 skipped (already there); 0 held for review; 0 failed.');
    expect(second.stderr).toMatch(/folder-00\/eicar\.txt: malware \([^)]*eicar[^)]*\); quarantined/i);
    const now = await vaultTree(get, seeded.collectionId);
    const edited = now.get(path.join('folder-00', 'note-00000.txt'))!;
    expect(edited.id).toBe(landed.get(path.join('folder-00', 'note-00000.txt'))!.id);
    expect(edited.version).toBe(2);
    expect(edited.sha256).toBe(sha256('Amended after the meeting.\n'));
    expect(now.size).toBe(21);
    const rows = new Map((await readReport(report)).slice(1).map((r) => [path.relative(source, r[0]!), r.slice(1)]));
    expect(rows.size).toBe(21);
    expect(rows.get(path.join('folder-00', 'note-00000.txt'))).toEqual(['imported', edited.id, '2', 'new version: the file changed since it was imported']);
    expect(rows.get(path.join('folder-00', 'eicar.txt'))![0]).toBe('refused');
    expect(rows.get(path.join('folder-00', 'note-00002.txt'))![0]).toBe('skipped');
  });

  it('a refused token or an unknown collection stops the import at once with exit 2', async () => {
    const badToken = await runCli(['import', work, '--collection', seeded.collectionId, '--server', base, '--token', 'not-a-token']);
    expect(badToken.code, badToken.stderr).toBe(2);
    expect(badToken.stderr).toMatch(/^strongroom import stopped: the server answered 401: .+\. Run the same command again to resume\.$/m);
    const unknown = await runCli(['import', work, '--collection', '00000000-0000-4000-8000-000000000000', '--server', base, '--token', seeded.token]);
    expect(unknown.code, unknown.stderr).toBe(2);
    expect(unknown.stderr).toMatch(/^strongroom import stopped: the server answered 404: /m);
    const missing = await runCli(['import', work, '--server', base, '--token', seeded.token]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("error: required option '--collection <id>' not specified");
  });

  it('a read-only token stops the import at its first refused write with exit 2, writing nothing, as a refused token does', { timeout: 120_000 }, async () => {
    const made = await fetch(`${base}/api/v1/me/tokens`, {
      method: 'POST', body: JSON.stringify({ name: 'reporting', scope: 'read' }), headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/json' },
    });
    expect(made.status).toBe(201);
    const { secret } = await made.json() as { secret: string };
    const source = path.join(work, 'read-only');
    await smallTree(source, 6, 2);
    const before = (await get(`collections/${seeded.collectionId}`)).json();
    const readOnly = await runCli(['import', source, '--collection', seeded.collectionId, '--server', base, '--token', secret, '--jobs', '1']);
    expect(readOnly.code, readOnly.stderr).toBe(2);
    expect(readOnly.stderr).toContain('strongroom import stopped: the server answered 403: This API token can only read: it cannot make changes. Use one made with full access, or the web interface. Run the same command again to resume.');
    expect((await get(`collections/${seeded.collectionId}`)).json()).toEqual(before);
  });

  it('the REST upload checks sourceModifiedAt before storing anything', async () => {
    const send = (query: string) => fetch(`${base}/api/v1/collections/${seeded.collectionId}/documents?name=dated.txt&${query}`, {
      method: 'POST', body: 'dated\n', headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/octet-stream' },
    });
    for (const bad of ['2024-03-01', 'yesterday', '2024-02-30T10:00:00Z']) {
      const res = await send(`sourceModifiedAt=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { detail: string }).detail).toBe('sourceModifiedAt must be an ISO 8601 date and time with a time zone, such as 2024-03-01T09:30:00Z.');
    }
    const future = await send(`sourceModifiedAt=${encodeURIComponent(new Date(Date.now() + 3 * 86_400_000).toISOString())}`);
    expect(future.status).toBe(400);
    expect(((await future.json()) as { detail: string }).detail).toBe("sourceModifiedAt is more than a day in the future; check the source machine's clock.");
    expect(((await get(`collections/${seeded.collectionId}`)).json() as { documents: { name: string }[] }).documents.map((d) => d.name)).not.toContain('dated.txt');
    const ok = await send('sourceModifiedAt=2020-01-02T03:04:05%2B01:00');
    expect(ok.status).toBe(201);
    const id = ((await ok.json()) as { id: string }).id;
    expect(((await get(`documents/${id}`)).json() as { sourceModifiedAt: string }).sourceModifiedAt).toBe('2020-01-02T02:04:05.000Z');
  });
});

// Refused before anything is opened or read: the same on every dialect, so asked once.
describe('strongroom import usage', () => {
  it.each([
    [[], 'strongroom import: Say where to import: --as EMAIL (into the data directory) or --server URL --token T (through a running server).'],
    [['--as', 'a@b.test', '--server', 'http://127.0.0.1:9'], 'strongroom import: Give either --as EMAIL (a data directory) or --server URL (a running server), not both.'],
    [['--server', 'http://127.0.0.1:9'], 'strongroom import: --server needs an API token: --token T or env STRONGROOM_TOKEN ("strongroom token create --user EMAIL" makes one).'],
    // Attack: the API token (a person's whole access) sent in clear across the network to a plain http:// server.
    [['--server', 'http://vault.example.test', '--token', 'srt_x'], 'strongroom import: --server http://vault.example.test would send the API token across the network unencrypted: use https://, or plain http:// only to this machine (127.0.0.1, localhost or [::1]).'],
    [['--server', 'http://10.0.0.5:8080/', '--token', 'srt_x'], 'strongroom import: --server http://10.0.0.5:8080/ would send the API token across the network unencrypted: use https://, or plain http:// only to this machine (127.0.0.1, localhost or [::1]).'],
    [['--as', 'a@b.test', '--jobs', '0'], 'strongroom import: --jobs must be a whole number from 1 to 64, not "0".'],
    [['--as', 'a@b.test', '--jobs', '2x'], 'strongroom import: --jobs must be a whole number from 1 to 64, not "2x".'],
  ])('usage error %j: exit 2 and says why', async (flags, message) => {
    const result = await runCli(['import', tmpdir(), '--collection', 'c', ...flags], { env: { STRONGROOM_TOKEN: undefined } });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(message);
  });

});
