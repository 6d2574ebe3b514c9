// Test-only: an inference engine that deliberately corrupts some of its outputs, for tests of verification
// against a lying provider. It runs the real engine and then changes the text (kept consistent with what it
// streams and signs) while keeping the honest tokens and fingerprints: a forgery only a comparison can catch.
import type { GenerationRequest, GenerationResult, InferenceEngine } from '../../inference/index.js';

export class LyingEngine implements InferenceEngine {
  readonly id: string;
  lies = 0;

  /** `shouldLie` is asked once per job. */
  constructor(
    private readonly honest: InferenceEngine,
    private readonly shouldLie: () => boolean,
  ) {
    this.id = honest.id;
  }

  async generate(request: GenerationRequest): Promise<GenerationResult> {
    if (!this.shouldLie()) return this.honest.generate(request);
    this.lies++;
    const result = await this.honest.generate({ ...request, ...(request.onText ? { onText: (piece) => request.onText!({ ...piece, text: corrupt(piece.text) }) } : {}) });
    return { ...result, text: corrupt(result.text) };
  }

  preload(modelPath: string): Promise<void> {
    return this.honest.preload(modelPath);
  }

  close(): Promise<void> {
    return this.honest.close();
  }
}

function corrupt(text: string): string {
  return text.toUpperCase();
}
