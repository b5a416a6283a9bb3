// The shared suite fixture: one clamd per file and one vault per dialect, opened before a
// describe's tests and closed after them, instead of the same hooks written out in every file.
//
//   const clamd = useClamd();
//   describe.each(DIALECTS)('something on %s', (dialect) => {
//     const t = useTestVault(dialect, clamd);
//     it('…', async () => { await upload(t.app, …) });
//   });
import { afterAll, beforeAll } from 'vitest';
import { startTestClamd, type TestClamd } from './clamd.js';
import { openTestVault, type Dialect, type TestVault } from './vault.js';

/** Starts a clamd for this file before its suites and stops it after; read it inside hooks and tests. */
export function useClamd(options: Parameters<typeof startTestClamd>[0] = {}): { readonly clamd: TestClamd; readonly socketPath: string } {
  let clamd: TestClamd | undefined;
  beforeAll(async () => {
    clamd = await startTestClamd(options);
  });
  afterAll(async () => {
    await clamd?.stop();
  });
  const started = (): TestClamd => {
    if (!clamd) throw new Error('clamd is started in beforeAll: use it inside a hook or a test');
    return clamd;
  };
  return {
    get clamd() { return started(); },
    get socketPath() { return started().socketPath; },
  };
}

/**
 * A vault on `dialect`, opened before the enclosing describe's tests and closed after them. The
 * returned object stands for it (its fields read the vault opened for this describe).
 */
export function useTestVault(dialect: Dialect, clamd: { readonly socketPath: string }, options: Omit<Parameters<typeof openTestVault>[0], 'dialect' | 'clamdSocket'> = {}): TestVault {
  let opened: TestVault | undefined;
  beforeAll(async () => {
    opened = await openTestVault({ ...options, dialect, clamdSocket: clamd.socketPath });
  });
  afterAll(async () => {
    await opened?.close();
  });
  const vault = (): TestVault => {
    if (!opened) throw new Error('the vault is opened in beforeAll: use it inside a hook or a test');
    return opened;
  };
  return {
    dialect,
    get vault() { return vault().vault; },
    get app() { return vault().app; },
    get dataDir() { return vault().dataDir; },
    close: () => vault().close(),
  };
}
