// One local chain per test file, started on first use and stopped after the file's last test.
import { after } from 'node:test';
import { startLocalChain, type LocalChain } from './local-chain.js';

export function useLocalChain(): () => Promise<LocalChain> {
  let started: Promise<LocalChain> | undefined;
  after(async () => {
    const chain = await started?.catch(() => undefined);
    await chain?.stop();
  });
  return () => (started ??= startLocalChain());
}
