/** The `passerelle` command as a user runs it: the compiled CLI (`npm run build`) in a child process. */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = resolve(__dirname, '../..');
export const CLI = join(repo, 'dist/engine/cli/main.js');

export interface CliResult {
  /** Exit code (0 on success). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `passerelle <args>` (cwd: the repository unless `options` says otherwise); a non-zero exit is a result, not a throw. */
export async function runCli(args: string[], options: ExecFileOptions = {}): Promise<CliResult> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd: repo, encoding: 'utf8', ...options });
    return { code: 0, stdout: String(r.stdout), stderr: String(r.stderr) };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: String(x.stdout), stderr: String(x.stderr) };
  }
}
