/**
 * /healthz (the process answers), /readyz (it can do its job now) and /metrics, shared by both
 * apps. Readiness says why when it fails, so `kubectl describe pod` shows a reason.
 */
import express, { type Express, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { ErrorCodes } from '../errors.js';

export interface Readiness {
  ready: boolean;
  reason: string;
}

export function addProbeRoutes(app: Express, readiness: () => Readiness, registry: Registry): void {
  app.get('/healthz', (_req: Request, res: Response) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req: Request, res: Response) => {
    const state = readiness();
    res.status(state.ready ? 200 : 503).json({ status: state.ready ? 'ready' : 'not ready', reason: state.reason });
  });
  app.get('/metrics', async (_req: Request, res: Response) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
}

/** JSON 404s, so a wrong path is told apart from a proxy's HTML error. */
export function addNotFound(app: Express): void {
  app.use((req: Request, res: Response) => {
    res.status(ErrorCodes.FERRY_ERR_NOT_FOUND.http).json({ error: 'FERRY_ERR_NOT_FOUND', message: `no route ${req.method} ${req.path}` });
  });
}

/**
 * The probes-and-metrics app of a runtime. The initiator passes the port /trigger is served on
 * (its own server, so a NetworkPolicy can let monitoring reach this port without letting it
 * send messages); a caller still using this port for /trigger is told which port to use.
 */
export function createProbeApp(readiness: () => Readiness, registry: Registry, triggerPort?: number): Express {
  const app = express();
  app.disable('x-powered-by');
  addProbeRoutes(app, readiness, registry);
  if (triggerPort !== undefined) {
    app.all('/trigger', (req: Request, res: Response) => {
      res.status(ErrorCodes.FERRY_ERR_NOT_FOUND.http).json({
        error: 'FERRY_ERR_NOT_FOUND',
        message: `${req.method} /trigger is served on port ${triggerPort} (http.triggerPort), not on this port, which serves /healthz, /readyz and /metrics only`,
      });
    });
  }
  addNotFound(app);
  return app;
}
