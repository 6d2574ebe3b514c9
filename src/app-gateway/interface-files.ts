// Serves the built interface (apps/desktop/dist, written by scripts/setup-desktop.sh) as static files, so a
// browser on this machine gets the same app as the desktop window. Paths are resolved inside the folder only.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/desktop/dist from this module, in src/ or dist/src/. */
export function defaultInterfaceDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const fromDist = resolve(here, '..', '..', '..', 'apps', 'desktop', 'dist');
  return here.split(sep).includes('dist') ? fromDist : resolve(here, '..', '..', 'apps', 'desktop', 'dist');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * The file a URL path names inside `root`, or undefined for a path that leaves it. The interface is one page:
 * any path without an extension is its index.html.
 */
export function interfaceFileOf(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined; // malformed escapes
  }
  if (decoded.includes('\0')) return undefined;
  const relative = extname(decoded) === '' ? 'index.html' : decoded;
  const file = normalize(join(root, relative));
  return file === root || file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : undefined;
}

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export async function serveInterfaceFile(root: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response, 405, `${request.method} is not allowed here`);
  const path = new URL(request.url ?? '/', 'http://app').pathname;
  const file = interfaceFileOf(root, path);
  if (!file) return plain(response, 404, 'not found');
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    if (path === '/' || extname(path) === '') {
      return plain(response, 503, `The interface is not built on this node: run scripts/setup-desktop.sh (looked in ${root}).`);
    }
    return plain(response, 404, 'not found');
  }
  // Hashed asset names change with their content; the page itself must always be fresh.
  const cache = file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
  response.writeHead(200, { 'content-type': contentTypeOf(file), 'content-length': info.size, 'cache-control': cache, 'x-content-type-options': 'nosniff' });
  if (request.method === 'HEAD') return void response.end();
  createReadStream(file).pipe(response);
}

function plain(response: ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(message + '\n');
}
