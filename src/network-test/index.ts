// Network tests between nodes (`infernet net test`): latency and throughput over the authenticated transport,
// stored in the node home and turned into planner links and ranking latencies.
export { NetTestResponder, isNetTestFrame, MAX_CONCURRENT_NET_TESTS, NET_DATA_OVERHEAD_BYTES, type NetTestResponderOptions } from './net-test-responder.js';
export { measureLink, NetTestFailedError, DEFAULT_NET_TEST, type MeasureLinkOptions } from './measure-link.js';
export { summarizeLatency, percentile, throughputOf, type LatencySummary, type LinkMeasurement, type NetTestResult, type ThroughputFigure } from './net-test-result.js';
export { appendNetTestResult, readNetTestResults, netTestsFileOf, NET_TESTS_FILE } from './net-test-log.js';
export { interNodeLinksOf, latencyByPeer } from './links-from-net-tests.js';
