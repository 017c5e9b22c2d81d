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

/**
 * Distinct error codes a worker labels its metrics with; later new ones are labelled OTHER_CODE.
 * The codes come from whatever the endpoint answers, and every label value is a time series kept
 * for the life of the process: a misbehaving endpoint or proxy must not grow them without bound.
 */
export const MAX_LABELLED_CODES = 100;
export const OTHER_CODE = 'other';
/** What a cloud error code looks like (Throttling.User, InvalidImage.NotFound, …); anything else is OTHER_CODE. */
const CODE_SHAPE = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

export function cloudCallMetrics(meter: MetricMeter): (event: CallEvent) => void {
  const calls = meter.createCounter(CLOUD_CALLS_METRIC, undefined, 'Cloud API calls, by action and outcome code');
  const latency = meter.createHistogram(CLOUD_CALL_LATENCY_METRIC, 'float', 'ms', 'Cloud API call latency on the wire, by action and outcome code');
  const labelled = new Set<string>();
  const codeLabel = (code: string | undefined): string => {
    if (code === undefined) return 'ok';
    if (labelled.has(code)) return code;
    if (!CODE_SHAPE.test(code) || labelled.size >= MAX_LABELLED_CODES) return OTHER_CODE;
    labelled.add(code);
    return code;
  };
  return (event) => {
    const tags = { action: event.action, code: codeLabel(event.code) };
    calls.add(1, tags);
    latency.record(event.durationMs, tags);
  };
}
