/**
 * Loaded once per workflow thread and shared, deep-frozen, by every workflow (the bundler's
 * `preloadModules`, see src/workflow-source.ts) instead of being evaluated again for each new
 * workflow. Only pure modules belong here: stateless libraries, and our own modules whose only
 * state is a value built once from constants. zod was a quarter of the workflow thread's CPU in
 * the benchmark's throughput run (P2) before it was shared; building the input schema once per
 * workflow cost a further 1–2 ms of CPU per workflow (profiled).
 */
import { z } from 'zod';
import './input.js';

// zod works out on its first object schema whether it may compile parsers, and keeps the answer
// in a module-level box that cannot change once the shared modules are frozen: decide it now.
z.object({});

/**
 * Frames kept in a stack trace captured in workflow code. The SDK captures a source-mapped stack
 * trace of every promise workflow code creates (for the `__stack_trace` query, the UI's Stack
 * Trace tab), and its cost grows with each frame: with V8's default of 10 it was a third of the
 * workflow thread's CPU in the benchmark's throughput run (P2), and 4 frames took a quarter of
 * the deletions' workflow-thread CPU off (bench/README.md). The query still names each saga step a
 * deletion waits in, since it joins the stacks of the promises that wait on each other, each
 * with its 3 innermost frames (the 4th is the SDK's hook; test/e2e/stack-trace.test.ts). A
 * failure raised in workflow code keeps its 4 innermost frames.
 * Set here because this module runs before the SDK freezes the workflow context's globals.
 */
export const WORKFLOW_STACK_TRACE_FRAMES = 4;
Error.stackTraceLimit = WORKFLOW_STACK_TRACE_FRAMES;
