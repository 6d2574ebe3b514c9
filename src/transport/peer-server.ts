// The WebSocket listener of providers and aggregators. Each connection becomes a PeerSession; the node sees
// only sessions that completed authentication.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { TransportLimits } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { PeerSession, type SessionIdentity } from './peer-session.js';

/** Frames up to this multiple of the limit are read and answered with frame_too_large; beyond, the socket closes (1009). */
const HARD_PAYLOAD_FACTOR = 4;

export interface PeerServerOptions {
  host: string;
  port: number;
  identity: SessionIdentity;
  limits: TransportLimits;
  logger: Logger;
  onSession: (session: PeerSession) => void;
}

export class PeerServer {
  private readonly sessions = new Set<PeerSession>();

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
  ) {}

  static async listen(options: PeerServerOptions): Promise<PeerServer> {
    const wss = new WebSocketServer({
      host: options.host,
      port: options.port,
      maxPayload: options.limits.maxFrameBytes * HARD_PAYLOAD_FACTOR,
      perMessageDeflate: false,
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const { address, port } = wss.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    const server = new PeerServer(wss, `ws://${host}:${port}`);
    wss.on('connection', (socket, request) => {
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      if (server.sessions.size >= options.limits.maxConnections) {
        options.logger.warn({ remote }, 'connection refused: too many connections');
        socket.close(1013, 'too many connections');
        return;
      }
      const session = new PeerSession(socket, options.identity, options.limits, options.logger, remote);
      server.sessions.add(session);
      session.onClose(() => server.sessions.delete(session));
      session.ready.then(
        (peer) => {
          session.log.info({ peer: peer.npub, role: peer.role }, 'peer authenticated');
          options.onSession(session);
        },
        (error: Error) => session.log.info({ reason: error.message }, 'handshake failed'),
      );
    });
    return server;
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const session of this.sessions) session.close('server shutting down', 1001);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
