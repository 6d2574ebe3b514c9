// A small SentencePiece-style (llama "SPM") vocabulary that llama.cpp accepts: <unk>, <s>, </s>, the 256
// byte-fallback tokens, single characters, then letter strings that each extend a shorter piece by one letter,
// so llama.cpp's bigram merging can build every longer piece from pieces already in the vocabulary.

export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

export interface TinyLlamaVocabulary {
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  readonly tokenTypes: readonly number[];
  readonly unknownId: number;
  readonly bosId: number;
  readonly eosId: number;
}

const WORD_START = '\u2581'; // SentencePiece marks a preceding space with U+2581
const LETTERS_BY_FREQUENCY = 'etaoinshrdlcumwfgypbvkjxqz';
const SINGLE_CHARACTERS = [
  WORD_START,
  ...LETTERS_BY_FREQUENCY,
  ...LETTERS_BY_FREQUENCY.toUpperCase(),
  ...'0123456789',
  ...'.,!?\'"-:;()',
];

/** The fewest tokens a vocabulary built here can have. */
export const MIN_TINY_VOCABULARY = 3 + 256 + SINGLE_CHARACTERS.length;

export function buildTinyLlamaVocabulary(size: number): TinyLlamaVocabulary {
  const special = ['<unk>', '<s>', '</s>'];
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const pieces = [...SINGLE_CHARACTERS, ...longerPieces(size - special.length - bytes.length - SINGLE_CHARACTERS.length)];
  const tokens = [...special, ...bytes, ...pieces];
  const tokenTypes = [
    TOKEN_TYPE.UNKNOWN,
    TOKEN_TYPE.CONTROL,
    TOKEN_TYPE.CONTROL,
    ...bytes.map(() => TOKEN_TYPE.BYTE),
    ...pieces.map(() => TOKEN_TYPE.NORMAL),
  ];
  // Earlier (shorter, more frequent) pieces score higher, as in a trained SentencePiece model.
  const scores = tokens.map((_, id) => (id < special.length + bytes.length ? 0 : -(id - special.length - bytes.length)));
  return { tokens, scores, tokenTypes, unknownId: 0, bosId: 1, eosId: 2 };
}

// Breadth first: all two-character pieces, then three, and so on, until `count` are made.
function longerPieces(count: number): string[] {
  const out: string[] = [];
  let previous = [WORD_START, ...LETTERS_BY_FREQUENCY];
  while (out.length < count) {
    const next: string[] = [];
    for (const prefix of previous) {
      for (const letter of LETTERS_BY_FREQUENCY) {
        if (out.length >= count) return out;
        const piece = prefix + letter;
        out.push(piece);
        next.push(piece);
      }
    }
    previous = next;
  }
  return out;
}
