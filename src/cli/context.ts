// Shared CLI plumbing: global flags → Config → the services (main.ts opens the vault), printing ids on stdout and messages on stderr,
// and turning any error into one clear line and a non-zero exit.
import type { Command } from 'commander';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import { STORE_MARKER_NAME } from '../domain/store-marker.js';
import type { OpenVaultOptions } from '../main.js';
import type { AppServices } from '../services/app-services.js';

export interface GlobalFlags {
  data?: string;
  databaseUrl?: string;
}

export function configFrom(command: Command, extra: Record<string, string | boolean | undefined> = {}): Config {
  const flags = command.optsWithGlobals<GlobalFlags & Record<string, string | boolean | undefined>>();
  return loadConfig({ env: process.env, flags: { data: flags.data, databaseUrl: flags.databaseUrl, ...extra } });
}

/** Opens the vault for a one-shot command, runs it with the services, flushes the audit log and closes. */
export async function withVault<T>(command: Command, work: (vault: AppServices) => Promise<T>, options: OpenVaultOptions = {}): Promise<T> {
  const config = configFrom(command);
  // Loaded here, not at the top: a command that opens no vault (--help, a usage error, an import
  // through a server's API) need not load the vault's modules, nor any command the server's.
  const { openVault } = await import('../main.js');
  const vault = await openVault(config, { logger: pino({ level: process.env.STRONGROOM_LOG_LEVEL ?? 'warn' }, pino.destination(2)), ...options });
  // A dry run claims no store (main.ts OpenVaultOptions.dryRun): it says which the real run would.
  for (const claim of vault.storeClaims.filter((c) => !c.claimed)) {
    say(`Dry run: the ${claim.role === 'primary' ? 'blob store' : 'replica'} at ${claim.location} has no store marker (${STORE_MARKER_NAME}); `
      + `a real run would claim it for this vault (${vault.vaultId}). Nothing was written there.`);
  }
  try {
    const result = await work(vault);
    // The command's success (its exit status, what the caller prints from the result) leaves the
    // process only once its writes are on disk (docs/architecture.md "Durability").
    await vault.durable();
    return result;
  } finally {
    await vault.close();
  }
}

// Control characters other than tab, newline and CR LF (a CSV report's line end) — ESC, BEL, a lone CR,
// the C1 set with its one-byte CSI — and the bidirectional overrides and isolates. What the CLI prints carries text others wrote: a provider's name or
// entity id from an org admin's page, a person's name from a directory, a discovery document from a hostile
// provider, a row written straight into the database. None of it may act on the operator's terminal.
const TERMINAL_UNSAFE = /\r(?!\n)|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every character that could act on a terminal shown as its \uXXXX escape: visible, and still
 * valid inside a JSON string (JSON.stringify escapes C0 itself, but not C1 or the overrides).
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The one thing a creating command prints on standard output, so scripts can capture it. */
export function output(value: string): void {
  process.stdout.write(`${terminalSafe(value)}\n`);
}

/** Columns padded to their widest cell, the last left ragged: a listing's lines, its header row first. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

export function say(message: string): void {
  process.stderr.write(`${terminalSafe(message)}\n`);
}

export function failure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  if (error instanceof DomainError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** EX_TEMPFAIL of sysexits.h: the command was refused for a moment only; run it again. */
export const EX_TEMPFAIL = 75;

/** Whether the error is the database refusing for a moment only (busy with another process, or restarting). */
export function refusedForAMoment(error: unknown): boolean {
  return error instanceof DomainError && error.code === 'UNAVAILABLE' && typeof error.details?.retryAfterSeconds === 'number';
}

/**
 * The exit status of a command that failed: 75 (EX_TEMPFAIL) when it was refused for a moment only (the
 * database busy with another process, or restarting), so a script or cron job can run it again; 1 otherwise.
 */
export function exitStatusOf(error: unknown): number {
  return refusedForAMoment(error) ? EX_TEMPFAIL : 1;
}

export const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
