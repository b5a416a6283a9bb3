// Administration pages: people (invite, roles, teams, clearance, MFA and password reset, disable) for org admins,
// your own API tokens and WebDAV app passwords, the security admin's quarantine, and breaking locks.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/errors.js';
import { INVITATION_DAYS, SHOWN_RESET_LINK_HOURS } from '../../domain/mail/message.js';
import { CLASSIFICATIONS, ROLES, type CredentialScope } from '../../domain/types.js';
import { requestInfo } from '../plugins/authenticate.js';
import { errorList, render, requireCsrf, setSession, signedIn, type Ui } from './context.js';
import { type Form, handled, many, one, passwordFormStatus } from './form-fields.js';

const CREDENTIAL_NAME_MAX = 100;


const DONE: Record<string, string> = {
  updated: 'The changes were saved.', disabled: 'The account was disabled and its sessions ended.', enabled: 'The account was enabled.',
  'mfa-reset': 'Two-factor authentication was reset: they will set it up again at their next sign-in.', revoked: 'The credential was revoked.',
  'password-reset': `The password was reset and they were signed out everywhere. We are e-mailing them a link to set a new one: it works once, for ${INVITATION_DAYS} days. Their API tokens, WebDAV app passwords and two-factor authentication are unchanged.`,
  password: 'Your password was changed. You were signed out everywhere else. Your API tokens and WebDAV app passwords were revoked: create new ones below where you still need them.',
  broken: 'The lock was broken. Its holder can no longer write with it.',
  released: 'The version was released.', destroyed: 'The version was destroyed: its key is gone and it can never be read.',
  'destroyed-reverted': 'The version was destroyed: its key is gone and it can never be read. The document is back to its latest readable version.',
  'destroyed-document': 'The version was destroyed, and its document with it: it had no other readable version, so every version’s key is gone and none can ever be read.',
};

export const adminPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const choices = { allRoles: ROLES, allTeams: ui.vault.serviceAreas, classifications: CLASSIFICATIONS };

  app.get<{ Querystring: { done?: string } }>('/admin/users', async (request, reply) => {
    const web = signedIn(request);
    const mayProvision = await ui.vault.access.may(web.actor, 'organisation.identity', { kind: 'organisation', organisationId: web.organisation.id });
    return render(ui, request, reply, 'admin-users.njk', { people: await ui.people.list(web.actor), done: DONE[request.query.done ?? ''] ?? null, mayProvision });
  });

  const invitePage = (request: FastifyRequest, reply: FastifyReply, values: Form = {}, errors: unknown[] = [], status = 200) =>
    render(ui, request, reply, 'admin-user-new.njk', { ...choices, values, chosenRoles: many(values.roles), chosenTeams: many(values.teams), errors }, status);

  app.get('/admin/users/new', async (request, reply) => {
    await ui.people.list(signedIn(request).actor); // org admins only
    return invitePage(request, reply);
  });

  app.post<{ Body: Form }>('/admin/users', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const b = request.body;
    try {
      const { user, generatedPassword, invited, signsInWith } = await ui.vault.userCreation.addUser(web.actor, {
        organisationSlug: web.organisation.slug, email: one(b.email), name: one(b.name) || one(b.email), roles: many(b.roles), teams: many(b.teams), clearance: one(b.clearance) || 'OFFICIAL',
      });
      return render(ui, request, reply, 'admin-user-invited.njk', { person: user, generatedPassword, invited, signsInWith, invitationDays: INVITATION_DAYS });
    } catch (error) {
      const status = passwordFormStatus(reply, error);
      if (!status) throw error;
      return invitePage(request, reply, b, errorList(error, 'email'), status);
    }
  });

  const personPage = async (request: FastifyRequest, reply: FastifyReply, id: string, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const person = await ui.people.get(web.actor, id);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    return render(ui, request, reply, 'admin-user.njk', { ...choices, person, done, ...extra }, status);
  };

  app.get<{ Params: { id: string } }>('/admin/users/:id', async (request, reply) => personPage(request, reply, request.params.id));

  app.post<{ Params: { id: string }; Body: Form }>('/admin/users/:id', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const b = request.body;
    try {
      await ui.people.update(web.actor, request.params.id, { roles: many(b.roles), teams: many(b.teams), clearance: one(b.clearance) });
      return reply.redirect(`/admin/users/${request.params.id}?done=updated`, 303);
    } catch (error) {
      if (!handled(error)) throw error;
      return personPage(request, reply, request.params.id, { errors: errorList(error) }, 400);
    }
  });

  for (const [step, done] of [['disable', 'disabled'], ['enable', 'enabled'], ['reset-mfa', 'mfa-reset']] as const) {
    app.post<{ Params: { id: string }; Body: Form }>(`/admin/users/:id/${step}`, async (request, reply) => {
      const web = requireCsrf(ui, request, one(request.body?._csrf));
      try {
        if (step === 'reset-mfa') await ui.people.resetMfa(web.actor, request.params.id);
        else await ui.people.setDisabled(web.actor, request.params.id, step === 'disable');
        return reply.redirect(`/admin/users/${request.params.id}?done=${done}`, 303);
      } catch (error) {
        if (!handled(error)) throw error;
        return personPage(request, reply, request.params.id, { errors: errorList(error) }, 400);
      }
    });
  }

  // A password reset: a page that says what will happen, then the reset. Whether it is allowed is the service's
  // (decide()'s person.reset-password); a refusal it explains is shown on the person's page.
  app.get<{ Params: { id: string } }>('/admin/users/:id/reset-password', async (request, reply) => {
    const person = await ui.people.get(signedIn(request).actor, request.params.id);
    return render(ui, request, reply, 'admin-user-reset-password.njk', { person, emailed: ui.vault.mail.delivers, invitationDays: INVITATION_DAYS, shownLinkHours: SHOWN_RESET_LINK_HOURS });
  });

  app.post<{ Params: { id: string }; Body: Form }>('/admin/users/:id/reset-password', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    try {
      const reset = await ui.people.resetPassword(web.actor, request.params.id);
      if (reset.delivery === 'e-mail') return reply.redirect(`/admin/users/${request.params.id}?done=password-reset`, 303);
      // The link is on this page only (no-store): never in a URL of ours, never stored in clear. Built as the
      // app's other addresses are: from STRONGROOM_PUBLIC_URL when set, else the address this browser used.
      const link = `${ui.vault.config.publicUrl ?? `${request.protocol}://${request.host}`}${reset.link.path}`;
      return render(ui, request, reply, 'admin-user-password-reset.njk', { person: reset.user, link, expiresAt: reset.link.expiresAt, shownLinkHours: SHOWN_RESET_LINK_HOURS });
    } catch (error) {
      if (!handled(error)) throw error;
      return personPage(request, reply, request.params.id, { errors: errorList(error) }, 400);
    }
  });

  const accountPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const credentials = await ui.vault.credentials.listCredentials(web.actor, web.user.id);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    return render(ui, request, reply, 'account.njk', { credentials, done, ...extra }, status);
  };

  app.get('/account', async (request, reply) => accountPage(request, reply));

  app.post<{ Body: Form }>('/account/credentials', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const kind = one(request.body.kind) === 'app_password' ? 'app_password' : 'api_token';
    const name = one(request.body.name).trim();
    if (!name) return accountPage(request, reply, { errors: [{ text: 'Enter a name for the credential, like "Laptop WebDAV"', href: '#name' }] }, 400);
    // The same limit as the API, refused rather than cut: a stored name must be the one typed.
    if (name.length > CREDENTIAL_NAME_MAX) return accountPage(request, reply, { errors: [{ text: `The name must be ${CREDENTIAL_NAME_MAX} characters or fewer`, href: '#name' }] }, 400);
    // None chosen (a form from before scopes) is the default, full. Anything else is the service's to judge, as the
    // API's is: a value the radios do not offer ('Read', 'read-only') is refused on the form, never taken as full.
    const scope = (one(request.body.scope) || 'full') as CredentialScope;
    try {
      const created = await ui.vault.credentials.createCredential(web.actor, web.user.id, kind, name, scope);
      return accountPage(request, reply, { created: { ...created, kind, name, scope } });
    } catch (error) {
      if (!handled(error)) throw error;
      return accountPage(request, reply, { errors: errorList(error) }, 400);
    }
  });

  app.post<{ Body: Form }>('/account/password', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    try {
      const sessionId = await ui.vault.passwordChange.changePassword(web.session, one(request.body.currentPassword), one(request.body.password), requestInfo(request, 'web'));
      setSession(request, reply, sessionId);
      return reply.redirect('/account?done=password', 303);
    } catch (error) {
      const status = passwordFormStatus(reply, error);
      if (!status) throw error;
      return accountPage(request, reply, { errors: errorList(error, 'password') }, status);
    }
  });

  app.post<{ Params: { id: string }; Body: Form }>('/account/credentials/:id/revoke', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    await ui.vault.credentials.revokeCredential(web.actor, request.params.id);
    return reply.redirect('/account?done=revoked', 303);
  });

  app.get<{ Querystring: { done?: string } }>('/admin/locks', async (request, reply) => {
    const web = signedIn(request);
    const locks = await ui.vault.locks.listForOrganisation(web.actor, web.organisation.id);
    const mayBreak = await ui.vault.access.may(web.actor, 'lock.break', { kind: 'organisation', organisationId: web.organisation.id });
    return render(ui, request, reply, 'admin-locks.njk', { locks, mayBreak, done: DONE[request.query.done ?? ''] ?? null });
  });

  app.post<{ Body: Form }>('/admin/locks/break', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    await ui.vault.locks.release(web.actor, one(request.body.token));
    return reply.redirect('/admin/locks?done=broken', 303);
  });

  const quarantinePage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    // Each item says what the actor may see of it and do with it (quarantine.identify, release, destroy).
    const items = await ui.vault.quarantine.list(web.actor);
    const done = DONE[(request.query as { done?: string }).done ?? ''] ?? null;
    return render(ui, request, reply, 'admin-quarantine.njk', { items, done, ...extra }, status);
  };

  app.get('/admin/quarantine', async (request, reply) => quarantinePage(request, reply));

  app.post<{ Params: { versionId: string; step: string }; Body: Form }>('/admin/quarantine/:versionId/:step', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const { versionId, step } = request.params;
    try {
      if (step === 'release') {
        await ui.vault.quarantine.release(web.actor, versionId, one(request.body.reason));
        return reply.redirect('/admin/quarantine?done=released', 303);
      }
      if (step !== 'destroy') throw new DomainError('NOT_FOUND', 'No such action.');
      // Said plainly when the document went back to an earlier version, or went with it.
      const destroyed = await ui.vault.quarantine.destroy(web.actor, versionId);
      const done = destroyed.kind === 'reverted' ? 'destroyed-reverted' : destroyed.kind === 'document' ? 'destroyed-document' : 'destroyed';
      return reply.redirect(`/admin/quarantine?done=${done}`, 303);
    } catch (error) {
      // A release above the admin's clearance is told on the page, beside the item it refused (403).
      const aboveClearance = error instanceof DomainError && error.code === 'FORBIDDEN';
      if (!handled(error) && !aboveClearance) throw error;
      return quarantinePage(request, reply, { errors: errorList(error, `reason-${versionId}`) }, aboveClearance ? 403 : 400);
    }
  });
};
