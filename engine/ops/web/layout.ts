/**
 * The frame of every console page: navigation by role, the signed-in user, our one stylesheet
 * and one script (served by the console from engine/ops/web/static at /static/).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, statusOf, userOf, can } from '../api/common';
import { html, raw, type Html } from './html';

export type Section = 'overview' | 'messages' | 'indicators' | 'audit' | 'users' | 'none';

const NAV: { section: Section; href: string; label: string; admin?: boolean }[] = [
  { section: 'overview', href: '/', label: 'Overview' },
  { section: 'messages', href: '/messages', label: 'Messages' },
  { section: 'indicators', href: '/indicators', label: 'Indicators' },
  { section: 'audit', href: '/audit', label: 'Audit', admin: true },
  { section: 'users', href: '/users', label: 'Users', admin: true },
];

export function layout(req: FastifyRequest, title: string, section: Section, body: Html): Html {
  const user = userOf(req);
  const links = NAV.filter((n) => !n.admin || can(req, 'admin')).map(
    (n) => html`<a href="${n.href}"${n.section === section ? raw(' class="active" aria-current="page"') : ''}>${n.label}</a>`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Passerelle</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body data-role="${user.role}">
<header class="top">
  <a class="brand" href="/">Passerelle</a>
  <nav>${links}</nav>
  <div class="who"><span class="user">${user.name}</span> <span class="role role-${user.role}">${user.role}</span>
    <form method="post" action="/logout" class="inline"><button type="submit" class="link">Log out</button></form></div>
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`;
}

export interface PageOut {
  title: string;
  section: Section;
  /** The page's region: sent alone when console.js refreshes it (`?fragment=1`). */
  body: Html;
}

/** console.js asks for a region only (`?fragment=1`) when it refreshes one. */
export function isFragment(req: FastifyRequest): boolean {
  return (req.query as Record<string, string | undefined> | undefined)?.fragment === '1';
}

/** Sends a page (or its region alone); errors become a page saying what failed (the PSL_ code and its message). */
export function pageRoute<R extends FastifyRequest>(render: (req: R, reply: FastifyReply) => Promise<PageOut>) {
  return async (req: R, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      const out = await render(req, reply);
      const page = isFragment(req) ? out.body : layout(req, out.title, out.section, out.body);
      return reply.type('text/html; charset=utf-8').header('cache-control', 'private, no-store').send(page.text);
    } catch (e) {
      const status = statusOf(e);
      if (status >= 500) throw e; // the console's error handler logs it and answers
      const { code, message } = errorBody(e);
      const body = html`<p class="error"><code>${code}</code> ${message}</p><p><a href="/">Back to the overview</a></p>`;
      return reply.code(status).type('text/html; charset=utf-8').send(isFragment(req) ? body.text : layout(req, status === 404 ? 'Not found' : 'Error', 'none', body).text);
    }
  };
}

/** An HTML fragment (a region refreshed or appended by console.js). */
export function fragment(reply: FastifyReply, h: Html): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'private, no-store').send(h.text);
}

/** A state badge; the class colours it (console.css). */
export function badge(state: string, title?: string): Html {
  return html`<span class="badge st-${state.replace(/[^a-z0-9-]/gi, '-')}"${title ? html` title="${title}"` : ''}>${state}</span>`;
}
