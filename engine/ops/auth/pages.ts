import { escapeHtml as h, simplePage } from '../http';
import { MIN_PASSWORD_LENGTH } from './passwords';

/** The login form (no script: it works before anything else of the console loads). */
export function loginPage(o: { next: string; error?: string; name?: string; oidc?: string }): string {
  return simplePage(
    'Log in',
    `${o.error ? `<p class="error" role="alert">${h(o.error)}</p>` : ''}
<form method="post" action="/login" class="login-form">
<input type="hidden" name="next" value="${h(o.next)}">
<label>User <input name="name" autocomplete="username" required autofocus value="${h(o.name ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>${o.oidc ? `
<p class="oidc-login"><a class="button" href="/login/oidc?next=${encodeURIComponent(o.next)}">Log in with ${h(o.oidc)}</a></p>` : ''}`,
  );
}

export function passwordPage(o: { next: string; user: string; forced: boolean; error?: string }): string {
  return simplePage(
    'Change password',
    `${o.forced ? `<p>Hello ${h(o.user)}: choose your own password before going on.</p>` : ''}
${o.error ? `<p class="error" role="alert">${h(o.error)}</p>` : ''}
<form method="post" action="/password" class="password-form">
<input type="hidden" name="next" value="${h(o.next)}">
<label>Current password <input name="current" type="password" autocomplete="current-password" required></label>
<label>New password (${MIN_PASSWORD_LENGTH} characters or more) <input name="password" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required></label>
<label>New password again <input name="confirm" type="password" autocomplete="new-password" minlength="${MIN_PASSWORD_LENGTH}" required></label>
<button type="submit">Change password</button>
</form>
<form method="post" action="/logout"><button type="submit" class="link">Log out</button></form>`,
  );
}
