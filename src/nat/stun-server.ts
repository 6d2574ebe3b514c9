// A STUN binding server (RFC 5389, the one request ICE needs): it answers each Binding request with the address and
// port it came from, so a node behind NAT learns its public UDP mapping (a server-reflexive ICE candidate) from
// Infernet's own public nodes instead of a third-party STUN service. No credentials, no relaying (that is TURN).
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Logger } from '../log/index.js';

/** The port STUN servers use by default; a relay serves here unless configured otherwise. */
export const DEFAULT_STUN_PORT = 3478;

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;

export interface StunBindingRequest {
  transactionId: Buffer;
}

/** A Binding request's transaction id, or undefined for anything else (other STUN methods, not STUN at all). */
export function parseBindingRequest(packet: Buffer): StunBindingRequest | undefined {
  if (packet.length < HEADER_BYTES) return undefined;
  // The two top bits of every STUN message are zero; the length covers the attributes, in 4-byte words.
  const type = packet.readUInt16BE(0);
  const length = packet.readUInt16BE(2);
  if (type !== BINDING_REQUEST || length % 4 !== 0 || HEADER_BYTES + length !== packet.length) return undefined;
  if (packet.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  return { transactionId: Buffer.from(packet.subarray(8, 20)) };
}

/** A Binding success response carrying the sender's address as XOR-MAPPED-ADDRESS, then a FINGERPRINT. */
export function bindingResponse(transactionId: Buffer, address: string, port: number): Buffer {
  const ipv4 = isIPv4(address);
  const addressBytes = ipv4 ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
  // XOR with the cookie (and for IPv6 the transaction id too), so NATs that rewrite addresses in payloads leave it be.
  const mask = Buffer.concat([uint32(MAGIC_COOKIE), transactionId]);
  const xored = Buffer.from(addressBytes.map((byte, index) => byte ^ mask[index]!));
  const mapped = Buffer.alloc(4 + 4 + xored.length);
  mapped.writeUInt16BE(XOR_MAPPED_ADDRESS, 0);
  mapped.writeUInt16BE(4 + xored.length, 2);
  mapped.writeUInt8(0, 4);
  mapped.writeUInt8(ipv4 ? 0x01 : 0x02, 5);
  mapped.writeUInt16BE(port ^ (MAGIC_COOKIE >>> 16), 6);
  xored.copy(mapped, 8);
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt16BE(BINDING_SUCCESS, 0);
  // The length already counts the FINGERPRINT attribute (8 bytes), as the CRC must be computed over it.
  header.writeUInt16BE(mapped.length + 8, 2);
  header.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(header, 8);
  const body = Buffer.concat([header, mapped]);
  const fingerprint = Buffer.alloc(8);
  fingerprint.writeUInt16BE(FINGERPRINT, 0);
  fingerprint.writeUInt16BE(4, 2);
  fingerprint.writeUInt32BE((crc32(body) ^ FINGERPRINT_XOR) >>> 0, 4);
  return Buffer.concat([body, fingerprint]);
}

/** The address in a Binding success response (used by tests and by `parse` callers checking a server). */
export function parseBindingResponse(packet: Buffer): { transactionId: Buffer; address: string; port: number } | undefined {
  if (packet.length < HEADER_BYTES || packet.readUInt16BE(0) !== BINDING_SUCCESS || packet.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const transactionId = Buffer.from(packet.subarray(8, 20));
  const mask = Buffer.concat([uint32(MAGIC_COOKIE), transactionId]);
  for (let offset = HEADER_BYTES; offset + 4 <= packet.length; ) {
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 2);
    if (type === XOR_MAPPED_ADDRESS) {
      const family = packet.readUInt8(offset + 5);
      const port = packet.readUInt16BE(offset + 6) ^ (MAGIC_COOKIE >>> 16);
      const bytes = Buffer.from(packet.subarray(offset + 8, offset + 8 + (family === 0x01 ? 4 : 16)).map((byte, index) => byte ^ mask[index]!));
      const address = family === 0x01 ? [...bytes].join('.') : [...Array(8).keys()].map((i) => bytes.readUInt16BE(i * 2).toString(16)).join(':');
      return { transactionId, address, port };
    }
    offset += 4 + Math.ceil(length / 4) * 4;
  }
  return undefined;
}

export interface StunServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Serves Binding requests on UDP host:port; anything else that arrives is ignored, never answered. */
export async function startStunServer({ host, port, logger }: { host: string; port: number; logger: Logger }): Promise<StunServer> {
  const socket: Socket = createSocket({ type: isIPv4(host) ? 'udp4' : 'udp6', reuseAddr: false });
  socket.on('message', (packet, remote) => {
    const request = parseBindingRequest(packet);
    if (!request) return;
    socket.send(bindingResponse(request.transactionId, remote.address, remote.port), remote.port, remote.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (error) => logger.warn({ err: error.message }, 'STUN server socket error'));
  return {
    port: socket.address().port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function uint32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value >>> 0);
  return buffer;
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  const buffer = Buffer.alloc(16);
  groups.forEach((group, index) => buffer.writeUInt16BE(parseInt(group, 16), index * 2));
  return buffer;
}
