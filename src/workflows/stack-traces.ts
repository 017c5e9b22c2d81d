/**
 * Frames kept in a stack trace captured in workflow code (src/workflows/shared-modules.ts sets
 * it as the workflow context's Error.stackTraceLimit). The SDK captures a source-mapped stack
 * trace of every promise workflow code creates, for the `__stack_trace` query (the UI's Stack
 * Trace tab), and its cost grows with each frame: with V8's default of 10 it was a third of the
 * workflow thread's CPU in the benchmark's throughput run (P2); with 4, replaying a clean
 * 3-region deletion costs 10–13 % less CPU (`bench/replay-cpu.ts`, bench/README.md). The query
 * still names each saga step a deletion waits in, since it joins the stacks of the promises that
 * wait on each other, each with its 3 innermost frames (the 4th is the SDK's hook;
 * test/e2e/stack-trace.test.ts). A failure raised in workflow code keeps its 4 innermost frames.
 */
export const WORKFLOW_STACK_TRACE_FRAMES = 4;
