// Building and opening the two signed envelopes of a job: the client's spec and the provider's result.
import { createHash } from 'node:crypto';
import { conversationKeyOf, seal, signEnvelope, tagValue, unseal, verifyEnvelope, SignatureMismatchError, type NodeKey } from '../identity/index.js';
import { embeddingVectorsHash, EVENT_KIND_JOB_RESULT, EVENT_KIND_JOB_SPEC, JobOutput, JobSpec, providerSpecOf, type NostrEvent } from '../protocol/index.js';
import { fingerprintHash } from '../verification/token-fingerprint.js';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * What a result's signed output_hash hashes: the generated text, or an embedding job's vectors (their canonical
 * bytes, see embeddingVectorsHash). Two runs that agree have equal output hashes either way.
 */
export function outputHashOf(output: Pick<JobOutput, 'output' | 'embeddings'>): string {
  return output.embeddings ? embeddingVectorsHash(output.embeddings.vectors) : sha256Hex(output.output);
}

/** Signs and seals the spec to its provider, without its verification policy (providerSpecOf). */
export function sealJobSpec(client: NodeKey, providerPublicKey: string, spec: JobSpec): NostrEvent {
  return signEnvelope(client, {
    kind: EVENT_KIND_JOB_SPEC,
    tags: [
      ['p', providerPublicKey],
      ['job', spec.jobId],
      ['model', spec.model.name],
    ],
    content: seal(JSON.stringify(providerSpecOf(spec)), conversationKeyOf(client.secretKey, providerPublicKey)),
  });
}

/** Verifies the client's signature, decrypts and validates the spec. Throws SignatureMismatchError, DecryptionFailedError or a zod error. */
export function openJobSpec(provider: NodeKey, event: NostrEvent, jobId: string): JobSpec {
  verifyEnvelope(event, { kind: EVENT_KIND_JOB_SPEC, tags: { p: provider.publicKey, job: jobId } });
  const spec = JobSpec.parse(JSON.parse(unseal(event.content, conversationKeyOf(provider.secretKey, event.pubkey))));
  if (spec.jobId !== jobId) throw new SignatureMismatchError(`the signed spec is for job ${spec.jobId}, not ${jobId}`);
  return spec;
}

export function sealJobResult(provider: NodeKey, clientPublicKey: string, specEventId: string, output: JobOutput, modelName: string): NostrEvent {
  return signEnvelope(provider, {
    kind: EVENT_KIND_JOB_RESULT,
    tags: [
      ['p', clientPublicKey],
      ['e', specEventId],
      ['job', output.jobId],
      ['model', modelName],
      ['output_hash', outputHashOf(output)],
      ['tokens', String(output.tokenIds.length)],
      ['engine', output.engine],
      ...(output.fingerprints ? [['fingerprint_hash', fingerprintHash(output.fingerprints)]] : []),
    ],
    content: seal(JSON.stringify(output), conversationKeyOf(provider.secretKey, clientPublicKey)),
  });
}

/** What anyone on the path can check about a result without decrypting it. */
export interface ResultSummary {
  outputHash: string;
  /** The hash of the run's token fingerprints, when it sent any (src/verification/token-fingerprint.ts). */
  fingerprintHash?: string;
  tokens: number;
  engine: string;
  model: string;
}

export function verifyJobResult(event: NostrEvent, providerPublicKey: string, jobId: string): ResultSummary {
  verifyEnvelope(event, { kind: EVENT_KIND_JOB_RESULT, pubkey: providerPublicKey, tags: { job: jobId } });
  const fingerprintHash = tagValue(event, 'fingerprint_hash');
  return { outputHash: tagValue(event, 'output_hash') ?? '', ...(fingerprintHash ? { fingerprintHash } : {}), tokens: Number(tagValue(event, 'tokens') ?? 0), engine: tagValue(event, 'engine') ?? '', model: tagValue(event, 'model') ?? '' };
}

/** The client's side: verify, decrypt, and check the output against the signed hash. */
export function openJobResult(client: NodeKey, event: NostrEvent, providerPublicKey: string, jobId: string): JobOutput {
  verifyEnvelope(event, { kind: EVENT_KIND_JOB_RESULT, pubkey: providerPublicKey, tags: { job: jobId, p: client.publicKey } });
  const output = JobOutput.parse(JSON.parse(unseal(event.content, conversationKeyOf(client.secretKey, providerPublicKey))));
  if (outputHashOf(output) !== tagValue(event, 'output_hash')) throw new SignatureMismatchError('the output does not match the signed output hash');
  if (output.embeddings && output.embeddings.sha256 !== tagValue(event, 'output_hash')) throw new SignatureMismatchError('the vectors do not match their signed sha256');
  if (output.fingerprints && fingerprintHash(output.fingerprints) !== tagValue(event, 'fingerprint_hash')) throw new SignatureMismatchError('the fingerprints do not match the signed fingerprint hash');
  return output;
}
