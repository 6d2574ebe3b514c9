// Node metrics: a Prometheus registry per node, fed by job transitions and the transport, served at /metrics.
export { NodeMetrics, METRIC_PREFIX, type PeerCountSource, type ProviderLoadSource } from './node-metrics.js';
export { JobMetricsReader } from './job-metrics-reader.js';
export { parsePrometheusText, sampleValue, sumOf, MetricsFormatError, type MetricFamily, type MetricSample, type MetricType } from './parse-prometheus-text.js';
export { serveMetrics, startMetricsServer, isMetricsRequest, METRICS_PATH, type MetricsServer } from './serve-metrics.js';
