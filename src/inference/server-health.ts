// The health check that llama.cpp's server and vLLM's OpenAI server both answer: GET /health, 200 once the model is
// loaded (503 while it loads). A supervisor polls it while a server starts and before sending it work.

/** How long one health check may take: a server that cannot answer within it is not ready for a job either. */
const HEALTH_CHECK_TIMEOUT_MS = 2_000;

/** Whether the inference server at `baseUrl` answers GET /health with a 2xx status. */
export async function inferenceServerHealthy(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(HEALTH_CHECK_TIMEOUT_MS) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
