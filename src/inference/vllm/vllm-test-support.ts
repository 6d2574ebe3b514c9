// Test support: a VllmEngine whose `vllm serve` is the stand-in (vllm-stand-in.ts) run as a real child process, and
// reads of what the stand-in received. Tests that use it say in their names that a stand-in answers, not vLLM.
import { fileURLToPath } from 'node:url';
import { VllmEngine, type VllmEngineOptions } from './vllm-engine.js';
import { vllmCommandLauncher, type VllmCommandLauncherOptions } from './vllm-server.js';

/** `vllm serve` for tests: node running the stand-in, which reads the same arguments. */
export const STAND_IN_COMMAND: readonly string[] = [process.execPath, fileURLToPath(new URL('./vllm-stand-in.js', import.meta.url))];

export interface StandInEngineOptions extends Partial<VllmEngineOptions> {
  /** The stand-in's environment: VLLM_STAND_IN_TOKEN_DELAY_MS, VLLM_STAND_IN_STARTUP_MS, VLLM_STAND_IN_EXIT_AT_START. */
  env?: Record<string, string>;
  launcher?: VllmCommandLauncherOptions;
}

export function standInEngine(options: StandInEngineOptions = {}): VllmEngine {
  const { env, launcher, ...engine } = options;
  return new VllmEngine({
    restartDelayMs: 50,
    readyTimeoutMs: 20_000,
    ...engine,
    launch: vllmCommandLauncher({ stopGraceMs: 2_000, ...launcher, command: STAND_IN_COMMAND, env: { ...process.env, ...env } }),
  });
}

export interface StandInRecord {
  completions: Record<string, unknown>[];
  cancelled: number;
}

export async function standInRecord(baseUrl: string): Promise<StandInRecord> {
  return (await (await fetch(`${baseUrl}/stand-in/requests`)).json()) as StandInRecord;
}

export async function failNextCompletion(baseUrl: string, mode: 'status' | 'mid-stream'): Promise<void> {
  const response = await fetch(`${baseUrl}/stand-in/fail`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode }) });
  await response.body?.cancel();
}

/** Polls until `check` holds, at most `attempts` times 50 ms apart. */
export async function eventually(check: () => Promise<boolean>, attempts = 100): Promise<boolean> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
