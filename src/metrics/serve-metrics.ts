// GET /metrics over HTTP: a route the node's API server mounts, and a server of its own for roles whose API is
// off (a provider or aggregator has no OpenAI API but should still be scraped).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log/index.js';
import type { NodeMetrics } from './node-metrics.js';

export const METRICS_PATH = '/metrics';

export function isMetricsRequest(request: IncomingMessage): boolean {
  return new URL(request.url ?? '/', 'http://node').pathname.replace(/\/+$/, '') === METRICS_PATH;
}

/** The registry in the text format. No API key: the listener is on 127.0.0.1 unless the operator chose otherwise. */
export async function serveMetrics(request: IncomingMessage, response: ServerResponse, metrics: NodeMetrics): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end(`${request.method} is not allowed on ${METRICS_PATH}\n`);
    return;
  }
  try {
    const body = await metrics.render();
    response.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
  } catch (error) {
    response.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${(error as Error).message}\n`);
  }
}

export interface MetricsServer {
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: { host: string; port: number; metrics: NodeMetrics; logger: Logger }): Promise<MetricsServer> {
  const server = createServer((request, response) => {
    if (isMetricsRequest(request)) return void serveMetrics(request, response, options.metrics);
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`this node serves only ${METRICS_PATH} here\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`the metrics endpoint cannot listen on ${options.host}:${options.port}: ${error.message}`, { cause: error })));
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}${METRICS_PATH}`;
  options.logger.info({ url }, 'metrics endpoint listening');
  return {
    url,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
