// E-mail pages: your own mail preferences (reached from your account page), and the invitation link's
// page where a newly added person, or one whose password an admin reset, sets a password (before any sign-in, so anonymous CSRF).
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { MAIL_KINDS } from '../../domain/mail/message.js';
import { requestInfo } from '../plugins/authenticate.js';
import { anonymousCsrf, checkAnonymousCsrf, errorList, render, requireCsrf, signedIn, type Ui } from './context.js';
import { type Form, one, passwordFormStatus } from './form-fields.js';


export const mailPages = (ui: Ui): FastifyPluginAsync => async (app) => {
  const preferencesPage = async (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) => {
    const web = signedIn(request);
    const preferences = await ui.vault.mail.preferences(web.actor);
    const done = (request.query as { done?: string }).done === 'saved' ? 'Your e-mail preferences were saved.' : null;
    return render(ui, request, reply, 'account-email.njk', { preferences, kinds: MAIL_KINDS, delivers: ui.vault.mail.delivers, done, ...extra }, status);
  };

  app.get('/account/email', async (request, reply) => preferencesPage(request, reply));

  app.post<{ Body: Form }>('/account/email', async (request, reply) => {
    const web = requireCsrf(ui, request, one(request.body?._csrf));
    const choice = one(request.body.nonEssential);
    if (choice !== 'on' && choice !== 'off') {
      return preferencesPage(request, reply, { errors: [{ text: 'Choose whether to get e-mails that are not essential', href: '#nonEssential' }] }, 400);
    }
    await ui.vault.mail.setPreferences(web.actor, { nonEssentialOptOut: choice === 'off' });
    return reply.redirect('/account/email?done=saved', 303);
  });

  const invitationPage = (request: FastifyRequest, reply: FastifyReply, person: { name: string; email: string }, extra: Record<string, unknown> = {}, status = 200) =>
    render(ui, request, reply, 'invitation.njk', { person, csrfToken: anonymousCsrf(request, reply), ...extra }, status);

  // The token is in the path, so it never reaches another site: every page sends Referrer-Policy: no-referrer.
  app.get<{ Params: { token: string } }>('/invitation/:token', async (request, reply) => {
    const person = await ui.vault.invitations.check(request.params.token);
    return invitationPage(request, reply, person);
  });

  app.post<{ Params: { token: string }; Body: Form }>('/invitation/:token', async (request, reply) => {
    checkAnonymousCsrf(request, one(request.body?._csrf));
    const person = await ui.vault.invitations.check(request.params.token);
    const password = one(request.body.password);
    if (password !== one(request.body.confirm)) {
      return invitationPage(request, reply, person, { errors: [{ text: 'The passwords do not match: type the same password twice', href: '#confirm' }] }, 400);
    }
    try {
      await ui.vault.invitations.accept(request.params.token, password, requestInfo(request, 'web'));
    } catch (error) {
      const status = passwordFormStatus(reply, error);
      if (!status) throw error;
      return invitationPage(request, reply, person, { errors: errorList(error, 'password') }, status);
    }
    return render(ui, request, reply, 'invitation-done.njk', { person });
  });
};
