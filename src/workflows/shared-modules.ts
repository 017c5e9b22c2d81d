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
import { WORKFLOW_STACK_TRACE_FRAMES } from './stack-traces.js';

// zod works out on its first object schema whether it may compile parsers, and keeps the answer
// in a module-level box that cannot change once the shared modules are frozen: decide it now.
z.object({});

// Workflow stack traces keep WORKFLOW_STACK_TRACE_FRAMES frames (see stack-traces.ts): set here,
// because this module runs before the SDK freezes the workflow context's globals.
Error.stackTraceLimit = WORKFLOW_STACK_TRACE_FRAMES;
