/**
 * Metrics of the cloud calls, on the Temporal Runtime's meter, so they are served beside the
 * SDK's on the same Prometheus endpoint (IMGDEL_METRICS_PORT): how many calls each action made
 * and how each ended (`code`: ok, the cloud's error code, Throttling.* included, or `abandoned`), and how long
 * each took on the wire (the rate limiter's wait not counted).
 */
import type { MetricMeter } from '@temporalio/common';
import type { CallEvent } from '../cloud/openapi-client.js';

export const CLOUD_CALLS_METRIC = 'imgdel_cloud_calls';
export const CLOUD_CALL_LATENCY_METRIC = 'imgdel_cloud_call_latency';

export function cloudCallMetrics(meter: MetricMeter): (event: CallEvent) => void {
  const calls = meter.createCounter(CLOUD_CALLS_METRIC, undefined, 'Cloud API calls, by action and outcome code');
  const latency = meter.createHistogram(CLOUD_CALL_LATENCY_METRIC, 'float', 'ms', 'Cloud API call latency on the wire, by action and outcome code');
  return (event) => {
    const tags = { action: event.action, code: event.code ?? 'ok' };
    calls.add(1, tags);
    latency.record(event.durationMs, tags);
  };
}
