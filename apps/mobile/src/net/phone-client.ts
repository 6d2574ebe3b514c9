// The app's network layer in one object: a session with the paired node, job submission with status events
// and the notifications they raise, push token registration, and the node's job history.
import { JobHistory } from './job-history.js';
import { browserWebSocket, NodeSession, NodeSessionError, type WebSocketFactory } from './node-session.js';
import { notificationFor, type JobNotification } from './notifications.js';
import type { PhoneKey } from './phone-key.js';
import type { PairingLink } from './protocol.js';
import { submitJob, type JobEvent, type SubmitJobParameters, type SubmittedJob } from './submit-job.js';

export type PushPlatform = 'ios' | 'android' | 'web' | 'expo';
export const PUSH_REGISTER_TIMEOUT_MS = 10_000;

export interface PhoneClientListener {
  onJobEvent?: (event: JobEvent) => void;
  onNotification?: (notification: JobNotification) => void;
  onDisconnect?: (reason: string) => void;
}

export class PhoneClient {
  readonly history: JobHistory | null;
  private readonly listeners = new Set<PhoneClientListener>();

  private constructor(
    readonly link: PairingLink,
    readonly key: PhoneKey,
    private readonly session: NodeSession,
  ) {
    this.history = link.pocketbase ? new JobHistory(link.pocketbase, key.publicKey) : null;
    session.onClose((reason) => {
      for (const listener of [...this.listeners]) listener.onDisconnect?.(reason);
    });
  }

  static async connect(link: PairingLink, key: PhoneKey, createSocket: WebSocketFactory = browserWebSocket): Promise<PhoneClient> {
    return new PhoneClient(link, key, await NodeSession.connect(link, key, createSocket));
  }

  get connected(): boolean {
    return this.session.isOpen;
  }

  subscribe(listener: PhoneClientListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  submit(parameters: SubmitJobParameters): SubmittedJob {
    return submitJob(this.session, this.key, parameters, (event) => {
      const notification = notificationFor(event, parameters.model);
      for (const listener of [...this.listeners]) {
        listener.onJobEvent?.(event);
        if (notification) listener.onNotification?.(notification);
      }
    });
  }

  /** Asks the node to keep this phone's push token; rejects with the node's reason when it refuses. */
  registerPushToken(token: string, platform: PushPlatform): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        stop();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => finish(new NodeSessionError('closed', 'the node did not answer the push token registration')), PUSH_REGISTER_TIMEOUT_MS);
      const stop = this.session.onFrame((frame) => {
        if (frame.type === 'push.registered') finish();
        else if (frame.type === 'error' && !frame.jobId) finish(new NodeSessionError(frame.code, frame.message));
      });
      if (!this.session.send({ type: 'push.register', token, platform })) finish(new NodeSessionError('closed', 'not connected to the node'));
    });
  }

  close(): void {
    this.session.close();
    this.history?.close();
    this.listeners.clear();
  }
}
