#!/usr/bin/env node
// Finds the demo model, or downloads it with a progress bar and checks its sha256. Prints the model path as
// its last line. Plain JavaScript so it runs before the TypeScript build, on any Node >= 18.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const MODEL = {
  file: 'stories260K.gguf',
  sha256: '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d',
  url: 'https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf',
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(process.env.INFERNET_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'infernet'), 'models');

async function sha256Of(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

function progress(received, total) {
  const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
  if (process.stderr.isTTY && total) {
    const width = 30;
    const done = Math.round((received / total) * width);
    process.stderr.write(`\r  [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${mib(received)}/${mib(total)} MiB`);
  } else {
    process.stderr.write(JSON.stringify({ event: 'download-progress', file: MODEL.file, received, total }) + '\n');
  }
}

async function download(target) {
  process.stderr.write(`downloading ${MODEL.url}\n`);
  const response = await fetch(MODEL.url);
  if (!response.ok || !response.body) throw new Error(`download failed: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length') ?? 0);
  const partial = `${target}.partial`;
  const out = createWriteStream(partial);
  let received = 0;
  let lastReport = 0;
  for await (const chunk of response.body) {
    received += chunk.length;
    if (!out.write(chunk)) await new Promise((done) => out.once('drain', done));
    if (Date.now() - lastReport > 200) {
      progress(received, total);
      lastReport = Date.now();
    }
  }
  await new Promise((done, fail) => out.end((error) => (error ? fail(error) : done())));
  progress(received, total);
  if (process.stderr.isTTY) process.stderr.write('\n');
  const digest = await sha256Of(partial);
  if (digest !== MODEL.sha256) {
    rmSync(partial, { force: true });
    throw new Error(`sha256 mismatch for ${MODEL.file}: got ${digest}, expected ${MODEL.sha256}`);
  }
  renameSync(partial, target);
}

async function main() {
  const candidates = [process.env.INFERNET_DEMO_MODEL, join(repoRoot, '..', 'shared', 'models', MODEL.file), join(cacheDir, MODEL.file)].filter(Boolean);
  for (const path of candidates) {
    if (existsSync(path) && (path === process.env.INFERNET_DEMO_MODEL || (await sha256Of(path)) === MODEL.sha256)) return console.log(path);
  }
  mkdirSync(cacheDir, { recursive: true });
  const target = join(cacheDir, MODEL.file);
  await download(target);
  console.log(target);
}

main().catch((error) => {
  console.error(`fetch-model: ${error.message}`);
  process.exit(1);
});
