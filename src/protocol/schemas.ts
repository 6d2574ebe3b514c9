// The wire protocol as data: one zod schema per frame, the TypeScript types inferred from them. Frames are
// parsed here at the boundary; everything past it trusts the types. docs/protocol.md is generated from this file.
import { z } from 'zod';
import { ContentId } from './content-id.js';
import { ERROR_CODE_NAMES } from './error-codes.js';

export const HexPublicKey = z.string().regex(/^[0-9a-f]{64}$/, 'a 32-byte public key as 64 lowercase hex characters');
export const JobId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -');

/** A NIP-01 event: the form of every signed envelope on the wire. */
export const NostrEvent = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/),
  pubkey: HexPublicKey,
  created_at: z.number().int().nonnegative(),
  kind: z.number().int().nonnegative(),
  tags: z.array(z.array(z.string())),
  content: z.string(),
  sig: z.string().regex(/^[0-9a-f]{128}$/),
});
export type NostrEvent = z.infer<typeof NostrEvent>;

export const NodeRole = z.enum(['provider', 'aggregator', 'client', 'all']);
export type NodeRole = z.infer<typeof NodeRole>;

/** A model named by what the client knows of it: a name, and optionally the path or hash it used. */
export const ModelRef = z.object({
  name: z.string().min(1).max(256),
  path: z.string().max(4096).optional(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  cid: ContentId.optional(),
});
export type ModelRef = z.infer<typeof ModelRef>;

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * What a job computes. `generate` (text) is every job that names no kind, as peers that predate kinds send and
 * expect; `embed` is one embedding vector per input text. A provider says which kinds it runs in its capabilities
 * (ProviderCapabilities.jobKinds, absent: generate only) and an aggregator matches a job only to those.
 */
export const JobKind = z.enum(['generate', 'embed']);
export type JobKind = z.infer<typeof JobKind>;

/** Texts one embedding job may carry: each is a vector in its result, and a result travels in one frame. */
export const MAX_EMBEDDING_INPUTS = 64;
/** Characters of all an embedding job's texts together, so that its spec fits a frame once sealed. */
export const MAX_EMBEDDING_INPUT_CHARS = 256 * 1024;
/**
 * Float32 values (inputs x dimensions) in one embedding result: base64 inside a sealed (base64) payload costs about
 * 7.2 bytes a value, so 98,304 values stay near 700 KB, inside the default 1 MiB frame. A provider refuses more.
 */
export const MAX_EMBEDDING_VALUES = 98_304;

/**
 * An embedding job's input. A variant of its own, not a flag beside a prompt: a provider that predates embeddings
 * fails to parse the spec and refuses it (invalid_frame), where a flag it does not know would be dropped and the
 * texts run as a chat.
 */
export const EmbeddingInput = z
  .object({
    embed: z
      .array(z.string().min(1))
      .min(1)
      .max(MAX_EMBEDDING_INPUTS)
      .refine((texts) => texts.reduce((sum, text) => sum + text.length, 0) <= MAX_EMBEDDING_INPUT_CHARS, `at most ${MAX_EMBEDDING_INPUT_CHARS} characters in all`),
  })
  .strict();
export type EmbeddingInput = z.infer<typeof EmbeddingInput>;

const PromptInput = z.object({ prompt: z.string() }).strict();
const MessagesInput = z.object({ messages: z.array(ChatMessage).min(1) }).strict();
/** The input of a job that generates text: what an engine's generate takes. */
export const GenerationInput = z.union([PromptInput, MessagesInput]);
export type GenerationInput = z.infer<typeof GenerationInput>;

export const JobInput = z.union([PromptInput, MessagesInput, EmbeddingInput]);
export type JobInput = z.infer<typeof JobInput>;

/** The kind of job an input makes. */
export function jobKindOf(input: JobInput): JobKind {
  return 'embed' in input ? 'embed' : 'generate';
}

/**
 * JSON Schema as JSON: which keywords the engine's grammar enforces is the engine's to say (src/inference
 * json-schema-grammar.ts); the client node checks a schema against it before the job leaves.
 */
export const JsonSchema: z.ZodType<Record<string, unknown>> = z.record(z.string(), z.unknown());

export const OutputFormat = z.discriminatedUnion('type', [
  /** Any JSON object. */
  z.object({ type: z.literal('json') }),
  z.object({ type: z.literal('json_schema'), schema: JsonSchema }),
]);
export type OutputFormat = z.infer<typeof OutputFormat>;

export const SamplingParams = z.object({
  /** 0 means greedy decoding: the same tokens on every run of the same engine and model. */
  temperature: z.number().min(0).max(2).default(0),
  topK: z.number().int().min(0).max(1000).optional(),
  topP: z.number().gt(0).max(1).optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  maxTokens: z.number().int().min(1).max(32768).default(128),
  stop: z.array(z.string().min(1)).max(8).optional(),
  /** Penalties on tokens already generated, as OpenAI defines them: once per token present, per occurrence. */
  presencePenalty: z.number().min(-2).max(2).optional(),
  frequencyPenalty: z.number().min(-2).max(2).optional(),
  /** [token id of the model's own vocabulary, logit added], as llama.cpp's server takes OpenAI's logit_bias. */
  logitBias: z.array(z.tuple([z.number().int().nonnegative(), z.number().min(-100).max(100)])).max(1024).optional(),
  /** Grammar-constrained decoding: the output is JSON (any object), or JSON valid against a schema. */
  format: OutputFormat.optional(),
});
export type SamplingParams = z.infer<typeof SamplingParams>;

export const Price = z.object({
  /** Decimal string so that no float rounding reaches a payment. */
  amount: z.string().regex(/^\d+(\.\d+)?$/),
  currency: z.string().min(1).max(16),
  /** What one amount pays for. */
  per: z.enum(['job', '1k_tokens']).default('1k_tokens'),
});
export type Price = z.infer<typeof Price>;

export const VerificationPolicy = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({ kind: z.literal('redundant'), k: z.number().int().min(2).max(8) }),
  z.object({ kind: z.literal('sampled'), p: z.number().gt(0).max(1) }),
]);
export type VerificationPolicy = z.infer<typeof VerificationPolicy>;

/** A file named by content id: the CID IPFS computes for its bytes (CIDv1, raw leaves, 256 KiB chunks). */
export const ContentInput = z.object({
  cid: ContentId,
  name: z.string().max(256).optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
});
export type ContentInput = z.infer<typeof ContentInput>;

/** What the client asks for, signed by it and encrypted to the provider (NIP-44) inside a job.offer. */
export const JobSpec = z.object({
  jobId: JobId,
  model: ModelRef,
  input: JobInput,
  sampling: SamplingParams,
  /** Unix milliseconds after which the job is worthless to the client. */
  deadline: z.number().int().positive(),
  priceCap: Price.optional(),
  verification: VerificationPolicy.default({ kind: 'none' }),
  /** Large inputs named by content id (CIDv1, see src/content); no engine reads file inputs yet, so none are fetched. */
  inputs: z.array(ContentInput).max(16).optional(),
  /**
   * Failover replay: what an earlier provider of this job already streamed to the client before it was lost. The
   * provider evaluates the input followed by these tokens and continues after them; sampling.maxTokens then counts
   * only the tokens still owed, and its output (streamed and signed) is the continuation alone.
   */
  continuation: z.object({ tokenIds: z.array(z.number().int().nonnegative()).min(1).max(32768), text: z.string() }).strict().optional(),
  /** Return each generated token's text and log-probability, with this many most likely alternatives. */
  logprobs: z.number().int().min(0).max(20).optional(),
});
export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;

/**
 * One generated token as the engine saw it: the chosen id, its log-probability and the k most likely
 * alternatives. Two runs of the same job are compared on these within a tolerance where hardware makes
 * bit-exact outputs impossible (src/verification).
 */
export const TokenFingerprint = z.object({
  token: z.number().int().nonnegative(),
  logprob: z.number(),
  /** [token id, logprob] of the most likely tokens, best first. */
  top: z.array(z.tuple([z.number().int().nonnegative(), z.number()])).max(16),
});
export type TokenFingerprint = z.infer<typeof TokenFingerprint>;

/** A generated token as text with its log-probability: what a client asked for with JobSpec.logprobs. */
export const TokenLogprob = z.object({
  token: z.string(),
  logprob: z.number(),
  /** The most likely tokens at this step, best first. */
  top: z.array(z.object({ token: z.string(), logprob: z.number() })).max(20),
});
export type TokenLogprob = z.infer<typeof TokenLogprob>;

/**
 * The vectors of an embedding job, one per input in order, each its float32 values little-endian in base64 (as
 * OpenAI's encoding_format base64). sha256 is over every vector's bytes concatenated in order: two runs of the same
 * model on the same engine give the same bytes, so redundant runs are compared by this hash (src/verification).
 */
export const EmbeddingVectors = z
  .object({
    dimensions: z.number().int().min(1).max(MAX_EMBEDDING_VALUES),
    vectors: z.array(z.string().max(Math.ceil((MAX_EMBEDDING_VALUES * 4) / 3) + 4)).min(1).max(MAX_EMBEDDING_INPUTS),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict()
  .refine((e) => e.dimensions * e.vectors.length <= MAX_EMBEDDING_VALUES, `at most ${MAX_EMBEDDING_VALUES} values in all`);
export type EmbeddingVectors = z.infer<typeof EmbeddingVectors>;

/** What the provider returns, signed by it and encrypted to the client inside a job.result. */
export const JobOutput = z.object({
  jobId: JobId,
  output: z.string(),
  tokenIds: z.array(z.number().int().nonnegative()),
  finishReason: z.enum(['stop', 'length', 'cancelled']),
  usage: z.object({ promptTokens: z.number().int().nonnegative(), completionTokens: z.number().int().nonnegative() }),
  engine: z.string(),
  timings: z.object({ firstTokenMs: z.number().nonnegative(), totalMs: z.number().nonnegative() }),
  /** Per-token fingerprints, one per token id, of every generation whose engine computes them (a spec carries no policy). */
  fingerprints: z.array(TokenFingerprint).max(32768).optional(),
  /** One per token id, when the spec asked for logprobs. */
  logprobs: z.array(TokenLogprob).max(32768).optional(),
  /** An embedding job's result (output is empty, tokenIds none): what the signed output_hash tag hashes. */
  embeddings: EmbeddingVectors.optional(),
});
export type JobOutput = z.infer<typeof JobOutput>;

/** A batch of streamed tokens, encrypted to the client inside job.tokens. */
export const TokenBatch = z.object({
  text: z.string(),
  tokenIds: z.array(z.number().int().nonnegative()),
});
export type TokenBatch = z.infer<typeof TokenBatch>;

export const ModelOffer = z.object({
  name: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  sizeBytes: z.number().int().nonnegative().optional(),
});
export type ModelOffer = z.infer<typeof ModelOffer>;

/** Decimal string of an amount in a rail's smallest unit (micro-USDC, satoshis): no float reaches a payment. */
const BaseUnits = z.string().regex(/^\d{1,30}$/, 'a decimal string of base units');
const EvmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'a 0x-prefixed 20-byte hex address');
const Hash32 = z.string().regex(/^[0-9a-f]{64}$/, '32 bytes as 64 lowercase hex characters');

/** The rails a job can be paid on: the JobEscrow contract (a stablecoin with 6 decimals) or a Lightning hold invoice. */
export const PaymentRailName = z.enum(['evm', 'lightning']);
export type PaymentRailName = z.infer<typeof PaymentRailName>;

/**
 * How a matched job is paid, set by the aggregator in job.match. evm: the client deposits amount + fee into the
 * escrow for the job, naming the provider's payout address and the aggregator (which releases it after
 * verification, or refunds it). lightning: the client pays the provider's hold invoice for the job (settled after
 * verification, cancelled on failure). Amounts are decimal strings of base units.
 */
export const PaymentTerms = z.discriminatedUnion('rail', [
  z
    .object({
      rail: z.literal('evm'),
      chainId: z.number().int().positive(),
      escrow: EvmAddress,
      token: EvmAddress,
      /** The provider's payout address. */
      provider: EvmAddress,
      /** The aggregator's address: it alone releases, and receives the fee. */
      aggregator: EvmAddress,
      /** The provider's pay, token base units (6 decimals). */
      amount: BaseUnits,
      /** The aggregator's fee, token base units, on top of amount. */
      fee: BaseUnits,
      /** Unix seconds: after it only the client can refund the deposit. */
      deadline: z.number().int().positive(),
    })
    .strict(),
  z
    .object({
      rail: z.literal('lightning'),
      /** BOLT11 payment request of a hold invoice the provider made for this job. */
      paymentRequest: z.string().min(8).max(4096),
      paymentHash: Hash32,
      amountSat: BaseUnits,
    })
    .strict(),
]);
export type PaymentTerms = z.infer<typeof PaymentTerms>;

export const ProviderCapabilities = z.object({
  models: z.array(ModelOffer).max(1024),
  slots: z.number().int().min(0),
  price: Price.optional(),
  engine: z.string().optional(),
  /** Fetches a model it lacks when the job names it by content id (src/content), before accepting. */
  fetchesModels: z.boolean().optional(),
  /** Where this provider is paid: its EVM payout address, and whether it makes Lightning hold invoices for jobs. */
  payout: z.object({ evm: EvmAddress.optional(), lightning: z.boolean().optional() }).strict().optional(),
  /** The kinds of job it runs; absent: generate only (a provider that predates kinds). */
  jobKinds: z.array(JobKind).min(1).max(8).optional(),
  /**
   * Its price, EVM payout address and Lightning node key, signed by its node key (a kind-30953 event): forwarded to
   * clients in job.match so that they pay only what the provider itself asked.
   */
  payoutStatement: NostrEvent.optional(),
});
export type ProviderCapabilities = z.infer<typeof ProviderCapabilities>;

const frame = <T extends string, S extends z.ZodRawShape>(type: T, shape: S, description: string) =>
  z.object({ v: z.number().int().positive(), type: z.literal(type), ...shape }).strict().describe(description);

export const HelloFrame = frame(
  'hello',
  {
    versions: z.array(z.number().int().positive()).min(1).max(16),
    pubkey: HexPublicKey,
    role: NodeRole,
    agent: z.string().max(128),
    /** 32 random bytes in hex that the peer must sign in its auth frame. */
    challenge: z.string().regex(/^[0-9a-f]{64}$/),
    capabilities: ProviderCapabilities.optional(),
  },
  'First frame of each side: versions spoken, node key, role, and a challenge for the peer to sign.',
);
export const AuthFrame = frame(
  'auth',
  { event: NostrEvent },
  'A kind-22242 event signed by the node key with tags [challenge, <peer challenge>] and [protocol, infernet/<v>].',
);
export const ReadyFrame = frame(
  'ready',
  { version: z.number().int().positive() },
  "Sent once the peer's auth verified; the session then speaks the negotiated version.",
);
export const JobRequestFrame = frame(
  'job.request',
  {
    jobId: JobId,
    model: ModelRef,
    maxTokens: z.number().int().min(1).max(32768),
    deadline: z.number().int().positive(),
    priceCap: Price.optional(),
    verification: VerificationPolicy.optional(),
    /** Providers not to match: those that already ran another execution of the same client job. */
    exclude: z.array(HexPublicKey).max(16).optional(),
    /**
     * Match only this provider (a batch coordinator placing its shards); refused with no_provider if it cannot take the
     * job. A run matched this way is the client's choice: it never counts as independent evidence in a verdict.
     */
    provider: HexPublicKey.optional(),
    /**
     * This execution checks the job named, relayed here earlier for this client under a verification policy. The
     * aggregator draws its provider at random among those that can take it, leaving out every provider of the job's
     * other runs; `provider` is refused with it, and a job gets a bounded number of checks.
     */
    checkOf: JobId.optional(),
    /** The rails this client can pay on, in its order of preference; absent: it pays on none (payment_required where payment is due). */
    payment: z
      .object({
        rails: z.array(PaymentRailName).min(1).max(4),
        /**
         * With lightning among the rails: 32 random bytes (hex) sealed to the aggregator's key (NIP-44), from which the
         * preimage of each of the job's hold invoices is derived (src/payments/lightning/run-preimage.ts). The provider
         * sees only the hashes; the aggregator reveals a preimage in job.outcome for a verdict that pays. A client that
         * sends none is refused payment_required where the job would be paid by Lightning.
         */
        holdSecret: z.string().min(1).max(512).optional(),
      })
      .strict()
      .optional(),
    /** The job's kind; absent: generate. Matched only to providers whose capabilities list it. */
    kind: JobKind.optional(),
  },
  'Client to aggregator: find a provider for this job. Carries only what matching needs, never the prompt.',
);
export const JobMatchFrame = frame(
  'job.match',
  {
    jobId: JobId,
    provider: HexPublicKey,
    /** The provider's price as the aggregator tells it: unsigned, shown to the user, never what a client pays by. */
    price: Price.optional(),
    payment: PaymentTerms.optional(),
    /**
     * The provider's signed payout statement, as it sent it in its capabilities: with `payment`, the client pays only
     * its payout address or Lightning node, at most its signed price for the job's tokens.
     */
    payoutStatement: NostrEvent.optional(),
    /**
     * With escrow terms: the aggregator's own statement (kind 30953, signed by its node key) naming its EVM address,
     * which the terms' \`aggregator\` (the party that releases the deposit and takes the fee) must be: the client pays
     * no escrow that names an address this aggregator did not sign as its own.
     */
    aggregatorStatement: NostrEvent.optional(),
    /** Failover: the attempt this match starts (2 or more); absent on the first. Its escrow deposit is keyed `<jobId>~<attempt>`. */
    attempt: z.number().int().min(2).max(8).optional(),
    /** Failover: the provider of the previous attempt and why it was lost; its deposit is refunded by the aggregator. */
    lost: z.object({ provider: HexPublicKey, code: z.enum(ERROR_CODE_NAMES), message: z.string().max(1024) }).strict().optional(),
  },
  'Aggregator to client: the provider chosen; the client now encrypts its spec to that key. With `payment`, the client checks the terms against its own config, pays (escrow deposit or hold invoice), and only then sends job.offer. A second job.match for the same job (with `attempt` and `lost`) replaces a provider lost before it finished: the client offers the spec again to the new provider with a `continuation` of the tokens it already received, and the new provider streams from job.tokens seq 0.',
);
export const JobOfferFrame = frame(
  'job.offer',
  { jobId: JobId, spec: NostrEvent },
  'The signed job spec (kind 5950, content NIP-44 encrypted to the provider); forwarded as is by the aggregator.',
);
export const JobAcceptFrame = frame('job.accept', { jobId: JobId }, 'Provider: the job is accepted and will run.');
export const JobRejectFrame = frame(
  'job.reject',
  { jobId: JobId, code: z.enum(ERROR_CODE_NAMES), message: z.string().max(1024) },
  'The job will not run, with the reason.',
);
export const JobProgressFrame = frame(
  'job.progress',
  {
    jobId: JobId,
    stage: z.enum(['queued', 'loading_model', 'fetching_model', 'generating']),
    message: z.string().max(1024).optional(),
  },
  'Where a job is before its first token.',
);
export const JobTokensFrame = frame(
  'job.tokens',
  { jobId: JobId, seq: z.number().int().nonnegative(), data: z.string() },
  'Streamed tokens: data is a TokenBatch, NIP-44 encrypted to the client. seq counts frames from 0.',
);
export const JobResultFrame = frame(
  'job.result',
  { jobId: JobId, result: NostrEvent },
  'The signed result (kind 6950, content a JobOutput NIP-44 encrypted to the client; output hash in its tags).',
);
export const JobCancelFrame = frame(
  'job.cancel',
  { jobId: JobId, reason: z.string().max(1024).optional() },
  'Stop the job; the provider frees its slot.',
);
export const ErrorFrame = frame(
  'error',
  { code: z.enum(ERROR_CODE_NAMES), message: z.string().max(2048), jobId: JobId.optional() },
  'Something went wrong; with a jobId it ends that job, without one it concerns the frame last received.',
);
export const JobVerdictFrame = frame(
  'job.verdict',
  {
    jobId: JobId,
    policy: VerificationPolicy,
    /** Every execution of the job (the primary first), each a job this aggregator relayed for this client. */
    runs: z
      .array(
        z
          .object({
            jobId: JobId,
            provider: HexPublicKey,
            verdict: z.enum(['verified', 'failed', 'unchecked', 'inconclusive']),
            /**
             * With a verdict that blames a run, every run's token fingerprints as its provider sent them (they hash to
             * the fingerprint hash its signed result carries): the aggregator compares the runs itself before it fails
             * one. Absent otherwise, so an aggregator sees no output unless a client asks it to fail a run.
             */
            fingerprints: z.array(TokenFingerprint).max(32768).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(16),
  },
  "Client to aggregator, after comparing a verified job's executions: the verdict per run. The aggregator checks it against the signed results it relayed; a run is failed only when two runs it drew at random agree against it, by the aggregator's own comparison of the fingerprints sent. Then it records and publishes the outcomes.",
);
export const InvoiceRequestFrame = frame(
  'invoice.request',
  { jobId: JobId, maxTokens: z.number().int().min(1).max(32768), paymentHash: Hash32 },
  "Aggregator to provider, at match time: make a hold invoice for this job at the provider's price for maxTokens, on paymentHash (the paying side keeps its preimage: the provider cannot settle before a verdict that pays). Answered with invoice.offer on that hash, or job.reject (payment_missing).",
);
export const InvoiceOfferFrame = frame(
  'invoice.offer',
  { jobId: JobId, paymentRequest: z.string().min(8).max(4096), paymentHash: Hash32, amountSat: BaseUnits },
  'Provider to aggregator: the hold invoice for the job, passed to the client in job.match payment terms. The provider runs the job only once the invoice is paid (ACCEPTED).',
);
export const JobOutcomeFrame = frame(
  'job.outcome',
  { jobId: JobId, verdict: z.enum(['verified', 'failed', 'unchecked', 'inconclusive']), preimage: Hash32.optional() },
  "Aggregator to provider, for a job paid by hold invoice: the run's verification verdict, with the invoice's preimage unless the verdict is failed. The provider checks the preimage against the invoice's hash and settles; on failed it cancels. Sent when the verdict (or the close of its window) is known, or when the provider next connects.",
);
export const HeartbeatFrame = frame(
  'heartbeat',
  {
    ts: z.number().int().nonnegative(),
    load: z.object({ activeJobs: z.number().int().nonnegative(), slots: z.number().int().nonnegative() }).optional(),
  },
  'Sent by both sides at the heartbeat interval; a provider includes its load.',
);

export const ModelsRequestFrame = frame(
  'models.request',
  {},
  'Client to aggregator: which models can the network serve now? Answered with models.list.',
);
export const ModelsListFrame = frame(
  'models.list',
  { models: z.array(ModelOffer).max(1024) },
  'Aggregator to client: every model some connected provider serves now, one entry per name.',
);

/** Bounds of one network test (`infernet net test`): per direction, enforced by the node that answers it. */
export const NET_TEST_MAX_BYTES = 1024 * 1024 * 1024;
export const NET_TEST_MAX_SECONDS = 60;
const NetTestId = z.string().min(8).max(64).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -');

export const NetPingFrame = frame(
  'net.ping',
  { seq: z.number().int().nonnegative(), ts: z.number().nonnegative() },
  "Network test: any node with a listener answers with net.pong carrying the same seq and ts (the sender's clock).",
);
export const NetPongFrame = frame('net.pong', { seq: z.number().int().nonnegative(), ts: z.number().nonnegative() }, 'The answer to net.ping, echoing seq and ts.');
export const NetTestStartFrame = frame(
  'net.test.start',
  {
    testId: NetTestId,
    /** upload: the sender of this frame sends net.data; download: the peer does. */
    direction: z.enum(['upload', 'download']),
    bytes: z.number().int().min(1).max(NET_TEST_MAX_BYTES),
    seconds: z.number().gt(0).max(NET_TEST_MAX_SECONDS),
    /** Payload characters per net.data frame the sender of this frame can take; the peer may lower it. */
    chunkBytes: z.number().int().min(256),
  },
  'Network test: start a throughput test of at most `bytes` and `seconds` in one direction. One test at a time per session; answered with net.test.ready, or error busy.',
);
export const NetTestReadyFrame = frame(
  'net.test.ready',
  { testId: NetTestId, chunkBytes: z.number().int().min(256) },
  'The test may run, with net.data payloads of at most chunkBytes characters (within both peers\' maxFrameBytes); for a download the data follows.',
);
export const NetDataFrame = frame(
  'net.data',
  { testId: NetTestId, seq: z.number().int().nonnegative(), payload: z.string() },
  'Test data (base64 filler). Not counted against the frame rate: only accepted within a started test and its byte budget; outside one the session is closed.',
);
export const NetAckFrame = frame(
  'net.ack',
  { testId: NetTestId, seq: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() },
  'The receiver of net.data acknowledges frame seq and the payload characters received so far; the sender keeps a bounded window of unacknowledged frames.',
);
export const NetTestEndFrame = frame(
  'net.test.end',
  { testId: NetTestId, reason: z.string().max(256).optional() },
  'Either side ends the test (its time ran out, or the tester has what it needs); data still in flight is ignored.',
);

export const PushRegisterFrame = frame(
  'push.register',
  { token: z.string().min(1).max(4096), platform: z.enum(['ios', 'android', 'web', 'expo']) },
  'A paired phone to its node: keep this push token and notify it of its jobs when the app is not running. Answered with push.registered, or error grant_refused for a key without a live grant.',
);
export const PushRegisteredFrame = frame('push.registered', { platform: z.enum(['ios', 'android', 'web', 'expo']) }, 'The node stored the push token.');

export const FRAME_SCHEMAS = {
  hello: HelloFrame,
  auth: AuthFrame,
  ready: ReadyFrame,
  'job.request': JobRequestFrame,
  'job.match': JobMatchFrame,
  'job.offer': JobOfferFrame,
  'job.accept': JobAcceptFrame,
  'job.reject': JobRejectFrame,
  'job.progress': JobProgressFrame,
  'job.tokens': JobTokensFrame,
  'job.result': JobResultFrame,
  'job.cancel': JobCancelFrame,
  'job.verdict': JobVerdictFrame,
  'invoice.request': InvoiceRequestFrame,
  'invoice.offer': InvoiceOfferFrame,
  'job.outcome': JobOutcomeFrame,
  error: ErrorFrame,
  heartbeat: HeartbeatFrame,
  'models.request': ModelsRequestFrame,
  'models.list': ModelsListFrame,
  'net.ping': NetPingFrame,
  'net.pong': NetPongFrame,
  'net.test.start': NetTestStartFrame,
  'net.test.ready': NetTestReadyFrame,
  'net.data': NetDataFrame,
  'net.ack': NetAckFrame,
  'net.test.end': NetTestEndFrame,
  'push.register': PushRegisterFrame,
  'push.registered': PushRegisteredFrame,
} as const;

export const Frame = z.discriminatedUnion('type', [
  HelloFrame,
  AuthFrame,
  ReadyFrame,
  JobRequestFrame,
  JobMatchFrame,
  JobOfferFrame,
  JobAcceptFrame,
  JobRejectFrame,
  JobProgressFrame,
  JobTokensFrame,
  JobResultFrame,
  JobCancelFrame,
  JobVerdictFrame,
  InvoiceRequestFrame,
  InvoiceOfferFrame,
  JobOutcomeFrame,
  ErrorFrame,
  HeartbeatFrame,
  ModelsRequestFrame,
  ModelsListFrame,
  NetPingFrame,
  NetPongFrame,
  NetTestStartFrame,
  NetTestReadyFrame,
  NetDataFrame,
  NetAckFrame,
  NetTestEndFrame,
  PushRegisterFrame,
  PushRegisteredFrame,
]);
export type Frame = z.infer<typeof Frame>;
export type FrameType = Frame['type'];
export type FrameOf<T extends FrameType> = Extract<Frame, { type: T }>;
/** A frame as a sender writes it: the version is stamped by the session. */
export type OutgoingFrame = Frame extends infer F ? (F extends Frame ? Omit<F, 'v'> : never) : never;
export const FRAME_TYPES = Object.keys(FRAME_SCHEMAS) as FrameType[];
