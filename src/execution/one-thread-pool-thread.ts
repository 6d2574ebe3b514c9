// Imported first by the processes that run node-llama-cpp for the provider (engine-worker.ts, container-worker.ts),
// before anything uses libuv's thread pool, which reads UV_THREADPOOL_SIZE once, at its first use.
//
// node-llama-cpp runs each llama.cpp decode on whichever pool thread is free. Spread over the pool's four threads,
// the decodes of one job on 2 threads ran at 62-88 tokens/s; on one pool thread the same decodes ran at 195-226
// (100M Q8_0 model, 2 cores, node-llama-cpp 3.21.1's prebuilt CPU build, which links libgomp): the same tokens cost
// 6.0 s of CPU against 3.3 s, 31% of it spinning in ggml_barrier, with 481 CPU migrations against 63 (perf stat,
// perf record, 2026-12-05). With 1 thread nothing changes. These processes do nothing else on the pool (the model
// loads once, jobs arrive on stdin), so one thread costs them nothing; the daemon is not such a process and keeps
// libuv's default.
process.env.UV_THREADPOOL_SIZE = '1';

export {};
