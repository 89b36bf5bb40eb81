// Load graphs: CPU, memory, disk and network I/O over the last minutes, as SVG lines drawn
// from the samples the node keeps (GET …/metrics). Each graph names its latest values.
import { element } from "./dom.js";
import { formatBytes, formatNumber, t } from "./i18n.js";

const svgNS = "http://www.w3.org/2000/svg";
const width = 320;
const height = 90;
export const chartMinutes = 15;

// The four graphs of one node or VM: call `update(series)` with GET …/metrics?minutes=15.
// A VM's memory is what its QEMU holds on the host, which can pass the memory it was given.
export function loadCharts(id, subject) {
  const memoryTotal =
    subject === "vm"
      ? (s) => t("chart.memory.given", { total: formatBytes(s.memoryTotalBytes) })
      : (s) => t("chart.memory.of", { total: formatBytes(s.memoryTotalBytes) });
  const grid = element("div", { id, class: "charts" });
  const charts = [
    chart("cpu", (s) => [s.cpuPercent], () => 100, (v) => formatNumber(v / 100, { style: "percent", maximumFractionDigits: 1 })),
    chart("memory", (s) => [s.memoryUsedBytes], (s) => Math.max(s.memoryTotalBytes, s.memoryUsedBytes), formatBytes, memoryTotal),
    chart("disk", (s) => [s.diskReadBytesPerSecond, s.diskWriteBytesPerSecond], null, rate),
    chart("network", (s) => [s.netReceiveBytesPerSecond, s.netTransmitBytesPerSecond], null, rate),
  ];
  grid.append(...charts.map((c) => c.figure));
  let shown = "";
  return {
    element: grid,
    update(series) {
      const key = JSON.stringify(series.samples.at(-1) ?? null) + series.samples.length;
      if (key === shown) return;
      shown = key;
      for (const c of charts) c.draw(series.samples);
    },
  };
}

function rate(bytes) {
  return t("chart.rate", { value: formatBytes(bytes) });
}

// One graph: `values(sample)` gives its lines (one or two), `top(sample)` its fixed scale (or
// null to scale to the largest value), `format` a value for the caption.
function chart(kind, values, top, format, total) {
  const caption = element("figcaption", {});
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("preserveAspectRatio", "none");
  const figure = element("figure", { class: "chart", "data-chart": kind }, caption, svg);
  const names = kind === "disk" ? ["chart.read", "chart.write"] : kind === "network" ? ["chart.in", "chart.out"] : [null];
  return {
    figure,
    draw(samples) {
      svg.replaceChildren();
      const usable = samples.filter((s) => values(s).every((v) => v !== null && v !== undefined));
      const latest = usable.at(-1);
      if (!latest) {
        const why = samples.length > 0 ? "chart.unmeasured" : "chart.none";
        caption.textContent = `${t(`chart.${kind}`)}: ${t(why)}`;
        svg.setAttribute("aria-label", caption.textContent);
        figure.dataset.points = "0";
        return;
      }
      const lines = values(latest).map((_, index) => usable.map((s) => values(s)[index]));
      const max = top?.(latest) ?? Math.max(1, ...lines.flat()) * 1.1;
      const end = Date.now();
      const start = end - chartMinutes * 60_000;
      lines.forEach((line, index) => {
        const points = usable.map((s, i) => {
          const x = ((new Date(s.time).getTime() - start) / (end - start)) * width;
          const y = height - (Math.min(line[i], max) / max) * (height - 4) - 2;
          return `${x.toFixed(1)},${y.toFixed(1)}`;
        });
        const path = document.createElementNS(svgNS, "polyline");
        path.setAttribute("points", points.join(" "));
        path.setAttribute("class", `line line-${index}`);
        svg.append(path);
      });
      // The caption names each line's latest value, with a swatch of the line's colour.
      const parts = values(latest).map((v, index) => {
        const text = names[index] ? `${t(names[index])} ${format(v)}` : format(v);
        return names.length > 1
          ? element("span", { class: "series" }, element("span", { class: `swatch line-${index}` }), text)
          : text;
      });
      caption.replaceChildren(`${t(`chart.${kind}`)}: `);
      parts.forEach((part, index) => caption.append(...(index > 0 ? [", "] : []), part));
      if (total) caption.append(` ${total(latest)}`);
      svg.setAttribute("aria-label", caption.textContent);
      figure.dataset.points = String(usable.length);
    },
  };
}
