/**
 * Loaded once per workflow thread and shared, deep-frozen, by every workflow (the bundler's
 * `preloadModules`, see src/workflow-source.ts) instead of being evaluated again for each new
 * workflow. Only stateless libraries belong here. zod was a quarter of the workflow thread's
 * CPU in the benchmark's throughput run (P2) before it was shared.
 */
import { z } from 'zod';

// zod works out on its first object schema whether it may compile parsers, and keeps the answer
// in a module-level box that cannot change once the shared modules are frozen: decide it now.
z.object({});
