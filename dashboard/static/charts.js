// Charts that read on the dark theme, on a desk, a wall (1920x1080) and a phone: a
// palette chosen for the dark panel (Chart.js's own palette plugin turns itself off once
// the default colours change, which left every dataset grey), category labels through
// the translation tables, one y-axis per unit (telemetry of several units is drawn as
// one small chart per unit), fonts that follow the page's root size.

import { t } from "./i18n.js";

// Bright on #18212d, told apart by hue and lightness (blue, amber, green, pink, violet,
// cyan, orange, lime): no two neighbours differ only in red and green.
export const PALETTE = ["#4cc9f0", "#ffb703", "#52d273", "#ff5d8f", "#b388ff", "#2ec4b6", "#fb8500", "#d4e157"];
const TEXT = "#c9d4e0";
const GRID = "rgba(139, 152, 168, 0.22)";

// The unit of each telemetry key (domain payloads): charts never mix two on one axis.
const UNITS = {
  uptime_s: "h",
  temperature_c: "°C",
  door_open: "open",
  occupancy: "vehicles",
  capacity: "vehicles",
  power_w: "W",
  voltage_v: "V",
  current_a: "A",
  lux: "lx",
  burning_hours: "h_burning",
  dim_level: "%",
  on: "open",
  heart_rate: "bpm",
  spo2: "%",
  battery: "%",
};
const SCALE = { uptime_s: 1 / 3600 }; // seconds of uptime read as hours

export function unitOf(key) {
  return UNITS[key] ?? key;
}

export function colour(i, alpha = 1) {
  const hex = PALETTE[i % PALETTE.length];
  if (alpha === 1) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

function fontSize() {
  const root = parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;
  return Math.round(root * 0.8);
}

const charts = {};

export function chart(name, canvas, config) {
  charts[name]?.destroy();
  delete charts[name];
  if (typeof Chart === "undefined" || !canvas) return null;
  Chart.defaults.color = TEXT;
  Chart.defaults.borderColor = GRID;
  Chart.defaults.font.size = fontSize();
  const scales = config.options?.scales ?? {};
  for (const axis of Object.values(scales)) {
    axis.grid = { color: GRID, ...axis.grid };
    axis.ticks = { color: TEXT, ...axis.ticks };
  }
  config.options = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    ...config.options,
    plugins: { legend: { labels: { color: TEXT, boxWidth: fontSize() } }, ...config.options?.plugins },
  };
  charts[name] = new Chart(canvas, config);
  return charts[name];
}

export function resizeCharts() {
  for (const c of Object.values(charts)) c.resize();
}

// A sideways chart grows with its rows (a label's line each, `bars` thin bars in it), so
// that no label is written over the next; never below the figure's own height.
function fitRows(canvas, rows, bars) {
  const figure = canvas?.parentElement;
  if (!figure) return;
  figure.style.height = "";
  const least = parseFloat(getComputedStyle(figure).height) || 0;
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 15;
  const needed = rows * rem * Math.max(1.3, 0.5 * bars + 0.6) + 5 * rem;
  if (needed > least) figure.style.height = `${needed}px`;
}

// Bars of one dataset, one colour per bar (a category, a grid), labels as words.
// `sideways` for long labels (categories): one label per row instead of slanted ones.
export function barsByKey(name, canvas, labels, values, title, sideways = false) {
  if (sideways) fitRows(canvas, labels.length, 1);
  return chart(name, canvas, {
    type: "bar",
    data: {
      labels,
      datasets: [
        {
          label: title,
          data: values,
          backgroundColor: labels.map((_, i) => colour(i, 0.85)),
          borderColor: labels.map((_, i) => colour(i)),
          borderWidth: 1,
        },
      ],
    },
    options: {
      plugins: { legend: { display: false } },
      indexAxis: sideways ? "y" : "x",
      scales: sideways
        ? { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } }
        : { x: { ticks: { autoSkip: false, maxRotation: 50 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

// Rates in percent, two datasets in two colours.
export function rateBars(name, canvas, labels, series) {
  fitRows(canvas, labels.length, 2 * series.length);
  return chart(name, canvas, {
    type: "bar",
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.data,
        backgroundColor: colour(i, 0.85),
        borderColor: colour(i),
        borderWidth: 1,
      })),
    },
    // Categories are long words: bars run sideways, one readable label per row.
    options: {
      indexAxis: "y",
      scales: {
        x: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } },
        y: { ticks: { autoSkip: false } },
      },
    },
  });
}

// A device's telemetry: one small chart per unit, each with its own y-axis titled by the
// unit, so uptime never flattens occupancy.
export function telemetryCharts(container, series, hourLabel) {
  for (const name of Object.keys(charts)) {
    if (name.startsWith("telemetry-")) chart(name, null, {}); // the last device's
  }
  const groups = new Map();
  for (const s of series) groups.set(unitOf(s.key), [...(groups.get(unitOf(s.key)) ?? []), s]);
  const boxes = [];
  let n = 0;
  for (const [unit, members] of groups) {
    const canvas = document.createElement("canvas");
    canvas.className = "chart-telemetry";
    canvas.dataset.unit = unit;
    const box = document.createElement("div");
    box.className = "chart-box";
    box.append(canvas);
    container.append(box);
    boxes.push(box);
    const labels = members[0].points.map((p) => hourLabel(p.ts));
    chart(`telemetry-${n}`, canvas, {
      type: "line",
      data: {
        labels,
        datasets: members.map((s) => {
          const k = SCALE[s.key] ?? 1;
          const i = n++;
          return {
            label: t(`key.${s.key}`) === `key.${s.key}` ? s.key : t(`key.${s.key}`),
            data: s.points.map((p) => (p.avg == null ? null : p.avg * k)),
            borderColor: colour(i),
            backgroundColor: colour(i, 0.25),
            pointRadius: 2,
            tension: 0.2,
          };
        }),
      },
      options: { scales: { y: { title: { display: true, text: t(`unit.${unit}`) === `unit.${unit}` ? unit : t(`unit.${unit}`) } } } },
    });
  }
  return boxes;
}
