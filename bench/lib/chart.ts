/**
 * The throughput chart (P2): deletions completed over time, imgdel and the no-op
 * baseline on one set of axes, rendered server-side with Chart.js on @napi-rs/canvas.
 */
import { writeFile } from 'node:fs/promises';
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type ChartItem } from 'chart.js';

Chart.register(...registerables);

export interface CompletionSeries {
  label: string;
  /** Seconds after the batch was started at which each run completed, ascending. */
  completedAtSeconds: number[];
  color: string;
}

/** Cumulative count: one step per completion, starting at (0, 0). */
export function cumulativePoints(completedAtSeconds: readonly number[]): Array<{ x: number; y: number }> {
  const sorted = [...completedAtSeconds].sort((a, b) => a - b);
  return [{ x: 0, y: 0 }, ...sorted.map((seconds, index) => ({ x: Number(seconds.toFixed(3)), y: index + 1 }))];
}

export async function renderCompletionChart(path: string, title: string, series: readonly CompletionSeries[]): Promise<void> {
  const width = 1000;
  const height = 560;
  const canvas = createCanvas(width, height);
  const context = canvas.getContext('2d');
  // A white background: PNG viewers with dark themes would otherwise show black axes on black.
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, width, height);
  const configuration: ChartConfiguration<'line', Array<{ x: number; y: number }>> = {
    type: 'line',
    data: {
      datasets: series.map((entry) => ({
        label: `${entry.label} (${entry.completedAtSeconds.length} in ${Math.max(0, ...entry.completedAtSeconds).toFixed(1)} s)`,
        data: cumulativePoints(entry.completedAtSeconds),
        borderColor: entry.color,
        backgroundColor: entry.color,
        borderWidth: 2,
        pointRadius: 0,
        stepped: true,
      })),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 1,
      plugins: {
        title: { display: true, text: title, font: { size: 18 } },
        legend: { position: 'bottom', labels: { font: { size: 14 } } },
      },
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'seconds since the batch was started', font: { size: 14 } } },
        y: { type: 'linear', min: 0, title: { display: true, text: 'deletions completed', font: { size: 14 } } },
      },
    },
  };
  // Chart.js accepts a 2D context; @napi-rs/canvas implements the parts it draws with.
  const chart = new Chart(context as unknown as ChartItem, configuration);
  await writeFile(path, await canvas.encode('png'));
  chart.destroy();
}
