// The spawn wrapper: output and time limits, clean environment, escalating kills.
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ProgramError, runProgram, startProgram } from './process.js';

describe('runProgram', () => {
  it('returns stdout, stderr and the exit code', async () => {
    const result = await runProgram('/bin/sh', ['-c', 'printf out; printf err >&2'], { timeoutMs: 5000 });
    expect(result.stdout.toString()).toBe('out');
    expect(result.stderr).toBe('err');
    expect(result.exitCode).toBe(0);
  });

  it('feeds stdin from a buffer or a stream', async () => {
    expect((await runProgram('/bin/cat', [], { timeoutMs: 5000, input: Buffer.from('abc') })).stdout.toString()).toBe('abc');
    const stream = Readable.from([Buffer.from('one '), Buffer.from('two')]);
    expect((await runProgram('/bin/cat', [], { timeoutMs: 5000, input: stream })).stdout.toString()).toBe('one two');
  });

  it('does not pass our environment (and its secrets) to the child', async () => {
    process.env.STRONGROOM_TEST_SECRET = 'hunter2';
    try {
      const { stdout } = await runProgram('/usr/bin/env', [], { timeoutMs: 5000 });
      expect(stdout.toString()).not.toContain('hunter2');
      expect(stdout.toString()).toContain('PATH=');
    } finally {
      delete process.env.STRONGROOM_TEST_SECRET;
    }
  });

  it('kills a program that runs too long', async () => {
    const started = Date.now();
    const error = await runProgram('/bin/sleep', ['30'], { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProgramError);
    expect(error).toMatchObject({ kind: 'timeout', signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const error = await runProgram('/bin/sh', ['-c', 'trap "" TERM; while :; do sleep 0.05; done'], { timeoutMs: 200, killGraceMs: 300 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'timeout', signal: 'SIGKILL' });
  });

  it('stops a program that writes more than allowed', async () => {
    const error = await runProgram('/usr/bin/head', ['-c', '10000000', '/dev/zero'], { timeoutMs: 5000, maxOutputBytes: 1000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'output_limit' });
  });

  it('reports a failing exit with the end of stderr', async () => {
    const error = await runProgram('/bin/sh', ['-c', 'echo "bad input" >&2; exit 3'], { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'exit', exitCode: 3, stderr: 'bad input\n' });
    await expect(runProgram('/bin/sh', ['-c', 'exit 3'], { timeoutMs: 5000, okExitCodes: [0, 3] })).resolves.toMatchObject({ exitCode: 3 });
  });

  it('reports a program that cannot be started', async () => {
    await expect(runProgram('/nonexistent/program', [], { timeoutMs: 5000 })).rejects.toMatchObject({ kind: 'spawn' });
  });

  it('can be aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(runProgram('/bin/sleep', ['30'], { timeoutMs: 10_000, signal: controller.signal })).rejects.toMatchObject({ kind: 'aborted' });
    await expect(runProgram('/bin/sleep', ['30'], { timeoutMs: 10_000, signal: AbortSignal.abort() })).rejects.toMatchObject({ kind: 'aborted' });
  });
});

describe('startProgram', () => {
  const started: Array<{ stop(): Promise<unknown> }> = [];
  afterEach(async () => {
    await Promise.all(started.map((p) => p.stop()));
    started.length = 0;
  });

  it('runs until stopped, forwarding output lines', async () => {
    const lines: string[] = [];
    const program = startProgram('/bin/sh', ['-c', 'echo ready; exec sleep 30'], { onLine: (line) => lines.push(line) });
    started.push(program);
    await expect.poll(() => lines).toEqual(['ready']);
    expect(program.running).toBe(true);
    const pid = program.pid as number;
    expect(await program.stop(1000)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(program.running).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(program.outputTail()).toContain('ready');
  });

  it('SIGKILLs a program that ignores SIGTERM', async () => {
    const program = startProgram('/bin/sh', ['-c', 'trap "" TERM; echo trapped; while :; do sleep 0.05; done']);
    started.push(program);
    await expect.poll(() => program.outputTail()).toContain('trapped');
    expect(await program.stop(200)).toMatchObject({ signal: 'SIGKILL' });
  });

  it('resolves `exited` with the error when the program cannot start', async () => {
    const program = startProgram('/nonexistent/daemon', []);
    const exit = await program.exited;
    expect(exit.error).toBeInstanceOf(Error);
    expect(program.running).toBe(false);
  });
});
