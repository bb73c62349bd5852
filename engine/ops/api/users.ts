import { parseRole } from '../auth/user-admin';
import type { PlatformRoutes } from '../platform';

type NameParams = { Params: { name: string } };
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Users and API tokens (admin; every change audited). Generated passwords and new tokens are
 * in the answer once and never again.
 */
export const userRoutes: PlatformRoutes = (app, p) => {
  const admin = { config: { role: 'admin' as const } };

  app.get('/api/users', admin, async () => ({ users: await p.users.list() }));

  app.post<{ Body: { name?: unknown; role?: unknown; password?: unknown } }>('/api/users', admin, async (req, reply) => {
    const name = str(req.body?.name) ?? '';
    const role = parseRole(req.body?.role);
    const made = await p.users.create(name, role, str(req.body?.password));
    await p.audit(req, { action: 'user.create', target: name, detail: `role ${role}${made.password ? ', generated password' : ''}` });
    return reply.code(201).send(made);
  });

  app.post<NameParams & { Body: { role?: unknown } }>('/api/users/:name/role', admin, async (req) => {
    const role = parseRole(req.body?.role);
    const user = await p.users.setRole(req.params.name, role);
    await p.audit(req, { action: 'user.role', target: req.params.name, detail: role });
    return { user };
  });

  for (const [path, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post<NameParams>(`/api/users/:name/${path}`, admin, async (req) => {
      const user = await p.users.setDisabled(req.params.name, disabled);
      await p.audit(req, { action: `user.${path}`, target: req.params.name });
      return { user };
    });
  }

  app.post<NameParams>('/api/users/:name/reset', admin, async (req) => {
    const { password } = await p.users.setPassword(req.params.name);
    await p.audit(req, { action: 'user.reset', target: req.params.name, detail: 'generated password, change required' });
    return { password };
  });

  app.get<{ Querystring: { user?: string } }>('/api/tokens', admin, async (req) => ({ tokens: await p.users.listTokens(str(req.query.user)) }));

  app.post<{ Body: { user?: unknown; label?: unknown; role?: unknown } }>('/api/tokens', admin, async (req, reply) => {
    const user = str(req.body?.user) ?? '';
    const made = await p.users.createToken(user, str(req.body?.label) ?? '', req.body?.role === undefined ? undefined : parseRole(req.body.role));
    await p.audit(req, { action: 'token.create', target: user, detail: `${made.view.id} ${made.view.role} ${made.view.label}`.trim() });
    return reply.code(201).send(made);
  });

  app.post<{ Params: { id: string } }>('/api/tokens/:id/revoke', admin, async (req) => {
    await p.users.revokeToken(req.params.id);
    await p.audit(req, { action: 'token.revoke', target: req.params.id });
    return { ok: true };
  });
};
