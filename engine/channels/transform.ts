import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { Message } from '../hl7';
import { PasserelleError } from '../errors';

/** Context given to handlers: facts about the message, never a way to reach the engine. */
export interface StageContext {
  channel: string;
  id: string;
}

/** A transform returns the outbound message; null drops it (state `filtered`). */
export type TransformFn = (msg: Message, ctx: StageContext) => Message | string | null | Promise<Message | string | null>;
export type FilterFn = (msg: Message, ctx: StageContext) => boolean | Promise<boolean>;

/**
 * Mapping files (mappings/*.yaml): a list of field operations applied in order.
 *   - set:   { path: MSH-5, value: EAI }        value escaped on write
 *   - copy:  { from: PID-3[1].1, to: PID-2 }
 *   - clear: { path: PID-19 }
 */
const mappingSchema = z.strictObject({
  description: z.string().optional(),
  steps: z.array(
    z.union([
      z.strictObject({ set: z.strictObject({ path: z.string(), value: z.string() }) }),
      z.strictObject({ copy: z.strictObject({ from: z.string(), to: z.string() }) }),
      z.strictObject({ clear: z.strictObject({ path: z.string() }) }),
    ]),
  ),
});

export function loadMapping(file: string): TransformFn {
  const parsed = mappingSchema.safeParse(parseYaml(readFileSync(file, 'utf8')));
  if (!parsed.success) {
    throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const steps = parsed.data.steps;
  return (msg) => {
    for (const step of steps) {
      if ('set' in step) msg.set(step.set.path, step.set.value);
      else if ('copy' in step) msg.setRaw(step.copy.to, msg.getRaw(step.copy.from));
      else msg.setRaw(step.clear.path, '');
    }
    return msg;
  };
}

/**
 * Loads a module exporting `transform` / `filter` (or default). Paths are relative to the working
 * directory. A `.ts` handler is loaded from its compiled form under dist/ (`npm run build`).
 */
export function loadHandler<T extends 'transform' | 'filter'>(file: string, kind: T): T extends 'transform' ? TransformFn : FilterFn {
  let target = resolve(file);
  if (file.endsWith('.ts')) {
    target = resolve('dist', relative(process.cwd(), target).replace(/\.ts$/, '.js'));
    if (!existsSync(target)) throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: TypeScript handler not compiled (expected ${target}; run npm run build)`);
  }
  const mod = require(target) as Record<string, unknown>;
  const fn = mod[kind] ?? mod.default;
  if (typeof fn !== 'function') throw new PasserelleError('PSL_CONFIG_INVALID', `${file}: exports no ${kind}() function`);
  return fn as T extends 'transform' ? TransformFn : FilterFn;
}
