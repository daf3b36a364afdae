// Line charts of metric histories, drawn by Chart.js (packaged by scripts/install from npm).
// Each chart is a figure with a caption; the canvas is labelled, and the values stay readable
// as a table for anyone (and any test) that cannot see the canvas.

import { formatNumber, h, table } from "./common.js";

const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0550ae", "#57606a"];

/** Points of one history on the chosen x axis: "step" or "time" (seconds since the first value). */
function points(history, axis) {
  const start = history.length ? Math.min(...history.map((m) => m.timestamp)) : 0;
  return history.map((m) => ({ x: axis === "time" ? (m.timestamp - start) / 1000 : m.step, y: m.value }));
}

/**
 * A figure for one metric: ``series`` is a list of ``{label, history}`` (one per run).
 * Returns the figure; the chart is drawn once it is in the page.
 */
export function metricChart(metric, series, axis = "step") {
  const canvas = h("canvas", { role: "img", "aria-label": `Chart of ${metric} over ${axis === "time" ? "time" : "steps"}` });
  const figure = h("figure", { class: "chart", "data-metric": metric }, h("figcaption", {}, metric), h("div", { class: "canvas-box" }, canvas));
  const values = table(
    null,
    ["run", axis === "time" ? "seconds" : "step", metric],
    series.flatMap((s) => points(s.history, axis).map((p) => [s.label, formatNumber(p.x), formatNumber(p.y)])),
  );
  figure.append(h("details", { class: "chart-values" }, h("summary", {}, `Values of ${metric}`), values));
  if (!window.Chart) {
    figure.append(h("p", { class: "empty" }, "Charts are unavailable: the chart library is not installed (run scripts/install)."));
    return figure;
  }
  requestAnimationFrame(() => {
    // eslint-disable-next-line no-new
    new window.Chart(canvas, {
      type: "line",
      data: {
        datasets: series.map((s, i) => ({
          label: s.label,
          data: points(s.history, axis),
          borderColor: COLORS[i % COLORS.length],
          backgroundColor: COLORS[i % COLORS.length],
          pointRadius: s.history.length > 200 ? 0 : 2,
          tension: 0,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: { type: "linear", title: { display: true, text: axis === "time" ? "seconds since the first value" : "step" } },
          y: { title: { display: true, text: metric } },
        },
        plugins: { legend: { display: series.length > 1 } },
      },
    });
  });
  return figure;
}

/** An x-axis picker: a labelled select calling ``onChange("step" | "time")``. */
export function axisPicker(value, onChange) {
  const select = h(
    "select",
    { id: "x-axis", onchange: (event) => onChange(event.target.value) },
    h("option", { value: "step", selected: value === "step" }, "step"),
    h("option", { value: "time", selected: value === "time" }, "time"),
  );
  return h("p", { class: "axis" }, h("label", { for: "x-axis" }, "X axis "), select);
}
