import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { createLogger } from '../log/index.js';
import { bindingResponse, parseBindingRequest, parseBindingResponse, startStunServer } from './stun-server.js';

function bindingRequest(transactionId: Buffer): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt16BE(0x0001, 0);
  header.writeUInt16BE(0, 2);
  header.writeUInt32BE(0x2112a442, 4);
  transactionId.copy(header, 8);
  return header;
}

describe('STUN binding server', () => {
  it('encodes XOR-MAPPED-ADDRESS as the RFC 5769 test vectors do (2.2 IPv4, 2.3 IPv6)', () => {
    // RFC 5769 2.2 and 2.3: transaction id b7e7a701bc34d686fa87dfae, port 32853.
    const transactionId = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');
    const response = bindingResponse(transactionId, '192.0.2.1', 32853);
    const xorMapped = response.subarray(20, 32).toString('hex');
    assert.equal(xorMapped, '002000080001a147e112a643');
    assert.deepEqual(parseBindingResponse(response), { transactionId, address: '192.0.2.1', port: 32853 });
    const ipv6 = bindingResponse(transactionId, '2001:db8:1234:5678:11:2233:4455:6677', 32853);
    assert.equal(ipv6.subarray(20, 44).toString('hex'), '002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9');
  });

  it('ignores what is not a Binding request', () => {
    assert.equal(parseBindingRequest(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined);
    const wrongCookie = bindingRequest(randomBytes(12));
    wrongCookie.writeUInt32BE(1, 4);
    assert.equal(parseBindingRequest(wrongCookie), undefined);
  });

  it('answers a Binding request over UDP with the address and port it came from', async () => {
    const server = await startStunServer({ host: '127.0.0.1', port: 0, logger: createLogger({ level: 'silent' }) });
    const client = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
      const transactionId = randomBytes(12);
      client.send(bindingRequest(transactionId), server.port, '127.0.0.1');
      const [packet] = (await once(client, 'message', { signal: AbortSignal.timeout(5_000) })) as [Buffer];
      assert.deepEqual(parseBindingResponse(packet), { transactionId, address: '127.0.0.1', port: client.address().port });
    } finally {
      client.close();
      await server.close();
    }
  });
});
