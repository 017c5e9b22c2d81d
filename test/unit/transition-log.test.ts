import { describe, expect, it } from 'vitest';
import { transitionLogLevel } from '../../src/workflows/transition-log.js';

describe('transitionLogLevel', () => {
  it('logs nothing for the steps of a clean deletion, nor for a phase that did not change', () => {
    expect(transitionLogLevel('validating', { status: 'running', phase: 'deleting-templates' })).toBeUndefined();
    expect(transitionLogLevel('deleting-templates', { status: 'running', phase: 'deleting-regions' })).toBeUndefined();
    expect(transitionLogLevel('awaiting-retry', { status: 'awaiting-retry', phase: 'awaiting-retry' })).toBeUndefined();
  });

  it('logs the end at INFO when nothing is left to do, at WARN otherwise', () => {
    for (const status of ['deleted', 'planned', 'cancelled'] as const) {
      expect(transitionLogLevel('deleting-regions', { status, phase: 'finished' })).toBe('info');
    }
    for (const status of ['rejected', 'compensated', 'abandoned', 'failed'] as const) {
      expect(transitionLogLevel('deleting-regions', { status, phase: 'finished' })).toBe('warn');
    }
  });

  it('warns when a deletion compensates or parks, and says at INFO when it waits or moves on from one of those', () => {
    expect(transitionLogLevel('deleting-templates', { status: 'running', phase: 'compensating' })).toBe('warn');
    expect(transitionLogLevel('deleting-regions', { status: 'awaiting-retry', phase: 'awaiting-retry' })).toBe('warn');
    expect(transitionLogLevel('validating', { status: 'running', phase: 'waiting-for-creation' })).toBe('info');
    expect(transitionLogLevel('waiting-for-creation', { status: 'running', phase: 'validating' })).toBe('info');
    expect(transitionLogLevel('awaiting-retry', { status: 'running', phase: 'deleting-regions' })).toBe('info');
  });
});
