// The three facts a payer must check in a BOLT11 payment request before paying it for a job: its amount, its
// payment hash (so an aggregator cannot pass off another invoice as the provider's for this job) and its payee (so
// it cannot pass off its own invoice). Reads the human-readable part, the `p` and `n` tagged fields, and recovers the
// payee's key from the signature when there is no `n`; the bech32 checksum is verified.
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { InfernetError } from '../../errors/index.js';

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const CHECKSUM_WORDS = 6;
const SIGNATURE_WORDS = 104;
const TIMESTAMP_WORDS = 7;
const PAYMENT_HASH_TAG = 1; // 'p'
const PAYEE_TAG = 19; // 'n'
/** Millisatoshis per unit of the amount's multiplier (none: whole bitcoins). */
const MSAT_PER: Record<string, bigint> = { '': 100_000_000_000n, m: 100_000_000n, u: 100_000n, n: 100n };

export class InvalidInvoiceError extends InfernetError {
  override readonly name = 'InvalidInvoiceError';
  constructor(readonly paymentRequest: string, reason: string) {
    super('payment_refused', `not a usable BOLT11 payment request (${reason}): ${paymentRequest.slice(0, 40)}...`);
  }
}

export interface DecodedInvoice {
  /** The network prefix: bc, tb, bcrt, sb. */
  network: string;
  /** Undefined for an invoice without an amount (the payer would choose it: never accepted for a job). */
  amountMsat?: bigint;
  paymentHash: string;
  /** The payee's compressed node key: the `n` field, else recovered from the invoice's signature. */
  payee?: string;
}

export function decodeBolt11(paymentRequest: string): DecodedInvoice {
  const text = paymentRequest.trim().toLowerCase().replace(/^lightning:/, '');
  const separator = text.lastIndexOf('1');
  if (separator < 1) throw new InvalidInvoiceError(paymentRequest, 'no bech32 separator');
  const hrp = text.slice(0, separator);
  const words = [...text.slice(separator + 1)].map((char) => CHARSET.indexOf(char));
  if (words.some((word) => word < 0)) throw new InvalidInvoiceError(paymentRequest, 'a character outside bech32');
  if (words.length < TIMESTAMP_WORDS + SIGNATURE_WORDS + CHECKSUM_WORDS) throw new InvalidInvoiceError(paymentRequest, 'too short');
  if (polymod([...expandHrp(hrp), ...words]) !== 1) throw new InvalidInvoiceError(paymentRequest, 'bad bech32 checksum');
  const hrpMatch = /^ln(bcrt|bc|tbs|tb|sb)(\d+)?([munp])?$/.exec(hrp);
  if (!hrpMatch) throw new InvalidInvoiceError(paymentRequest, `prefix "${hrp}" is not a Lightning invoice's`);
  const [, network, digits, multiplier = ''] = hrpMatch;
  const tagged = words.slice(TIMESTAMP_WORDS, words.length - CHECKSUM_WORDS - SIGNATURE_WORDS);
  const paymentHash = taggedField(tagged, PAYMENT_HASH_TAG);
  if (!paymentHash) throw new InvalidInvoiceError(paymentRequest, 'no payment hash');
  const payee = payeeOf(hrp, words.slice(0, words.length - CHECKSUM_WORDS - SIGNATURE_WORDS), words.slice(words.length - CHECKSUM_WORDS - SIGNATURE_WORDS, words.length - CHECKSUM_WORDS), tagged);
  return { network: network!, paymentHash: bytesOf(paymentHash).subarray(0, 32).toString('hex'), ...(digits ? { amountMsat: amountMsatOf(paymentRequest, digits, multiplier) } : {}), ...(payee ? { payee } : {}) };
}

/**
 * The payee's compressed key: the `n` field when the invoice has one (then the signature must verify against it),
 * else the key recovered from the signature over sha256(hrp || data). Undefined when neither yields a key.
 */
function payeeOf(hrp: string, signedWords: number[], signatureWords: number[], tagged: number[]): string | undefined {
  const digest = createHash('sha256').update(Buffer.concat([Buffer.from(hrp, 'utf8'), paddedBytesOf(signedWords)])).digest();
  const signature = bytesOf(signatureWords);
  try {
    const recovered = new secp256k1.Signature(BigInt(`0x${signature.subarray(0, 32).toString('hex')}`), BigInt(`0x${signature.subarray(32, 64).toString('hex')}`), signature[64]!)
      .recoverPublicKey(digest)
      .toHex(true);
    const named = fieldOf(tagged, PAYEE_TAG, 53);
    const stated = named ? bytesOf(named).subarray(0, 33).toString('hex') : undefined;
    return stated === undefined || stated === recovered ? recovered : undefined;
  } catch {
    return undefined;
  }
}

function amountMsatOf(paymentRequest: string, digits: string, multiplier: string): bigint {
  // 'p' is a tenth of a millisatoshi: only multiples of 10 are whole millisatoshis.
  if (multiplier === 'p') {
    const pico = BigInt(digits);
    if (pico % 10n) throw new InvalidInvoiceError(paymentRequest, 'an amount in fractions of a millisatoshi');
    return pico / 10n;
  }
  return BigInt(digits) * MSAT_PER[multiplier]!;
}

/** The data of the first tagged field of this type: [type][length: 2 words][data]. */
function taggedField(words: number[], type: number): number[] | undefined {
  return fieldOf(words, type, 52);
}

/** The first tagged field of this type and length in words (fields of another length are skipped, as BOLT11 asks). */
function fieldOf(words: number[], type: number, wantedLength: number): number[] | undefined {
  for (let i = 0; i + 3 <= words.length; ) {
    const length = words[i + 1]! * 32 + words[i + 2]!;
    if (words[i] === type && length === wantedLength) return words.slice(i + 3, i + 3 + length);
    i += 3 + length;
  }
  return undefined;
}

/** 5-bit words to bytes, the last one padded with zero bits: what BOLT11's signature covers. */
function paddedBytesOf(words: number[]): Buffer {
  const padding = (8 - ((words.length * 5) % 8)) % 8;
  return bytesOf([...words, ...new Array<number>(Math.ceil(padding / 5)).fill(0)]);
}

/** 5-bit words to bytes, dropping the padding bits. */
function bytesOf(words: number[]): Buffer {
  const bytes: number[] = [];
  let accumulator = 0;
  let bits = 0;
  for (const word of words) {
    accumulator = (accumulator << 5) | word;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      bytes.push((accumulator >> bits) & 0xff);
    }
    accumulator &= (1 << bits) - 1;
  }
  return Buffer.from(bytes);
}

function expandHrp(hrp: string): number[] {
  const codes = [...hrp].map((char) => char.charCodeAt(0));
  return [...codes.map((code) => code >> 5), 0, ...codes.map((code) => code & 31)];
}

function polymod(values: number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) checksum ^= GENERATORS[i]!;
  }
  return checksum;
}
