#!/usr/bin/env node
// The strongroom command line: administration, the server, the demo, audit verification and bulk import.
import { Command } from 'commander';
import { registerAdminCommands } from './commands/admin.commands.js';
import { registerArrangementCommands } from './commands/arrangement.commands.js';
import { registerAuditCommands } from './commands/audit.commands.js';
import { registerBackupCommands } from './commands/backup.commands.js';
import { registerDisposalCommands } from './commands/disposal.commands.js';
import { registerFilePlanCommands } from './commands/file-plan.commands.js';
import { registerImportCommand } from './commands/import.command.js';
import { registerJobsCommands } from './commands/jobs.commands.js';
import { registerLockCommands } from './commands/lock.commands.js';
import { registerHoldCommands } from './commands/hold.commands.js';
import { registerIdpCommands } from './commands/idp.commands.js';
import { registerRetentionCommands } from './commands/retention.commands.js';
import { registerSeriesCommands } from './commands/series.commands.js';
import { registerScimCommands } from './commands/scim.commands.js';
import { registerScrubCommand } from './commands/scrub.command.js';
import { registerSearchCommand } from './commands/search.js';
import { registerServeCommands } from './commands/serve.commands.js';
import { registerStorageCommands } from './commands/storage.commands.js';
import { exitStatusOf, failure, say } from './context.js';

const program = new Command()
  .name('strongroom')
  .description('Strongroom: the encrypted, audited document vault for councils and their shared services.')
  .option('--data <dir>', 'data directory (env STRONGROOM_DATA, default ./data)')
  .option('--database-url <url>', 'postgres://… to use PostgreSQL instead of the embedded SQLite (env STRONGROOM_DATABASE_URL)')
  .showHelpAfterError()
  .addHelpText('after', [
    '',
    'Start with "strongroom demo", or "strongroom init" then "strongroom serve". Every command takes --data DIR.',
    'Find documents by their words (OCR included) with "strongroom search --as EMAIL QUERY"; after upgrading,',
    '"strongroom search reindex" queues the documents stored before search existed (docs/search.md).',
    'A command the database refused for a moment (busy with another process, or PostgreSQL restarting) says so and exits 75: run it again.',
  ].join('\n'));

registerServeCommands(program);
registerAdminCommands(program);
registerArrangementCommands(program);
registerAuditCommands(program);
registerImportCommand(program);
registerFilePlanCommands(program);
registerLockCommands(program);
registerHoldCommands(program);
registerJobsCommands(program);
registerDisposalCommands(program);
registerSeriesCommands(program);
registerRetentionCommands(program);
registerBackupCommands(program);
registerScrubCommand(program);
registerStorageCommands(program);
registerScimCommands(program);
registerSearchCommand(program);
registerIdpCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  say(`strongroom: ${failure(error)}`);
  process.exitCode = process.exitCode || exitStatusOf(error);
});
