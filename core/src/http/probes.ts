/**
 * /healthz (the process answers), /readyz (it can do its job now) and /metrics, shared by both
 * apps. Readiness says why when it fails, so `kubectl describe pod` shows a reason.
 */
import type { Express, Request, Response } from 'express';
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
