/** A real engine with a real console on port 0, and an HTTP client that keeps its session cookie. */
import { readFileSync } from 'node:fs';
import { Console } from '../../engine/ops/console';
import { consoleConfigFromEnv, type consoleConfigSchema } from '../../engine/ops/config';
import { initialPasswordFile } from '../../engine/ops/auth/first-admin';
import type { ConsoleRoutes } from '../../engine/ops/context';
import type { ConsoleStore } from '../../engine/ops/store/types';
import { silentLogger } from '../../engine/runtime/logger';
import { startTestEngine, type TestEngine, type TestEngineOptions } from '../support/engine-harness';
import type { z } from 'zod';

export interface TestConsole {
  te: TestEngine;
  console: Console;
  url: string;
  /** Another console on the same engine (a second engine process's, as far as sessions go). */
  another(overrides?: ConsoleOverrides): Promise<{ console: Console; url: string }>;
  stop(): Promise<void>;
}

export type ConsoleOverrides = Partial<z.input<typeof consoleConfigSchema>>;

export async function startTestConsole(
  channels: Record<string, string>,
  opts: { console?: ConsoleOverrides; engine?: TestEngineOptions; routes?: ConsoleRoutes[]; consoleStore?: () => ConsoleStore } = {},
): Promise<TestConsole> {
  const te = await startTestEngine(channels, opts.engine);
  const consoles: Console[] = [];
  const open = async (overrides: ConsoleOverrides = {}): Promise<{ console: Console; url: string }> => {
    const c = new Console({
      config: consoleConfigFromEnv({}, { addr: '127.0.0.1:0', ...opts.console, ...overrides }),
      engineConfig: te.config,
      store: te.engine.messageStore,
      engine: te.engine,
      logger: opts.engine?.logger ?? silentLogger(),
      routes: opts.routes,
      consoleStore: opts.consoleStore?.(),
    });
    consoles.push(c);
    await c.start();
    return { console: c, url: c.url! };
  };
  try {
    const first = await open();
    return {
      te,
      console: first.console,
      url: first.url,
      another: open,
      async stop() {
        for (const c of consoles) await c.stop();
        await te.stop();
      },
    };
  } catch (e) {
    for (const c of consoles) await c.stop().catch(() => undefined);
    await te.stop();
    throw e;
  }
}

export function initialAdminPassword(tc: TestConsole): string {
  return readFileSync(initialPasswordFile(tc.te.config.varDir), 'utf8').trim();
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: <T = Record<string, unknown>>() => T;
}

/** One browser-like client: its own session cookie, the console's Origin on changes, an address of its own (X-Forwarded-For). */
export class Client {
  cookie?: string;
  constructor(readonly base: string, readonly ip?: string, readonly bearer?: string) {}

  async request(method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = this.cookie;
    if (this.bearer) headers.authorization = `Bearer ${this.bearer}`;
    if (this.ip) headers['x-forwarded-for'] = this.ip;
    if (method !== 'GET' && method !== 'HEAD') headers.origin = this.base;
    let payload: string | undefined;
    if (body instanceof URLSearchParams) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = body.toString();
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    for (const [k, v] of Object.entries(extra)) {
      if (v === '') delete headers[k];
      else headers[k] = v;
    }
    const res = await fetch(this.base + path, { method, headers, body: payload, redirect: 'manual' });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('psl_session='));
    if (set) {
      const value = set.split(';')[0]!;
      this.cookie = value === 'psl_session=' ? undefined : value;
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: <T>() => JSON.parse(text) as T };
  }

  get(path: string, extra?: Record<string, string>): Promise<Answer> {
    return this.request('GET', path, undefined, extra);
  }

  post(path: string, body?: unknown, extra?: Record<string, string>): Promise<Answer> {
    return this.request('POST', path, body ?? {}, extra);
  }

  async login(name: string, password: string): Promise<Answer> {
    return this.post('/api/login', { name, password });
  }
}

/**
 * Logs the first admin in, replaces the generated password by `password`, and returns the
 * client (a console must have been started on an empty console store).
 */
export async function adminClient(tc: TestConsole, password = 'admin-password-1', ip?: string): Promise<Client> {
  const admin = new Client(tc.url, ip);
  const first = await admin.login('admin', initialAdminPassword(tc));
  if (first.status !== 200) throw new Error(`first admin login: ${first.status} ${first.text}`);
  const changed = await admin.post('/api/password', { current: initialAdminPassword(tc), password });
  if (changed.status !== 200) throw new Error(`first admin password change: ${changed.status} ${changed.text}`);
  return admin;
}

/** Creates a user through the API and returns a logged-in client of theirs. */
export async function userClient(tc: TestConsole, admin: Client, name: string, role: string, ip?: string): Promise<Client> {
  const password = `${name}-password-1`;
  const made = await admin.post('/api/users', { name, role, password });
  if (made.status !== 201) throw new Error(`create ${name}: ${made.status} ${made.text}`);
  const c = new Client(tc.url, ip);
  const res = await c.login(name, password);
  if (res.status !== 200) throw new Error(`login ${name}: ${res.status} ${res.text}`);
  return c;
}
