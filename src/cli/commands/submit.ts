// `infernet submit`: runs one job through an aggregator and streams its text to stdout.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { JobStore } from '../../jobs/index.js';
import { clientJobFailureOf, findAggregators, runJobAcrossAggregators, runJobThroughAggregator, type FoundAggregator } from '../../client/index.js';
import { errorCodeOf, exitCodeOfCode } from '../../errors/index.js';
import { parseCid } from '../../content/content-store.js';
import { openNodeStore } from '../../node/node-store.js';
import { createLogger, type Logger } from '../../log/index.js';
import { JobFailedError } from '../../client/index.js';
import { modelNameOf } from '../../models/index.js';
import { NodeDaemon, readLiveDaemonState } from '../../node/index.js';
import { openNodeJobPayer, withClientLedger, type JobPayer, type JobPayment } from '../../payments/index.js';
import { JobSpec, type ModelRef, type Price, type VerificationPolicy } from '../../protocol/index.js';
import { parsePolicyLabel, policyLabel } from '../../verification/index.js';
import { type VerifiedJobOutcome } from '../../client/index.js';
import { dialPeer, type PeerSession } from '../../transport/index.js';
import { AGENT } from '../../node/index.js';
import { CliError } from '../cli-error.js';
import { openNode, type OpenedNode } from '../open-node.js';

export const SUBMIT_USAGE = `infernet submit --home DIR --model PATH_OR_ID [--model-cid CID] --prompt TEXT [--max-tokens N]
  [--seed N] [--temperature T] [--timeout SECONDS] [--verify none|redundant:K|sampled:P]
  [--max-price "AMOUNT CURRENCY[/job]"] [--json]
  Streams the generated text to stdout; with --json prints one JSON object when the job ends.
  --verify defaults to the node's verification.defaultPolicy: redundant:K runs the job on K providers and
  compares; sampled:P re-runs it on another provider with probability P. --model-cid names the model's content
  id (infernet content add): a provider that lacks the model may then fetch it from its holders first.
  A node with a payments section pays for a job whose match asks it (escrow deposit or hold invoice) before
  the job is offered; --json then shows the payment, and a failure prints a JSON object with an error field.
  --max-price caps the price per 1k tokens (or per job with /job), e.g. "0.002 USDC" or "20 sat": dearer
  providers are not matched, and terms above it are refused before anything is paid.
  A client home with no --connect but a --bootstrap finds its aggregators through discovery (infernet
  aggregators): the best one runs the job and, if it goes away, the next continues it after the tokens streamed.`;

const EMBEDDED_PROVIDER_WAIT_MS = 15_000;

export async function submitCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      home: { type: 'string' },
      model: { type: 'string' },
      'model-cid': { type: 'string' },
      prompt: { type: 'string' },
      'max-tokens': { type: 'string' },
      seed: { type: 'string' },
      temperature: { type: 'string' },
      timeout: { type: 'string' },
      verify: { type: 'string' },
      'max-price': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!values.model) throw new CliError('--model is required (a GGUF path or a model name)');
  if (values.prompt === undefined) throw new CliError('--prompt is required');
  const node = await openNode(values.home);
  const verification = values.verify === undefined ? node.config.verification.defaultPolicy : verificationPolicyOf(values.verify);
  const spec = buildSpec(modelRefOf(values.model, values['model-cid']), values.prompt, values, verification);
  const logger = createLogger({ level: 'warn', fd: 2 });
  // Opened first: a payments section that cannot pay (the chain unreachable, a wrong chain id) fails before any job.
  const paying = await openNodeJobPayer({ home: node.home, config: node.config, logger });
  const { store, pocketbase, close: closeStore } = await openNodeStore(node.home, node.config, logger).catch((error: unknown) => {
    paying?.close();
    throw error;
  });
  // With the store open: how this client's earlier jobs went at each aggregator ranks the ones discovery finds.
  const target = await openAggregator(node, logger, spec.model.name, store).catch(async (error: unknown) => {
    paying?.close();
    await closeStore();
    throw error;
  });
  // What the client puts up is in its own ledger too (`infernet wallet history`), where the node keeps one.
  const payer = paying ? withClientLedger(paying.payer, pocketbase, logger) : undefined;
  const paid: { payment?: JobPayment } = {};
  try {
    const onPaid = (payment: JobPayment) => {
      paid.payment = payment;
      // Streamed text goes to stdout; what was paid is told beside it, on stderr.
      if (!values.json) process.stderr.write(`${describePayment(payment)}\n`);
    };
    const { outcome, aggregator } = await runRecordedJob({ target, node, spec, store, logger, payer, quiet: Boolean(values.json), onPaid }).catch((error: unknown) => {
      if (values.json) console.log(JSON.stringify(jsonFailure(error, spec, target.url, paid.payment)));
      throw error;
    });
    if (values.json) console.log(JSON.stringify({ ...jsonResult(outcome, spec, aggregator), ...(paid.payment ? { payment: paid.payment } : {}) }));
    else process.stdout.write(outcome.output.endsWith('\n') ? '' : '\n');
  } finally {
    paying?.close();
    target.session?.close();
    await closeStore();
    await target.embedded?.stop();
  }
}

function verificationPolicyOf(label: string): VerificationPolicy {
  const policy = parsePolicyLabel(label);
  if (!policy) throw new CliError(`--verify must be none, redundant:K (2-8) or sampled:P (0 < P <= 1), got "${label}"`);
  return policy;
}

/** "0.002 USDC" (per 1k tokens) or "5 sat/job". */
function priceCapOf(text: string): Price {
  const match = /^\s*(\d+(?:\.\d+)?)\s+([A-Za-z][A-Za-z0-9]{0,15})\s*(?:\/\s*(job|1k_tokens))?\s*$/.exec(text);
  if (!match) throw new CliError(`--max-price must be "AMOUNT CURRENCY" or "AMOUNT CURRENCY/job", e.g. "0.002 USDC", got "${text}"`);
  return { amount: match[1]!, currency: match[2]!, per: (match[3] as Price['per'] | undefined) ?? '1k_tokens' };
}

function buildSpec(
  model: ModelRef,
  prompt: string,
  values: { 'max-tokens'?: string; seed?: string; temperature?: string; timeout?: string; 'max-price'?: string },
  verification: VerificationPolicy,
): JobSpec {
  const timeoutSeconds = number('--timeout', values.timeout) ?? 300;
  const parsed = JobSpec.safeParse({
    jobId: randomUUID(),
    model,
    input: { prompt },
    sampling: {
      maxTokens: number('--max-tokens', values['max-tokens']) ?? 128,
      temperature: number('--temperature', values.temperature) ?? 0,
      ...(values.seed !== undefined ? { seed: number('--seed', values.seed) } : {}),
    },
    deadline: Date.now() + timeoutSeconds * 1000,
    verification,
    ...(values['max-price'] !== undefined ? { priceCap: priceCapOf(values['max-price']) } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError(`invalid job: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}

/** A path the client has is sent with its name; anything else is taken as a model name (an id). */
function modelRefOf(model: string, cid: string | undefined): ModelRef {
  const named: ModelRef = existsSync(model) ? { name: modelNameOf(model), path: resolve(model) } : { name: model };
  if (cid === undefined) return named;
  try {
    return { ...named, cid: parseCid(cid).toString() };
  } catch {
    throw new CliError(`--model-cid must be a content id such as bafk... or bafy... (infernet content add prints it), got "${cid}"`);
  }
}

function number(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new CliError(`${flag} must be a number, got "${text}"`);
  return value;
}

interface AggregatorTarget {
  /** The configured (or own) aggregator's open session; absent for aggregators found through discovery. */
  session?: PeerSession;
  url: string;
  /** Found through discovery, best first: the job fails over down this list. */
  discovered?: FoundAggregator[];
  embedded?: NodeDaemon;
}

/**
 * A client home dials its configured aggregators, or with none configured finds them through discovery; an
 * aggregator home uses its running daemon, or runs one in-process.
 */
async function openAggregator(node: OpenedNode, logger: Logger, model: string, store: JobStore): Promise<AggregatorTarget> {
  const { config, home } = node;
  if (config.role === 'provider') throw new CliError(`${home.dir} is a provider home: submit from a client or all-in-one home`);
  if (config.role === 'client') {
    if (!config.connect.length && config.discovery.enabled) {
      const discovered = await findAggregators({ config, key: node.key, logger, model, store }).catch((error: Error) => {
        throw new CliError(`${error.message} (or init with --connect WS_URL)`);
      });
      return { url: discovered[0]!.endpoint, discovered };
    }
    if (!config.connect.length) throw new CliError(`${home.configFile} names no aggregator: init with --connect WS_URL`);
    return dialFirst(node, config.connect, logger);
  }
  const running = await readLiveDaemonState(home.daemonStateFile);
  if (running?.url) return dialFirst(node, [running.url], logger);
  // A node for one job: no HTTP API, even when the home configures one for its daemon.
  const embedded = await NodeDaemon.start({ ...node, config: { ...config, listen: { host: '127.0.0.1', port: 0 }, api: { ...config.api, port: null } }, logger, writeState: false });
  await waitForProviders(embedded);
  return { ...(await dialFirst(node, [embedded.url!], logger)), embedded };
}

async function dialFirst(node: OpenedNode, urls: string[], logger: Logger): Promise<AggregatorTarget> {
  const failures: string[] = [];
  for (const url of urls) {
    try {
      const session = await dialPeer(url, { identity: { key: node.key, role: 'client', agent: AGENT }, limits: node.config.limits, logger });
      return { session, url };
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new CliError(`no aggregator reachable: ${failures.join('; ')}`);
}

async function waitForProviders(daemon: NodeDaemon): Promise<void> {
  const deadline = Date.now() + EMBEDDED_PROVIDER_WAIT_MS;
  while ((daemon.aggregator?.providerCount ?? 0) === 0) {
    if (Date.now() > deadline) throw new CliError('the embedded aggregator reached no provider');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface RecordedJob {
  target: AggregatorTarget;
  node: OpenedNode;
  spec: JobSpec;
  store: JobStore;
  logger: Logger;
  payer: JobPayer | undefined;
  quiet: boolean;
  onPaid: (payment: JobPayment) => void;
}

/** Runs the job as the node's client (its policy, its payer, its record); Ctrl-C cancels it at the provider. */
async function runRecordedJob({ target, node, spec, store, logger, payer, quiet, onPaid }: RecordedJob): Promise<{ outcome: VerifiedJobOutcome; aggregator: string }> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  const hooks = {
    signal: abort.signal,
    onPaid,
    onText: (text: string) => {
      if (!quiet) process.stdout.write(text);
    },
  };
  try {
    if (target.discovered) {
      // Found through discovery: a lost aggregator hands the job on to the next one, the stream continuing.
      const connect = (url: string) => dialPeer(url, { identity: { key: node.key, role: 'client', agent: AGENT }, limits: node.config.limits, logger });
      const { outcome, aggregator } = await runJobAcrossAggregators({ aggregators: target.discovered, connect, key: node.key, spec, store, logger, ...(payer ? { payer } : {}), hooks });
      return { outcome, aggregator };
    }
    // The configured aggregator: if it restarts mid-job, the job goes on there once it is back, the stream continuing.
    // Under a verification policy the primary run streams; checks run on other providers, unseen by them.
    const dial = () => dialPeer(target.url, { identity: { key: node.key, role: 'client', agent: AGENT }, limits: node.config.limits, logger });
    const { outcome } = await runJobThroughAggregator({ url: target.url, session: target.session!, dial, key: node.key, spec, store, logger, ...(payer ? { payer } : {}), hooks });
    return { outcome, aggregator: target.url };
  } catch (error) {
    const { code, message } = clientJobFailureOf(error, abort.signal);
    throw new SubmittedJobFailedError(spec.jobId, { code, name: failedByName(error), message }, error);
  } finally {
    process.off('SIGINT', onSignal);
  }
}

function jsonResult(outcome: VerifiedJobOutcome, spec: JobSpec, aggregator: string) {
  return {
    jobId: outcome.jobId,
    status: outcome.status,
    output: outcome.output,
    provider: outcome.providerNpub,
    providerPublicKey: outcome.provider,
    tokens: outcome.tokens,
    finishReason: outcome.finishReason,
    model: spec.model.name,
    engine: outcome.engine,
    promptTokens: outcome.promptTokens,
    seed: spec.sampling.seed ?? null,
    aggregator,
    resultEventId: outcome.resultEventId,
    timings: { firstTokenMs: round(outcome.firstTokenMs), totalMs: round(outcome.totalMs) },
    verification: {
      policy: policyLabel(outcome.verification.policy),
      runs: outcome.verification.runs.map((run) => ({ jobId: run.jobId, provider: run.provider, verdict: run.verdict })),
    },
  };
}

interface JobFailure {
  code: string;
  /** What failed it: InsufficientTokenBalanceError, PaymentTermsRefusedError, ... or JobFailedError. */
  name: string;
  message: string;
}

class SubmittedJobFailedError extends CliError {
  constructor(
    jobId: string,
    readonly failure: JobFailure,
    cause: unknown,
  ) {
    // Ctrl-C is 130, any other failure 1 (README).
    super(`job ${jobId} failed (${failure.code}): ${failure.message}`, exitCodeOfCode(failure.code), { cause });
  }
}

/** What failed a job: InsufficientTokenBalanceError, PaymentTermsRefusedError, ... or JobFailedError. */
function failedByName(error: unknown): string {
  if (error instanceof JobFailedError) return error.cause instanceof Error ? error.cause.name : error.name;
  return error instanceof Error ? error.name : 'Error';
}

/** The code of a failed job and the name of what failed it, for --json. */
function failureOf(error: unknown): JobFailure {
  if (error instanceof SubmittedJobFailedError) return error.failure;
  return { code: errorCodeOf(error), name: failedByName(error), message: error instanceof Error ? error.message : String(error) };
}

/** "paid 0.012600 USDC into the escrow (tx 0x…), held until the result is verified" */
export function describePayment(payment: JobPayment): string {
  const units = BigInt(payment.amount);
  const amount = payment.unit === 'micro-usdc' ? `${units / 1_000_000n}.${(units % 1_000_000n).toString().padStart(6, '0')} USDC` : `${units} sat`;
  const where = payment.rail === 'evm' ? `into the escrow (tx ${payment.txHash ?? '?'})` : `by hold invoice (payment hash ${payment.paymentHash ?? '?'})`;
  return `paid ${amount} ${where}, held until the result is verified`;
}

function jsonFailure(error: unknown, spec: JobSpec, aggregator: string, payment: JobPayment | undefined) {
  return { jobId: spec.jobId, status: 'failed', model: spec.model.name, aggregator, error: failureOf(error), ...(payment ? { payment } : {}) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
