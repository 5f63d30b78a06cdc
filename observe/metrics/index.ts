/**
 * `metrics` and `logs`: how each service does over time, read from the hosts (the switch's history in its
 * volume, nvidia-smi, the containers' logs) over the same path as `status`; nothing here changes a host.
 */
export { collectMetrics, type MetricsReport } from "./collect";
export { renderMetrics } from "./render";
