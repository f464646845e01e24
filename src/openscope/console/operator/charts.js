// Stacked bar charts in inline SVG: no library. Colours come from CSS classes (`s-<series>`),
// so the theme and the content security policy both hold.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 52, right: 8, top: 10, bottom: 28 };

function svgElement(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** The smallest of 1, 2, 2.5, 5 x 10^n at or above `value`: a round top for the axis. */
export function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

export function compact(value) {
  if (value >= 1e9) return `${+(value / 1e9).toFixed(1)}G`;
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(Math.round(value * 100) / 100);
}

/**
 * Renders into `container` a bar per label, each stacked from `series`
 * ([{key, name, values: number[], tone?}], the first at the bottom; a series is coloured
 * by the class `s-<tone>`, its key when it has no tone); `title` names the chart for screen
 * readers, who also get the totals as text. Returns the totals per series key.
 */
export function stackedBars(container, { title, labels, series }) {
  const totals = Object.fromEntries(series.map((s) => [s.key, s.values.reduce((a, b) => a + b, 0)]));
  const stacks = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const top = niceCeiling(Math.max(0, ...stacks));
  const plotWidth = WIDTH - PAD.left - PAD.right;
  const plotHeight = HEIGHT - PAD.top - PAD.bottom;
  const y = (value) => PAD.top + plotHeight - (value / top) * plotHeight;

  const summary = series.map((s) => `${s.name} ${totals[s.key]}`).join(", ");
  const svg = svgElement("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `${title}: ${labels.length ? summary : "no data"}`,
  });
  svg.append(svgElement("title", {}, `${title}: ${summary}`));

  for (const fraction of [0, 0.25, 0.5, 0.75, 1]) {
    const at = y(top * fraction);
    svg.append(svgElement("line", { class: "grid-line", x1: PAD.left, x2: WIDTH - PAD.right, y1: at, y2: at }));
    svg.append(svgElement("text", { x: PAD.left - 6, y: at + 4, "text-anchor": "end" }, compact(top * fraction)));
  }

  const slot = labels.length ? plotWidth / labels.length : plotWidth;
  const barWidth = Math.max(1, Math.min(40, slot * 0.7));
  const every = Math.max(1, Math.ceil(labels.length / 8)); // at most ~8 x labels
  labels.forEach((label, i) => {
    const x = PAD.left + slot * i + (slot - barWidth) / 2;
    let base = 0;
    for (const s of series) {
      const value = s.values[i] || 0;
      if (value > 0) {
        const rect = svgElement("rect", {
          class: `s-${s.tone || s.key}`,
          x,
          width: barWidth,
          y: y(base + value),
          height: Math.max(0.5, y(base) - y(base + value)),
        });
        rect.append(svgElement("title", {}, `${label}: ${s.name} ${value}`));
        svg.append(rect);
      }
      base += value;
    }
    if (i % every === 0) {
      svg.append(svgElement("text", { x: x + barWidth / 2, y: HEIGHT - 10, "text-anchor": "middle" }, label));
    }
  });
  if (!labels.length) {
    svg.append(svgElement("text", { x: WIDTH / 2, y: HEIGHT / 2, "text-anchor": "middle" }, "No usage in this period"));
  }

  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("li");
    item.className = `s-${s.tone || s.key}`;
    const text = document.createElement("span");
    text.textContent = `${s.name}: ${totals[s.key]}`;
    item.append(text);
    legend.append(item);
  }
  container.replaceChildren(svg, legend);
  return totals;
}
