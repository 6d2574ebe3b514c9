// Test fixture: what a stage tunnel carries, checked end to end. Bytes written to a head's local RPC port come
// back from the echo process that stands in for ggml-rpc-server behind the tunnel.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';

/** Writes `payload` to host:port and resolves with as many bytes as it reads back. */
export async function roundTrip(address: string, payload: Buffer): Promise<Buffer> {
  const [host, port] = address.split(':');
  const socket = connect({ host: host!, port: Number(port) });
  const chunks: Buffer[] = [];
  let received = 0;
  return new Promise((resolve, reject) => {
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      received += data.length;
      if (received >= payload.length) {
        socket.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    socket.on('error', reject);
    socket.write(payload);
  });
}

/** The SHA-256 of the bytes, in hex: large payloads compare by digest so a failure does not print megabytes. */
export const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
