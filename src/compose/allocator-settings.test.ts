// bin/strongroom sets the allocator's variables for the process it starts, keeps any the operator
// set, and passes every argument on; a server started without them says so.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAUNCHER_ALLOCATOR_VARIABLES, allocatorNote } from './allocator-settings.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAUNCHER = path.join(ROOT, 'bin', 'strongroom');

describe('bin/strongroom', () => {
  let dir: string;
  let fakeNode: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sr-launcher-'));
    // Stands in for node: prints what it was started with, one line each.
    fakeNode = path.join(dir, 'node');
    await writeFile(fakeNode, '#!/bin/sh\nfor a in "$@"; do echo "arg=$a"; done\nenv | grep "^MALLOC_" | sort\n');
    await chmod(fakeNode, 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const launch = async (args: string[], env: Record<string, string> = {}): Promise<string[]> => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('MALLOC_')));
    const { stdout } = await run(LAUNCHER, args, { env: { ...base, NODE: fakeNode, ...env } });
    return stdout.trim().split('\n');
  };

  it('starts the built CLI with the allocator settings and every argument, spaces kept', async () => {
    expect(await launch(['--data', '/srv/a b', 'serve'])).toEqual([
      `arg=${path.join(ROOT, 'dist', 'bundle', 'strongroom.js')}`,
      'arg=--data',
      'arg=/srv/a b',
      'arg=serve',
      'MALLOC_ARENA_MAX=2',
      'MALLOC_MMAP_THRESHOLD_=4194304',
      'MALLOC_TRIM_THRESHOLD_=16777216',
    ]);
  });

  it('keeps a value the operator set', async () => {
    const lines = await launch(['serve'], { MALLOC_TRIM_THRESHOLD_: '1048576' });
    expect(lines.filter((line) => line.startsWith('MALLOC_'))).toEqual(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=4194304', 'MALLOC_TRIM_THRESHOLD_=1048576']);
  });

  it('sets exactly the variables the server checks for', async () => {
    const set = (await launch([])).filter((line) => line.startsWith('MALLOC_')).map((line) => line.split('=')[0]);
    expect(set).toEqual([...LAUNCHER_ALLOCATOR_VARIABLES].sort());
  });

  it('finds the checkout through a symlink, as npm link and a PATH entry call it', async () => {
    const link = path.join(dir, 'strongroom');
    await symlink(LAUNCHER, link);
    const { stdout } = await run(link, [], { env: { ...process.env, NODE: fakeNode } });
    expect(stdout.split('\n')[0]).toBe(`arg=${path.join(ROOT, 'dist', 'bundle', 'strongroom.js')}`);
  });

  it('runs the real CLI when node is node', async () => {
    const { stdout } = await run(LAUNCHER, ['--help'], { env: { ...process.env, NODE: process.execPath } });
    expect(stdout).toContain('Usage: strongroom');
  });
});

describe('allocatorNote', () => {
  it('names what is missing on glibc', () => {
    expect(allocatorNote({}, () => true)).toMatch(/^Note: MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ are not set, .* Start with bin\/strongroom/);
    expect(allocatorNote({ MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '1' }, () => true)).toMatch(/^Note: MALLOC_TRIM_THRESHOLD_ is not set,/);
    expect(allocatorNote({ MALLOC_MMAP_THRESHOLD_: '1' }, () => true)).toMatch(/^Note: MALLOC_ARENA_MAX and MALLOC_TRIM_THRESHOLD_ are not set,/);
  });

  it('says nothing when all are set, to any value, or on another C library', () => {
    expect(allocatorNote({ MALLOC_ARENA_MAX: '8', MALLOC_MMAP_THRESHOLD_: '1', MALLOC_TRIM_THRESHOLD_: '2' }, () => true)).toBeUndefined();
    expect(allocatorNote({}, () => false)).toBeUndefined();
  });

  it('finds glibc on this machine', () => {
    expect(allocatorNote({})).toBeDefined();
  });
});
