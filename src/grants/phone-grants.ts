// The daemon's side of pairing: admits a paired phone's jobs within its grant and keeps its push tokens. The
// grants file is re-read when it changes, so `infernet pair` and `pair revoke` take effect on the next job.
import { stat } from 'node:fs/promises';
import type { Logger } from '../log/index.js';
import type { ErrorCode, FrameOf } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { admitJob, JOB_WINDOW_MS, type GrantRefusal } from './admit-job.js';
import { verifyGrant, type GrantTerms } from './grant.js';
import { activityFileOf, grantsFileOf, readActivity, readGrants, writeActivity, type PhoneActivity, type PushToken } from './grants-file.js';

/** What the aggregator sends back for a job outside a grant. */
export interface JobRefusal {
  code: ErrorCode;
  message: string;
}

interface ActiveGrant {
  terms: GrantTerms;
  revokedAt?: number | undefined;
}

const MAX_PUSH_TOKENS_PER_PHONE = 8;

export class PhoneGrants {
  private grants = new Map<string, ActiveGrant>();
  /** mtime and size of the grants file last read: a change to either means `infernet pair` wrote it. */
  private loadedVersion = '';
  private activity?: Record<string, PhoneActivity>;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly homeDir: string,
    private readonly nodePublicKey: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Null when the job may go on: keys without a grant are ordinary network clients and pass; a paired phone's
   * job must fit its latest grant, and is counted against its hourly allowance once admitted.
   */
  async admit(clientPublicKey: string, request: FrameOf<'job.request'>, now = Date.now()): Promise<JobRefusal | null> {
    await this.reload();
    const grant = this.grants.get(clientPublicKey);
    if (!grant) return null;
    const activity = await this.activityOf(clientPublicKey);
    const refusal: GrantRefusal | null = admitJob({ terms: grant.terms, revokedAt: grant.revokedAt, request, recentJobs: activity.jobs, now });
    if (refusal) {
      this.logger.warn({ phone: clientPublicKey.slice(0, 12), reason: refusal.reason }, 'job refused by pairing grant');
      return { code: 'grant_refused', message: refusal.message };
    }
    activity.jobs = [...activity.jobs.filter((at) => now - at < JOB_WINDOW_MS), now];
    await this.saveActivity();
    return null;
  }

  /** Stores a push token for a phone that holds a live grant; returns a refusal otherwise. */
  async registerPushToken(clientPublicKey: string, frame: FrameOf<'push.register'>, now = Date.now()): Promise<JobRefusal | null> {
    await this.reload();
    const grant = this.grants.get(clientPublicKey);
    if (!grant || grant.revokedAt !== undefined || now >= grant.terms.limits.expiresAt) {
      return { code: 'grant_refused', message: 'push tokens are kept only for phones paired with this node (`infernet pair --phone NPUB`)' };
    }
    const activity = await this.activityOf(clientPublicKey);
    const token: PushToken = { token: frame.token, platform: frame.platform, registeredAt: now };
    activity.pushTokens = [...activity.pushTokens.filter((known) => known.token !== frame.token), token].slice(-MAX_PUSH_TOKENS_PER_PHONE);
    await this.saveActivity();
    return null;
  }

  /** The push tokens of a phone with a live grant; none for any other key. */
  async pushTokensOf(clientPublicKey: string, now = Date.now()): Promise<PushToken[]> {
    await this.reload();
    const grant = this.grants.get(clientPublicKey);
    if (!grant || grant.revokedAt !== undefined || now >= grant.terms.limits.expiresAt) return [];
    return (await this.activityOf(clientPublicKey)).pushTokens;
  }

  /** Answers a client session's push.register frames. */
  attach(session: PeerSession): void {
    session.onFrame((frame) => {
      if (frame.type !== 'push.register') return;
      void this.registerPushToken(session.peer?.pubkey ?? '', frame).then(
        (refusal) => (refusal ? session.sendError(refusal.code, refusal.message) : session.send({ type: 'push.registered', platform: frame.platform })),
        (error: Error) => session.sendError('internal', `cannot store the push token: ${error.message}`),
      );
    });
  }

  private async reload(): Promise<void> {
    const path = grantsFileOf(this.homeDir);
    const version = await stat(path).then((info) => `${info.mtimeMs}:${info.size}`, () => 'none');
    if (version === this.loadedVersion) return;
    const grants = new Map<string, ActiveGrant>();
    for (const stored of await readGrants(path)) {
      try {
        const terms = verifyGrant(stored.event, this.nodePublicKey);
        const previous = grants.get(terms.phone);
        // The newest grant of a phone replaces older ones (re-pairing widens or narrows its limits).
        if (!previous || previous.terms.issuedAt <= terms.issuedAt) grants.set(terms.phone, { terms, revokedAt: stored.revokedAt });
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'ignoring an invalid pairing grant');
      }
    }
    this.grants = grants;
    this.loadedVersion = version;
  }

  private async activityOf(phone: string): Promise<PhoneActivity> {
    this.activity ??= await readActivity(activityFileOf(this.homeDir));
    return (this.activity[phone] ??= { jobs: [], pushTokens: [] });
  }

  /** Writes one after another: two jobs admitted at once must not race on the temporary file. */
  private saveActivity(): Promise<void> {
    const snapshot = structuredClone(this.activity ?? {});
    this.writing = this.writing.then(() => writeActivity(activityFileOf(this.homeDir), snapshot)).catch((error: Error) => {
      this.logger.error({ err: error.message }, 'cannot record phone activity');
    });
    return this.writing;
  }
}
