// uPlot charts sized to their container: time series, stacked areas and bars over time.

const { uPlot } = globalThis;

export const COLOURS = ["#3867d6", "#20bf6b", "#eb3b5a", "#f7b731", "#8854d0", "#0fb9b1"];

function fade(colour, alpha) {
  const value = Number.parseInt(colour.slice(1), 16);
  return `rgba(${value >> 16}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

function sizeOf(container) {
  return { width: Math.max(container.clientWidth, 200), height: 220 };
}

/** Counts how many x positions have at least one value, for whoever checks a chart drew. */
function markPoints(container, data) {
  const drawn = data[0].filter((_, i) => data.slice(1).some((series) => series[i] != null));
  container.dataset.points = String(drawn.length);
}

/**
 * A chart in `container` of series `[{label, colour, dash, format}]` over Unix-second x values,
 * shown in UTC like the reports. `stacked` piles each series on the ones before it (legend
 * values stay each series' own); `bars` draws bars instead of lines, each `step` seconds wide;
 * `axis` formats the y ticks. Returns `update(xs, ys)` with one array per series.
 */
export function timeChart(container, series, { stacked = false, bars = false, axis = format } = {}) {
  let own = series.map(() => []);
  let step = 0;
  const options = {
    ...sizeOf(container),
    tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    scales: {
      // Without data, the last minute instead of uPlot's years; with data, what `update` set.
      x: {
        time: true,
        range: (_u, low, high) =>
          (low == null ? [Date.now() / 1000 - 60, Date.now() / 1000] : [low, high]),
      },
      y: { range: (_u, _low, high) => [0, high > 0 ? high * 1.1 : 1] },
    },
    axes: [
      { values: (_u, ticks) => ticks.map(clock(ticks)) },
      { size: 60, values: (_u, ticks) => ticks.map(axis) },
    ],
    series: [
      {},
      ...series.map((one, i) => ({
        label: one.label,
        stroke: one.colour,
        width: 1.5,
        dash: one.dash,
        fill: stacked || bars ? fade(one.colour, stacked ? 0.45 : 0.7) : undefined,
        paths: bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
        points: { show: false },
        spanGaps: false,
        value: (_u, _value, _s, index) =>
          index == null || own[i][index] == null ? "–" : (one.format ?? format)(own[i][index]),
      })),
    ],
    // Each stacked series fills down to the one below it, not to zero.
    bands: stacked ? series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] })) : [],
  };
  const plot = new uPlot(options, [[], ...series.map(() => [])], container);
  new ResizeObserver(() => plot.setSize(sizeOf(container))).observe(container);

  return (xs, ys, barSeconds = 0) => {
    own = ys;
    step = barSeconds;
    let shown = ys;
    if (stacked) {
      const running = xs.map(() => null);
      shown = ys.map((values) => values.map((value, i) => {
        if (value == null) return running[i];
        running[i] = (running[i] ?? 0) + value;
        return running[i];
      }));
    }
    plot.setData([xs, ...shown]);
    if (xs.length) {
      // Half a bucket each side keeps the first and last bars whole; uPlot alone would
      // stretch a single point over a day of its time scale.
      const low = xs[0] - step / 2;
      const high = xs[xs.length - 1] + step / 2;
      plot.setScale("x", { min: low, max: high > low ? high : low + 60 });
    }
    markPoints(container, [xs, ...ys]);
  };
}

/** UTC tick labels as fine as the ticks' spacing needs: a date, a minute, or a second. */
function clock(ticks) {
  const spacing = ticks.length > 1 ? ticks[1] - ticks[0] : 60;
  const [start, end] = spacing >= 86400 ? [0, 10] : spacing >= 60 ? [11, 16] : [11, 19];
  return (seconds) => new Date(seconds * 1000).toISOString().slice(start, end);
}

function format(value) {
  if (value == null) return "–";
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(value < 1 ? 3 : 1);
}
