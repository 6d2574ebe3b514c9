// The cost of grammar-constrained decoding: tokens/s of a streamed chat completion under a json_schema
// response_format against free decoding of the same prompt on the same model, through the same node (the official
// client -> a client node's HTTP API -> aggregator -> provider), alternately in one run.
import OpenAI from 'openai';
import { decodeRate, endToEndRate, firstToken, type Sample } from './generation-samples.js';
import { eventually } from '../test/support/cli.js';
import { API_TEST_MODEL as MODEL, startApiNetwork } from '../test/e2e/api-network.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = 7;
const MAX_TOKENS = 128;
const MESSAGES = [{ role: 'user' as const, content: 'Tell me a story about Lily and her dog.' }];
/** A story of at least 400 characters (more than the budget's tokens write), so the constrained answer runs to the same token budget as the free one. */
const STORY_SCHEMA = { type: 'object', properties: { title: { type: 'string', maxLength: 40 }, story: { type: 'string', minLength: 400 } }, required: ['title', 'story'], additionalProperties: false };

async function main(): Promise<void> {
  const network = await startApiNetwork();
  try {
    const openai = new OpenAI({ apiKey: network.apiKey, baseURL: `${network.api}/v1`, maxRetries: 0 });
    await eventually(async () => (await openai.models.list()).data.length > 0, 15_000, 'the provider to join');
    const run = async (constrained: boolean): Promise<Sample> => {
      const started = performance.now();
      let firstTokenMs = 0;
      let lastTokenMs = 0;
      let tokens = 0;
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages: MESSAGES,
        max_tokens: MAX_TOKENS,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
        ...(constrained ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'story', schema: STORY_SCHEMA, strict: true } } } : {}),
      });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) {
          lastTokenMs = performance.now() - started;
          firstTokenMs ||= lastTokenMs;
        }
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
      return { tokens, firstTokenMs, lastTokenMs, totalMs: performance.now() - started };
    };
    await run(false); // warm-up: the API's session, the provider's first allocations, the grammar's first build
    await run(true);
    const free: Sample[] = [];
    const constrained: Sample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const grammar of round % 2 ? [false, true] : [true, false]) (grammar ? constrained : free).push(await run(grammar));
    }
    printTable(free, constrained);
  } finally {
    await network.stop();
  }
}

function printTable(free: Sample[], constrained: Sample[]): void {
  console.log(`\n# Grammar-constrained vs free decoding: ${MODEL}, chat, up to ${MAX_TOKENS} tokens greedy, streamed through the API, median of ${ROUNDS} alternating rounds`);
  console.log('| decoding | tokens | first token (ms) | decode tokens/s | end-to-end tokens/s |');
  console.log('| --- | --- | --- | --- | --- |');
  const rows: Array<[string, Sample[]]> = [
    ['free', free],
    ['json_schema (strict) grammar', constrained],
  ];
  for (const [name, samples] of rows) console.log(`| ${name} | ${samples[0]?.tokens} | ${firstToken(samples).toFixed(2)} | ${decodeRate(samples).toFixed(0)} | ${endToEndRate(samples).toFixed(0)} |`);
  console.log(`decode throughput ratio grammar/free: ${(decodeRate(constrained) / decodeRate(free)).toFixed(3)}`);
  console.log(`end-to-end throughput ratio grammar/free: ${(endToEndRate(constrained) / endToEndRate(free)).toFixed(3)}`);
  reportFigure({ name: 'decode tokens/s, json_schema grammar / free', value: decodeRate(constrained) / decodeRate(free), unit: 'ratio' });
}

await main();
