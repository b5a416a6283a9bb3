// The layer check (scripts/check-layers.mjs) itself: run on small trees written for each rule, it
// exits 1 naming the file, line and rule for a violating import, and 0 for a clean tree. And the
// type interfaces are given (AppServices) carries no adapter (checked by tsc, i.e. `make lint`).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { Vault } from '../src/main.js';
import type { AppServices } from '../src/services/app-services.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHECKER = path.join(REPO, 'scripts', 'check-layers.mjs');

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

/** Writes the files into a fresh tree and runs the checker on it. */
async function check(files: Record<string, string>): Promise<{ code: number; stdout: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'strongroom-layers-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [CHECKER, root]);
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
}

/** A tree shaped like ours in which every import points the allowed way. */
const CLEAN: Record<string, string> = {
  'src/domain/types.ts': 'export interface Actor { userId: string }\n',
  'src/domain/repositories.ts': "import type { Actor } from './types.js';\nexport interface Store { repos: { who(): Actor } }\n",
  'src/db/store.ts': "import type { Store as StorePort } from '../domain/repositories.js';\nimport { sql } from 'kysely';\nexport class Store implements StorePort { repos = { who: () => ({ userId: String(sql) }) } }\n",
  'src/services/documents.service.ts': "import type { Store } from '../domain/repositories.js';\nexport class DocumentsService { constructor(readonly store: Store) {} }\n",
  'src/services/app-services.ts': "import type { DocumentsService } from './documents.service.js';\nexport interface AppServices { documents: DocumentsService }\n",
  'src/protocol/content-headers.ts': "import type { Actor } from '../domain/types.js';\nexport const etagOf = (a: Actor) => a.userId;\n",
  'src/http/content.ts': "import { etagOf } from '../protocol/content-headers.js';\nexport const send = etagOf;\n",
  'src/http/api/documents.routes.ts': "import type { AppServices } from '../../services/app-services.js';\nimport { send } from '../content.js';\nexport const routes = (s: AppServices) => [s, send];\n",
  'src/http/ui/documents.routes.ts': "import { send } from '../content.js';\nimport { STATUS } from '../../protocol/error-status.js';\nexport const pages = [send, STATUS];\n",
  'src/protocol/error-status.ts': 'export const STATUS = {};\n',
  'src/http/app.ts': "import { routes } from './api/documents.routes.js';\nexport const buildApp = routes;\n",
  'src/webdav/plugin.ts': "import type { AppServices } from '../services/app-services.js';\nimport { etagOf } from '../protocol/content-headers.js';\nexport const dav = (s: AppServices) => [s, etagOf];\n",
  'src/compose/documents.ts': "import { Store } from '../db/store.js';\nimport { DocumentsService } from '../services/documents.service.js';\nexport const composeDocuments = () => new DocumentsService(new Store());\n",
  'src/main.ts': "import { composeDocuments } from './compose/documents.js';\nexport const open = composeDocuments;\n",
  'src/server.ts': "import { buildApp } from './http/app.js';\nimport { dav } from './webdav/plugin.js';\nexport const server = [buildApp, dav];\n",
  'src/cli/commands/serve.commands.ts': "import { open } from '../../main.js';\nimport { server } from '../../server.js';\nexport const serve = [open, server];\n",
  // Tests may reach anywhere to set things up.
  'test/support/vault.ts': "import { Store } from '../../src/db/store.js';\nexport const store = Store;\n",
  'src/http/app.test.ts': "import { Store } from '../db/store.js';\nexport const s = Store;\n",
};

describe('scripts/check-layers.mjs', () => {
  it('passes a tree whose imports all point the allowed way', async () => {
    expect(await check(CLEAN)).toEqual({ code: 0, stdout: '' });
  });

  it('passes this repository', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CHECKER, REPO]);
    expect(stdout).toBe('');
  });

  const violations: [string, string, string, string][] = [
    [
      'a service imports the concrete Store, even for a type',
      'src/services/documents.service.ts', "import type { Store } from '../db/store.js';\n",
      'src/services/documents.service.ts:1: services/ must depend on a port in domain/, not import from the db/ adapter (../db/store.js)',
    ],
    [
      'a service imports a storage adapter over several lines',
      'src/services/documents.service.ts', "// blobs\nimport type {\n  EncryptedBlobs,\n  WrittenBlob,\n} from '../storage/encrypted-blobs.js';\n",
      'src/services/documents.service.ts:5: services/ must depend on a port in domain/, not import from the storage/ adapter (../storage/encrypted-blobs.js)',
    ],
    [
      'a service imports an integration',
      'src/services/documents.service.ts', "import { ClamdScanner } from '../integrations/clamd.scanner.js';\n",
      'src/services/documents.service.ts:1: services/ must depend on a port in domain/, not import from the integrations/ adapter (../integrations/clamd.scanner.js)',
    ],
    [
      'a service imports the job worker',
      'src/services/documents.service.ts', "import type { JobWorker } from '../jobs/worker.js';\n",
      'src/services/documents.service.ts:1: services/ must depend on a port in domain/, not import from the jobs/ adapter (../jobs/worker.js)',
    ],
    [
      'a service imports the composition root',
      'src/services/documents.service.ts', "import type { Vault } from '../main.js';\n",
      'src/services/documents.service.ts:1: services/ must not import the composition root (../main.js)',
    ],
    [
      'a service imports a composition module',
      'src/services/documents.service.ts', "import { composeDocuments } from '../compose/documents.js';\n",
      'src/services/documents.service.ts:1: services/ must not import the composition root (../compose/documents.js)',
    ],
    [
      'an adapter imports a composition module',
      'src/db/store.ts', "import { composeDocuments } from '../compose/documents.js';\n",
      'src/db/store.ts:1: db/ is an adapter and must not import the composition root (../compose/documents.js)',
    ],
    [
      'WebDAV imports a composition module',
      'src/webdav/plugin.ts', "import { composeDocuments } from '../compose/documents.js';\n",
      'src/webdav/plugin.ts:1: webdav/ must not import the composition root: it is given AppServices (../compose/documents.js)',
    ],
    [
      'a web page reaches the store',
      'src/http/ui/browse.routes.ts', "import type { Store } from '../../db/store.js';\n",
      'src/http/ui/browse.routes.ts:1: http/ must go through a service, not import from db/ (../../db/store.js)',
    ],
    [
      'WebDAV reaches the blob store',
      'src/webdav/plugin.ts', "import { FsBlobStore } from '../storage/fs.blob-store.js';\n",
      'src/webdav/plugin.ts:1: webdav/ must go through a service, not import from storage/ (../storage/fs.blob-store.js)',
    ],
    [
      'the CLI queries a repository',
      'src/cli/demo-data.ts', "import type { OrganisationsRepo } from '../db/repos/organisations.repo.js';\n",
      'src/cli/demo-data.ts:1: cli/ must go through a service, not import from db/ (../db/repos/organisations.repo.js)',
    ],
    [
      'http imports WebDAV',
      'src/http/extensions.ts', "import { dav } from '../webdav/plugin.js';\n",
      'src/http/extensions.ts:1: http/ must not import another interface (webdav/): the composition root mounts interfaces, and shared HTTP helpers live in protocol/ (../webdav/plugin.js)',
    ],
    [
      'WebDAV imports http',
      'src/webdav/errors.ts', "import { STATUS } from '../http/error-handler.js';\n",
      'src/webdav/errors.ts:1: webdav/ must not import another interface (http/): the composition root mounts interfaces, and shared HTTP helpers live in protocol/ (../http/error-handler.js)',
    ],
    [
      'the CLI imports http instead of the composition root',
      'src/cli/commands/serve.commands.ts', "import { buildApp } from '../../http/app.js';\n",
      'src/cli/commands/serve.commands.ts:1: cli/ must not import another interface (http/): the composition root mounts interfaces, and shared HTTP helpers live in protocol/ (../../http/app.js)',
    ],
    [
      'a web page imports an API route file',
      'src/http/ui/documents.routes.ts', "import { routes } from '../api/documents.routes.js';\n",
      'src/http/ui/documents.routes.ts:1: http/ui/ must not import from http/api/: move what both need to http/ (../api/documents.routes.js)',
    ],
    [
      'http imports the composition root for its Vault',
      'src/http/app.ts', "import type { Vault } from '../main.js';\n",
      'src/http/app.ts:1: http/ must not import the composition root: it is given AppServices (../main.js)',
    ],
    [
      'an adapter imports an interface',
      'src/db/store.ts', "import { send } from '../http/content.js';\n",
      'src/db/store.ts:1: db/ is an adapter and must not import from http/ (../http/content.js)',
    ],
    [
      'protocol/ imports a service',
      'src/protocol/content-headers.ts', "import type { AppServices } from '../services/app-services.js';\n",
      'src/protocol/content-headers.ts:1: protocol/ may import only domain/ (../services/app-services.js)',
    ],
    [
      'domain/ imports a service',
      'src/domain/types.ts', "import type { DocumentsService } from '../services/documents.service.js';\n",
      'src/domain/types.ts:1: domain/ must not import outside src/domain (../services/documents.service.js)',
    ],
    [
      'an exemption without a reason',
      'src/services/documents.service.ts', "import type { Store } from '../db/store.js'; // layer-exempt:\n",
      'src/services/documents.service.ts:1: services/ must depend on a port in domain/, not import from the db/ adapter (../db/store.js) (layer-exempt needs a reason)',
    ],
  ];

  it.each(violations)('fails when %s', async (_what, file, text, message) => {
    const { code, stdout } = await check({ ...CLEAN, [file]: text });
    expect(code).toBe(1);
    expect(stdout).toBe(`${message}\ncheck-layers: 1 violation(s)\n`);
  });

  it('lets one import through with a reason given on its line', async () => {
    const text = "import type { Store } from '../db/store.js'; // layer-exempt: reading the schema version for a migration report\n";
    expect(await check({ ...CLEAN, 'src/services/documents.service.ts': text })).toEqual({ code: 0, stdout: '' });
  });

  it('lists every violation at once', async () => {
    const { code, stdout } = await check({
      ...CLEAN,
      'src/webdav/plugin.ts': "import { Store } from '../db/store.js';\nimport { buildApp } from '../http/app.js';\n",
      'src/services/documents.service.ts': "import { DocumentsRepo } from '../db/repos/documents.repo.js';\n",
    });
    expect(code).toBe(1);
    expect(stdout.trim().split('\n')).toEqual([
      'src/services/documents.service.ts:1: services/ must depend on a port in domain/, not import from the db/ adapter (../db/repos/documents.repo.js)',
      'src/webdav/plugin.ts:1: webdav/ must go through a service, not import from db/ (../db/store.js)',
      'src/webdav/plugin.ts:2: webdav/ must not import another interface (http/): the composition root mounts interfaces, and shared HTTP helpers live in protocol/ (../http/app.js)',
      'check-layers: 3 violation(s)',
    ]);
  });
});

describe('AppServices', () => {
  it('hands interfaces the services and none of the adapters the Vault holds', () => {
    expectTypeOf<Vault>().toExtend<AppServices>();
    expectTypeOf<AppServices>().not.toHaveProperty('store');
    expectTypeOf<AppServices>().not.toHaveProperty('blobStore');
    expectTypeOf<AppServices>().not.toHaveProperty('scanner');
    expectTypeOf<AppServices>().not.toHaveProperty('worker');
    expectTypeOf<AppServices>().toHaveProperty('documents');
    expectTypeOf<AppServices>().toHaveProperty('dav');
  });
});
