import type { PlatformRoutes } from '../platform';

const ACTIONS = ['start', 'stop', 'pause', 'resume'] as const;
type Action = (typeof ACTIONS)[number];

/** Channels of this process: their state and deployed configuration; start / stop / pause / resume (admin, audited). */
export const channelRoutes: PlatformRoutes = (app, p) => {
  app.get('/api/channels', async () => ({ channels: p.engine.channelStatuses() }));

  for (const action of ACTIONS) {
    app.post<{ Params: { name: string } }>(`/api/channels/:name/${action}`, { config: { role: 'admin' } }, async (req) => {
      const name = req.params.name;
      const run: Record<Action, (n: string) => Promise<void>> = {
        start: (n) => p.engine.startChannel(n),
        stop: (n) => p.engine.stopChannel(n),
        pause: (n) => p.engine.pauseChannel(n),
        resume: (n) => p.engine.resumeChannel(n),
      };
      try {
        await run[action](name);
      } catch (e) {
        // A refused action is traced too: who tried what.
        await p.audit(req, { action: `channel.${action}`, target: name, detail: `refused: ${(e as { code?: string }).code ?? 'error'}` });
        throw e;
      }
      await p.audit(req, { action: `channel.${action}`, target: name, detail: 'ok' });
      return { channel: p.engine.channelStatuses().find((c) => c.name === name) };
    });
  }
};
