// Regulator dashboard: draw each chart from the page's JSON block with the vendored Chart.js
// (a classic script loaded before this module sets the global `Chart`). No inline code: the
// figures come from <script type="application/json" id="chart-data">, the same numbers as the
// tables beside the charts.

const COLOURS = ["#b91c1c", "#0369a1", "#15803d", "#a16207", "#7c3aed", "#be185d"];

// Long category names on a horizontal chart break into lines (Chart.js takes an array per label)
// instead of being cut off on a phone: the name in pieces, then its code "（…）" on its own line.
function wrap(label, size) {
  const cut = label.indexOf("（");
  const name = [...(cut > 0 ? label.slice(0, cut) : label)];
  const lines = [];
  for (let i = 0; i < name.length; i += size) lines.push(name.slice(i, i + size).join(""));
  if (cut > 0) lines.push(label.slice(cut));
  return lines.length === 1 ? lines[0] : lines;
}

function draw(Chart, spec, reduceMotion) {
  const canvas = document.getElementById(spec.id);
  if (!canvas) return;
  const money = (v) => Number(v).toFixed(2);
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: spec.horizontal ? spec.labels.map((l) => wrap(l, 10)) : spec.labels,
      datasets: spec.datasets.map((d, i) => ({
        label: d.label,
        data: d.data,
        backgroundColor: COLOURS[i % COLOURS.length],
        borderWidth: 0,
        maxBarThickness: 36,
      })),
    },
    options: {
      indexAxis: spec.horizontal ? "y" : "x",
      responsive: true,
      maintainAspectRatio: false,
      animation: reduceMotion ? false : { duration: 400 },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: spec.money
          ? { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${money(ctx.raw)}` } }
          : {},
      },
      scales: {
        [spec.horizontal ? "x" : "y"]: {
          beginAtZero: true,
          ticks: spec.money ? { callback: (v) => money(v) } : { precision: 0 },
        },
        [spec.horizontal ? "y" : "x"]: { ticks: { autoSkip: false } },
      },
    },
  });
  canvas.dataset.drawn = "true";
  return chart;
}

function start() {
  const block = document.getElementById("chart-data");
  if (!block) return;
  const Chart = window.Chart;
  if (!Chart) {
    // The vendored library did not load: the tables still carry every figure.
    document.documentElement.dataset.charts = "missing";
    return;
  }
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const { charts } = JSON.parse(block.textContent);
  for (const spec of charts) draw(Chart, spec, reduceMotion);
  document.documentElement.dataset.charts = "ready";
}

start();
