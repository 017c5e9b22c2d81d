/**
 * Resource figures of a child process from Linux /proc: resident memory (sampled VmRSS
 * and the kernel's own high-water mark VmHWM) and CPU time (utime + stime of every
 * thread, so the workflow threads and the native Core SDK threads are counted too).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ); 100 on every usual Linux. */
const CLOCK_TICKS_PER_SECOND = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

export function procStatsAvailable(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/status`, 'utf8');
    return true;
  } catch {
    return false;
  }
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name, field 3 (state) is index 0, so utime (14) and stime (15) are 11 and 12.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return (utime + stime) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

export interface MemoryWindow {
  /** Highest sampled VmRSS in the window, bytes. */
  peakSampledRssBytes: number;
  /** The kernel's high-water mark at the end of the window (covers the whole life of the process), bytes. */
  highWaterMarkBytes: number;
  /** CPU seconds used inside the window. */
  cpuSeconds: number;
  samples: number;
}

/** Samples a process's RSS every `intervalMs` between start() and stop(). */
export class ProcessMonitor {
  private timer: NodeJS.Timeout | undefined;
  private peakRss = 0;
  private samples = 0;
  private cpuAtStart = 0;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.peakRss = 0;
    this.samples = 0;
    this.cpuAtStart = cpuSeconds(this.pid) ?? 0;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  private sample(): void {
    const rss = statusField(this.pid, 'VmRSS');
    if (rss === undefined) return;
    this.samples += 1;
    this.peakRss = Math.max(this.peakRss, rss);
  }

  stop(): MemoryWindow {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return {
      peakSampledRssBytes: this.peakRss,
      highWaterMarkBytes: statusField(this.pid, 'VmHWM') ?? this.peakRss,
      cpuSeconds: (cpuSeconds(this.pid) ?? this.cpuAtStart) - this.cpuAtStart,
      samples: this.samples,
    };
  }
}
