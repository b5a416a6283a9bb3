// The Storage page: the offsite replica's health for org admins and security admins (storage.read):
// how many of their organisation's versions wait for the replica and for how long, how many of them have
// no good copy left, and when the last scheduled backup went into the replica. Counts only, of the
// organisation's own versions (ReplicationService.healthFor), so no council learns another's business; the
// backup's time is the service's, the same for every council, and says nothing of any council's documents.
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
