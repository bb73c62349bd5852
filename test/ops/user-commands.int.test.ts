/**
 * `passerelle user …` against the store a console then serves: users made by the CLI log in,
 * its tokens authenticate, and every change is in the audit log as cli:<login> from local.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userAddCommand, userDisableCommand, userListCommand, userPasswdCommand, userRevokeTokenCommand, userTokenCommand, type CliIo } from '../../engine/cli/user-commands';
import { initialPasswordFile } from '../../engine/ops/auth/first-admin';
import { channelYaml } from '../support/engine-harness';
import { Client, startTestConsole, type TestConsole } from './console-harness';

const dir = mkdtempSync(join(tmpdir(), 'psl-user-cli-'));
const env = { PASSERELLE_STORE: `sqlite:${join(dir, 'store.db')}`, PASSERELLE_VAR: join(dir, 'var'), USER: 'alice' };

/** Runs a command with its output captured and `input` as standard input. */
async function run(cmd: (io: CliIo) => Promise<number>, input = ''): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await cmd({ out: (l) => out.push(...l.split('\n')), err: (l) => err.push(l), stdin: async () => input, env });
  return { code, out, err };
}

let tc: TestConsole | undefined;
afterAll(async () => {
  await tc?.stop();
});

test('users and tokens made by the CLI work in the console; changes are audited as cli', async () => {
  const admin = await run((io) => userAddCommand('root', { role: 'admin', passwordStdin: true }, io), 'root-password-123\nignored second line\n');
  expect(admin).toMatchObject({ code: 0, out: ['user root (admin) created'] });
  const gen = await run((io) => userAddCommand('olga', { role: 'operator' }, io));
  expect(gen.code).toBe(0);
  const generated = gen.out.find((l) => l.startsWith('password: '))!.slice('password: '.length);
  expect(generated).toMatch(/^[A-Za-z0-9_-]{24}$/);

  expect((await run((io) => userAddCommand('olga', { role: 'viewer' }, io))).err[0]).toMatch(/^passerelle: PSL_USER_CONFLICT: /);
  expect((await run((io) => userAddCommand('bad', { role: 'boss' }, io))).code).toBe(1);
  expect((await run((io) => userAddCommand('weak', { role: 'viewer', passwordStdin: true }, io), 'short\n')).err[0]).toMatch(/PSL_PASSWORD_REJECTED/);

  const token = await run((io) => userTokenCommand('olga', { label: 'nightly' }, io));
  expect(token.code).toBe(0);
  expect(token.out).toHaveLength(1);
  expect(token.out[0]).toMatch(/^psl_[0-9a-f]{12}_/);
  expect(token.err[0]).toMatch(/shown once/);

  const list = await run((io) => userListCommand(io));
  expect(list.out.join('\n')).toMatch(/^olga\s+operator\s+enabled, must change password; last login never$/m);
  expect(list.out.join('\n')).toMatch(/^root\s+admin\s+enabled; last login never$/m);
  expect(list.out.join('\n')).toMatch(/olga\s+operator\s+nightly\s+last used never/);

  // The console on the same store: users exist, so no first admin is made.
  tc = await startTestConsole({ 'a.yaml': channelYaml('alpha', 'acceptance:\n  messageTypes: [ORU^R01]\n') }, { engine: { dir } });
  expect(existsSync(initialPasswordFile(tc.te.config.varDir))).toBe(false);
  const root = new Client(tc.url);
  expect((await root.login('root', 'root-password-123')).json()).toMatchObject({ mustChangePassword: false });
  const olga = new Client(tc.url);
  expect((await olga.login('olga', generated)).json()).toMatchObject({ mustChangePassword: true });
  const bot = new Client(tc.url, undefined, token.out[0]);
  expect((await bot.get('/api/me')).json()).toMatchObject({ name: 'olga', role: 'operator', via: 'token' });

  // passwd ends the sessions; disable stops the tokens.
  expect((await run((io) => userPasswdCommand('root', { passwordStdin: true }, io), 'root-password-456\n')).code).toBe(0);
  expect((await root.get('/api/me')).status).toBe(401);
  expect((await root.login('root', 'root-password-456')).status).toBe(200);
  expect((await run((io) => userDisableCommand('olga', true, io))).code).toBe(0);
  expect((await bot.get('/api/me')).status).toBe(401);
  expect((await run((io) => userDisableCommand('root', true, io))).err[0]).toMatch(/PSL_USER_CONFLICT: this would leave no enabled admin/);
  expect((await run((io) => userDisableCommand('olga', false, io))).code).toBe(0);
  expect((await bot.get('/api/me')).status).toBe(200);
  const id = token.out[0]!.split('_')[1]!;
  expect((await run((io) => userRevokeTokenCommand(id, io))).out).toEqual([`token ${id} revoked`]);
  expect((await bot.get('/api/me')).status).toBe(401);
  expect((await run((io) => userRevokeTokenCommand(id, io))).code).toBe(1);

  const audit = (await root.get('/api/audit?user=cli:alice')).json<{ entries: { action: string; target: string; via: string; ip: string }[] }>().entries;
  expect(audit.reverse().map((e) => `${e.action} ${e.target} ${e.via} ${e.ip}`)).toEqual([
    'user.create root cli local',
    'user.create olga cli local',
    'token.create olga cli local',
    'user.reset root cli local',
    'user.disable olga cli local',
    'user.enable olga cli local',
    `token.revoke ${id} cli local`,
  ]);
});
