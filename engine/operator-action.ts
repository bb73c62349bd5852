/**
 * What every operator action shares (docs/design.md "Operator actions"): the CLI and the console
 * call the same functions, each given its dependencies, the actor who asks, and returning a
 * small result or throwing a coded PasserelleError the caller can show. Each action writes who
 * and when into the data it changes, so the store itself says what operators did.
 */
import { PasserelleError } from './errors';

/** What became of an action: `outcome` in one word (for a console), `detail` in a line (for people). */
export interface ActionResult {
  outcome: string;
  detail: string;
}

/** Actors are short names such as `cli:alice`, `console:alice`, `token:nightly`. */
const ACTOR = /^[^\u0000-\u001f\u007f]{1,100}$/;

/** The actor as given, or PSL_ACTION_INVALID: an action nobody can be named for is not run. */
export function checkActor(actor: string): string {
  if (typeof actor !== 'string' || !ACTOR.test(actor) || actor.trim() === '') {
    throw new PasserelleError('PSL_ACTION_INVALID', 'an operator action needs the name of who asks it (e.g. console:alice, cli:bob), on one line, 100 characters at most');
  }
  return actor;
}

/** A free text an operator gave (a reason, a note): one line, bounded; required ones must not be empty. */
export function operatorText(text: string | undefined, what: string, required: boolean): string | undefined {
  const t = (text ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, 500);
  if (t === '' && required) throw new PasserelleError('PSL_ACTION_INVALID', `${what} is required`);
  return t === '' ? undefined : t;
}

/** `<what> by <actor> at <ISO time>`: the trace an action leaves in a reason or a detail. */
export function actionTrace(what: string, actor: string, at: Date = new Date()): string {
  return `${what} by ${actor} at ${at.toISOString()}`;
}

/** Who runs the CLI: `cli:<login>`, or `cli` when the system does not say. */
export function cliActor(env: NodeJS.ProcessEnv = process.env): string {
  const who = (env.USER ?? env.LOGNAME ?? '').replace(/[^\w.@-]/g, '').slice(0, 60);
  return who ? `cli:${who}` : 'cli';
}
