// The Storage page: the offsite replica's health for org admins and security admins (storage.read):
// how many blobs wait for the replica and for how long, how many versions have no good copy left,
// and when the last scheduled backup went into the replica.
// Counts only, for the whole vault: no names or ids, so no council learns another's business.
import type { FastifyPluginAsync } from 'fastify';
import { render, signedIn, type Ui } from './context.js';
import { ukDateTime } from '../../domain/uk-time.js';

export const storagePages = (ui: Ui): FastifyPluginAsync => async (app) => {
  app.get('/admin/storage', async (request, reply) => {
    const web = signedIn(request);
    const health = await ui.vault.replication.healthFor(web.actor);
    const lastBackup = await ui.vault.backups.lastFor(web.actor);
    return render(ui, request, reply, 'admin-storage.njk', {
      health, waiting: waitingFor(health.oldestWaitingSeconds),
      backupSchedule: ui.vault.config.backupSchedule,
      lastBackup: lastBackup === null ? null : { at: ukDateTime(lastBackup.at), ago: waitingFor(Math.max(0, Math.floor((ui.vault.clock.now().getTime() - Date.parse(lastBackup.at)) / 1000))) },
    });
  });
};

/** "3 minutes", "2 hours", "4 days": how long the oldest blob has waited for the replica. */
function waitingFor(seconds: number): string {
  const [value, unit] = seconds < 120 ? [seconds, 'second'] : seconds < 7200 ? [Math.floor(seconds / 60), 'minute'] : seconds < 172_800 ? [Math.floor(seconds / 3600), 'hour'] : [Math.floor(seconds / 86_400), 'day'];
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
}
