// REST: the people of the caller's own organisation, for its org admins: list, read, switch an account off
// or on, reset its two-step verification. The same UsersAdminService calls as the admin pages, so the same
// decisions (decide()'s organisation.manage-users, person.disable, person.enable and person.reset-mfa), refusals,
// audit events and notices.
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CLASSIFICATIONS, DISABLED_BY, ROLES, type User } from '../../domain/types.js';
import type { AppServices } from '../../services/app-services.js';
import { bearerActor } from '../plugins/authenticate.js';

const idParams = z.object({ id: z.string() });

/** A person as their org admins see them over REST: never a password hash, an MFA secret or a credential. */
export const personSchema = z.object({
  id: z.string(), email: z.string(), name: z.string(), organisationId: z.string(),
  roles: z.array(z.string()).describe(ROLES.join(' | ')),
  teams: z.array(z.string()).describe('Service areas'),
  clearance: z.string().describe(CLASSIFICATIONS.join(' | ')),
  mfaEnabled: z.boolean().describe('Two-step verification is set up'),
  disabled: z.boolean().describe('Switched off: signs in nowhere, no API token or app password works'),
  disabledBy: z.enum(DISABLED_BY).nullable().describe('Who switched it off, while it is off: an admin (or the operator), or the directory (SCIM)'),
  createdAt: z.string(),
});

const presentPerson = (u: User): z.infer<typeof personSchema> => ({
  id: u.id, email: u.email, name: u.name, organisationId: u.organisationId, roles: u.roles, teams: u.teams, clearance: u.clearance,
  mfaEnabled: u.mfaEnabled, disabled: u.disabled, disabledBy: u.disabledBy, createdAt: u.createdAt,
});

export const usersRoutes = (vault: AppServices): FastifyPluginAsync => async (app) => {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/users', {
    schema: { tags: ['users'], summary: 'The people of your organisation (org admins)', response: { 200: z.object({ users: z.array(personSchema) }) } },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return { users: (await vault.people.list(actor)).map(presentPerson) };
  });

  r.get('/users/:id', {
    schema: { tags: ['users'], summary: 'One person of your organisation (org admins; anyone else\'s id answers 404)', params: idParams, response: { 200: personSchema } },
  }, async (request) => {
    const actor = await bearerActor(vault.identity, request);
    return presentPerson(await vault.people.get(actor, request.params.id));
  });

  const steps = [
    ['disable', 'Switch an account off: its sessions end and its API tokens and app passwords are revoked (org admins, not your own, not the last enabled org admin: 409; audited)'],
    ['enable', 'Switch an account on again; its owner is sent a security notice (org admins, not your own; audited)'],
    ['reset-mfa', 'Reset two-step verification: they set it up again at their next sign-in; their sessions end and, if there was anything to clear, they are sent a security notice (org admins, not your own: 400; audited)'],
  ] as const;
  for (const [step, summary] of steps) {
    r.post(`/users/:id/${step}`, { schema: { tags: ['users'], summary, params: idParams } }, async (request, reply) => {
      const actor = await bearerActor(vault.identity, request);
      if (step === 'reset-mfa') await vault.people.resetMfa(actor, request.params.id);
      else await vault.people.setDisabled(actor, request.params.id, step === 'disable');
      return reply.status(204).send();
    });
  }
};
