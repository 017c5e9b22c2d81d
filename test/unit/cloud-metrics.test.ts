/**
 * The cloud-call metrics' `code` label: every value is a time series kept for the life of the
 * worker, and the codes come from whatever the endpoint answers, so they are bounded.
 */
import { noopMetricMeter, type MetricCounter, type MetricMeter, type MetricTags } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { MAX_LABELLED_CODES, OTHER_CODE, cloudCallMetrics } from '../../src/observability/cloud-metrics.js';

/** A meter whose counter keeps the tags of every add (the histogram is the no-op one). */
function recordingMeter(): { meter: MetricMeter; codes: string[] } {
  const codes: string[] = [];
  const counter = noopMetricMeter.createCounter('calls');
  const recording: MetricCounter = Object.assign(Object.create(counter) as MetricCounter, {
    add(_value: number, tags: MetricTags = {}) {
      codes.push(String(tags['code']));
    },
  });
  const meter: MetricMeter = {
    createCounter: () => recording,
    createHistogram: (name, valueType, unit, description) => noopMetricMeter.createHistogram(name, valueType, unit, description),
    createGauge: (name, valueType, unit, description) => noopMetricMeter.createGauge(name, valueType, unit, description),
    withTags: () => meter,
  };
  return { meter, codes };
}

describe('cloud call metrics', () => {
  it('labels success ok and an error by its code', () => {
    const { meter, codes } = recordingMeter();
    const record = cloudCallMetrics(meter);
    record({ action: 'DeleteImage', durationMs: 3 });
    record({ action: 'DeleteImage', durationMs: 3, code: 'Throttling.User' });
    expect(codes).toEqual(['ok', 'Throttling.User']);
  });

  it('labels a code that is no code, and new codes past the bound, as other, while known ones keep their label', () => {
    const { meter, codes } = recordingMeter();
    const record = cloudCallMetrics(meter);
    record({ action: 'ListImage', durationMs: 1, code: '<html>Bad gateway</html>' });
    record({ action: 'ListImage', durationMs: 1, code: 'x'.repeat(200) });
    for (let index = 0; index < MAX_LABELLED_CODES; index++) record({ action: 'ListImage', durationMs: 1, code: `Odd.Code${index}` });
    record({ action: 'ListImage', durationMs: 1, code: 'One.More' });
    record({ action: 'ListImage', durationMs: 1, code: 'Odd.Code0' });
    expect(codes.slice(0, 2)).toEqual([OTHER_CODE, OTHER_CODE]);
    expect(new Set(codes.slice(2, 2 + MAX_LABELLED_CODES)).size).toBe(MAX_LABELLED_CODES);
    expect(codes.slice(-2)).toEqual([OTHER_CODE, 'Odd.Code0']);
  });
});
