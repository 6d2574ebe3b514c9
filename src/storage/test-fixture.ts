// One real PocketBase backend per test file, started on first use in a temporary node home and stopped after
// the file's last test. It needs the binary from scripts/build-backend.sh; without it, startPocketBase fails
// with BackendNotBuiltError, whose message says to run that script.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import PocketBase from 'pocketbase';
import { COLLECTIONS } from './collections.js';
import { startPocketBase, type LocalPocketBase } from './pocketbase-process.js';

export interface PocketBaseFixture {
  readonly home: string;
  /** The backend running now: restart() and crash() replace it, so read it again after them. */
  readonly server: LocalPocketBase;
  /** Stops the backend cleanly (SIGTERM) and starts it again on the same data. */
  restart(): Promise<LocalPocketBase>;
  /** SIGKILLs the backend and waits for the process to be gone; restart() brings it back. */
  crash(): Promise<void>;
  /** A client logged in as a new app: a record of the `users` auth collection. */
  signUpApp(): Promise<PocketBase>;
}

/** Call at the top of a test file; the returned function starts the backend on its first call. */
export function usePocketBaseFixture(): () => Promise<PocketBaseFixture> {
  let started: Promise<PocketBaseFixture> | undefined;
  after(async () => {
    const fixture = await started?.catch(() => undefined);
    if (!fixture) return;
    await fixture.server.stop();
    await rm(fixture.home, { recursive: true, force: true });
  });
  return () => (started ??= startFixture());
}

async function startFixture(): Promise<PocketBaseFixture> {
  const home = await mkdtemp(join(tmpdir(), 'infernet-pocketbase-'));
  let server = await startPocketBase({ home });
  const apps: PocketBase[] = [];
  return {
    home,
    get server() {
      return server;
    },
    async restart() {
      for (const app of apps.splice(0)) app.realtime.unsubscribe().catch(() => undefined);
      await server.stop();
      server = await startPocketBase({ home });
      return server;
    },
    async crash() {
      process.kill(server.pid, 'SIGKILL');
      await server.exited;
    },
    async signUpApp() {
      const app = await signUpApp(server);
      apps.push(app);
      return app;
    },
  };
}

async function signUpApp(server: LocalPocketBase): Promise<PocketBase> {
  const email = `app-${randomBytes(6).toString('hex')}@apps.infernet.local`;
  const password = randomBytes(18).toString('base64url');
  await server.client.collection(COLLECTIONS.apps).create({ email, password, passwordConfirm: password });
  const app = new PocketBase(server.url);
  app.autoCancellation(false);
  await app.collection(COLLECTIONS.apps).authWithPassword(email, password);
  return app;
}
