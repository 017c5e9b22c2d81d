import { describe, expect, it } from 'vitest';
import { nodeErrorCode } from '../../src/node-error.js';

describe('nodeErrorCode', () => {
  it('reads the code of a Node system error', () => {
    const error = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    expect(nodeErrorCode(error)).toBe('EADDRINUSE');
  });

  it('answers undefined for values that carry no string code', () => {
    expect(nodeErrorCode(new Error('plain'))).toBeUndefined();
    expect(nodeErrorCode({ code: 42 })).toBeUndefined();
    expect(nodeErrorCode('ENOENT')).toBeUndefined();
    expect(nodeErrorCode(null)).toBeUndefined();
  });
});
