// charts.js — Chart.js (from npm) with the Russian locale: numbers with a comma, no animation (first
// paint), every chart with its data as a table for screen readers and for copying.
import {
  Chart, BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, RadarController,
  RadialLinearScale, PointElement, LineElement, Filler,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './ui.js';
import { fmtNum } from './format.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, RadarController,
  RadialLinearScale, PointElement, LineElement, Filler);
Chart.defaults.locale = 'ru-RU';
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, "DejaVu Sans", sans-serif';

export const COLORS = ['#1d4f91', '#e07a1f', '#2e8540', '#a23b72', '#6c757d'];

// type: 'bar' | 'radar'; labels: [..]; datasets: [{label, data, color}]; unit: '%' etc.
export function ChartBox({ title, type = 'bar', labels, datasets, unit = '', stacked = false, horizontal = false, max }) {
  const canvas = useRef(null);
  useEffect(() => {
    if (!canvas.current) return undefined;
    const chart = new Chart(canvas.current, {
      type,
      data: {
        labels,
        datasets: datasets.map((d, i) => ({
          label: d.label, data: d.data,
          backgroundColor: type === 'radar' ? `${d.color || COLORS[i]}33` : d.color || COLORS[i % COLORS.length],
          borderColor: d.color || COLORS[i % COLORS.length], borderWidth: type === 'radar' ? 2 : 0, fill: type === 'radar',
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false, indexAxis: horizontal ? 'y' : 'x',
        plugins: {
          legend: { display: datasets.length > 1 },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmtNum(c.raw)}${unit ? ` ${unit}` : ''}` } },
        },
        scales: type === 'radar'
          ? { r: { min: 0, max: max ?? 100, ticks: { callback: (v) => fmtNum(v) } } }
          : {
            x: { stacked, beginAtZero: true, max: horizontal ? max : undefined,
              ticks: horizontal ? { callback: (v) => fmtNum(v) } : { autoSkip: false, maxRotation: 60 } },
            y: { stacked, beginAtZero: true, max: horizontal ? undefined : max,
              ticks: horizontal ? { autoSkip: false } : { callback: (v) => fmtNum(v) } },
          },
      },
    });
    return () => chart.destroy();
  }, [JSON.stringify([type, labels, datasets, stacked, horizontal, max])]);
  const height = horizontal ? Math.max(160, labels.length * 26 + 60) : 300;
  return html`<figure class="chart">
    <figcaption>${title}</figcaption>
    <div class="chart-canvas" style=${{ height: `${height}px` }}>
      <canvas ref=${canvas} role="img" aria-label=${`${title}: график, данные — в таблице ниже`}></canvas>
    </div>
    <details class="chart-data"><summary>Данные графика</summary>
      <table><thead><tr><th scope="col">Показатель</th>${datasets.map((d) => html`<th scope="col" class="num">${d.label}</th>`)}</tr></thead>
      <tbody>${labels.map((l, i) => html`<tr><td>${l}</td>${datasets.map((d) => html`<td class="num">${fmtNum(d.data[i])}${unit ? ` ${unit}` : ''}</td>`)}</tr>`)}</tbody></table>
    </details>
  </figure>`;
}
