/**
 * Pictures of trained models, as plain SVG strings (no dependencies), drawn by
 * the task reports and by the grader: learning curves (loss, accuracy, and
 * the learning rate and momentum per epoch, train vs valid, one colour per
 * model), a confusion matrix with
 * per-letter accuracy, and a histogram of scores (a class's totals). Each is
 * as wide as its title ({@link textWidth}).
 *
 * @module
 */
import { LETTERS } from "../data/types.ts";
import { escapeXml } from "../utils/xml.ts";
import type { EpochRecord } from "./epoch_record.ts";

/** The colours of series without their own, in order. */
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/**
 * An estimate of the width in pixels of `text` in a sans-serif font of `size`
 * pixels (bold a little wider): generous, so a picture sized by it holds its
 * text in common fonts (about 0.6 em per character).
 */
export function textWidth(text: string, size: number, bold = false): number {
  return text.length * size * (bold ? 0.64 : 0.6);
}

/** One model's curves for {@link learningCurveSvg}. */
export interface CurveSeries {
  /** Legend label. */
  label: string;
  /** The model's per-epoch history. */
  history: EpochRecord[];
  /** Its colour (a CSS colour); default: the next of a fixed palette. */
  colour?: string;
}

/** One line of a panel: its name (the polyline's class), a value per epoch, its dash, its axis. */
interface Line {
  name: string;
  get: (r: EpochRecord) => number | undefined;
  dash: string;
  /** The right-hand axis (default: the left one). */
  right?: boolean;
}

interface Axis {
  range: [number, number];
  format: (v: number) => string;
}

interface Panel {
  title: string;
  x: number;
  y: number;
  w: number;
  h: number;
  lines: Line[];
  /** The left axis; its range from the data unless given. */
  left?: Partial<Axis>;
  /** A right axis (fixed range), for lines with `right`. */
  right?: Axis;
  /**
   * Earlier series drawn wider, so that series with equal values (two models at
   * the same rate) show as nested lines instead of one hiding the other.
   */
  nested?: boolean;
}

const TRAIN_DASH = "";
const VALID_DASH = ' stroke-dasharray="5,3"';
const MOMENTUM_DASH = ' stroke-dasharray="2,3"';

function niceRange(values: number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

const num = (v: number | undefined): v is number => typeof v === "number" && Number.isFinite(v);

function panelSvg(p: Panel, series: CurveSeries[]): string[] {
  const out: string[] = [];
  const epochs = Math.max(1, ...series.map((s) => s.history.length));
  const leftValues = series.flatMap((s) =>
    s.history.flatMap((r) => p.lines.filter((l) => !l.right).map((l) => l.get(r)))
  ).filter(num);
  const left: Axis = {
    range: p.left?.range ?? niceRange(leftValues),
    format: p.left?.format ?? ((v) => v.toFixed(3)),
  };
  const sx = (e: number) => p.x + (epochs === 1 ? p.w / 2 : ((e - 1) / (epochs - 1)) * p.w);
  const syOf = ([lo, hi]: [number, number]) => (v: number) =>
    p.y + p.h - ((v - lo) / (hi - lo)) * p.h;
  const sy = syOf(left.range);
  out.push(
    `<text x="${p.x}" y="${p.y - 8}" font-weight="bold">${escapeXml(p.title)}</text>`,
    `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="none" stroke="#888"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const [lo, hi] = left.range;
    const v = lo + ((hi - lo) * i) / 4;
    const y = sy(v);
    out.push(
      `<line x1="${p.x}" y1="${y.toFixed(1)}" x2="${p.x + p.w}" y2="${
        y.toFixed(1)
      }" stroke="#eee"/>`,
      `<text x="${p.x - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${left.format(v)}</text>`,
    );
    if (p.right) {
      const [rlo, rhi] = p.right.range;
      out.push(
        `<text x="${p.x + p.w + 6}" y="${(y + 4).toFixed(1)}">${
          p.right.format(rlo + ((rhi - rlo) * i) / 4)
        }</text>`,
      );
    }
  }
  const ticks = Math.min(epochs, 10);
  for (let i = 0; i < ticks; i++) {
    const e = Math.round(1 + (i * (epochs - 1)) / Math.max(ticks - 1, 1));
    out.push(
      `<text x="${sx(e).toFixed(1)}" y="${p.y + p.h + 14}" text-anchor="middle">${e}</text>`,
    );
  }
  out.push(
    `<text x="${p.x + p.w / 2}" y="${p.y + p.h + 30}" text-anchor="middle">epoch</text>`,
  );
  series.forEach((s, i) => {
    const colour = s.colour ?? COLOURS[i % COLOURS.length];
    const width = p.nested ? 2 + 3 * (series.length - 1 - i) : 2;
    for (const line of p.lines) {
      const y = line.right && p.right ? syOf(p.right.range) : sy;
      const pts = s.history
        .filter((r) => num(r.epoch) && num(line.get(r)))
        .map((r) => `${sx(r.epoch).toFixed(1)},${y(line.get(r)!).toFixed(1)}`);
      if (pts.length === 0) continue;
      out.push(
        `<polyline points="${
          pts.join(" ")
        }" class="${line.name}" fill="none" stroke="${colour}" stroke-width="${width}"${line.dash}/>`,
      );
    }
  });
  return out;
}

/** The rate panel's left axis: from 0 to just above the largest rate. */
function rateAxis(series: CurveSeries[]): Partial<Axis> {
  const rates = series.flatMap((s) => s.history.map((r) => r.learningRate)).filter(num);
  const hi = rates.length > 0 && Math.max(...rates) > 0 ? Math.max(...rates) * 1.05 : 1;
  return { range: [0, hi], format: (v) => (v === 0 ? "0" : v.toPrecision(2)) };
}

const CURVES_SUBTITLES = [
  "solid: training (loss incl. L2 and accuracy averaged over the epoch's minibatches, dropout " +
  "on); dashed: validation at the end of each epoch",
  "right: the learning rate of each epoch (solid, left axis; the mean over the epoch's steps " +
  "when it changes at every step) and the momentum (dotted, right axis)",
];

/**
 * Learning curves: a loss panel and an accuracy panel, solid lines for
 * training, dashed for validation, and beside them the learning rate of
 * each epoch (solid) with the momentum (dotted, on its own 0..1 axis), one
 * colour per series.
 */
export function learningCurveSvg(title: string, series: CurveSeries[]): string {
  const panel = { y: 86, w: 330, h: 230 };
  const legendWidth = Math.max(0, ...series.map((s) => 132 + textWidth(s.label, 11)));
  const width = Math.ceil(
    Math.max(
      1260,
      40 + textWidth(title, 14, true),
      ...CURVES_SUBTITLES.map((line) => 40 + textWidth(line, 11)),
      legendWidth,
    ),
  );
  const height = 386 + series.length * 16;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...CURVES_SUBTITLES.map((line, i) =>
      `<text x="20" y="${40 + 14 * i}">${escapeXml(line)}</text>`
    ),
    ...panelSvg({
      ...panel,
      title: "loss",
      x: 60,
      lines: [{ name: "train-loss", get: (r) => r.loss, dash: TRAIN_DASH }, {
        name: "valid-loss",
        get: (r) => r.validLoss,
        dash: VALID_DASH,
      }],
    }, series),
    ...panelSvg({
      ...panel,
      title: "accuracy",
      x: 470,
      lines: [{ name: "train-accuracy", get: (r) => r.trainAccuracy, dash: TRAIN_DASH }, {
        name: "valid-accuracy",
        get: (r) => r.validAccuracy,
        dash: VALID_DASH,
      }],
    }, series),
    ...panelSvg({
      ...panel,
      title: "learning rate and momentum",
      x: 880,
      lines: [{ name: "learning-rate", get: (r) => r.learningRate, dash: TRAIN_DASH }, {
        name: "momentum",
        get: (r) => r.momentum,
        dash: MOMENTUM_DASH,
        right: true,
      }],
      left: rateAxis(series),
      nested: true,
      right: { range: [0, 1], format: (v) => v.toFixed(2) },
    }, series),
  ];
  series.forEach((s, i) => {
    const y = 371 + i * 16;
    const colour = s.colour ?? COLOURS[i % COLOURS.length];
    parts.push(
      `<line x1="60" y1="${y - 4}" x2="90" y2="${y - 4}" stroke="${colour}" stroke-width="2"/>`,
      `<line x1="95" y1="${y - 4}" x2="125" y2="${
        y - 4
      }" stroke="${colour}" stroke-width="2" stroke-dasharray="5,3"/>`,
      `<text x="132" y="${y}">${escapeXml(s.label)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

const CONFUSION_SUBTITLE =
  "rows: true letter; columns: predicted letter; right: per-letter accuracy";

/**
 * A 10 x 10 confusion matrix (rows: true letter, columns: predicted) with the
 * count in each cell, shaded by its share of the row, and each letter's
 * accuracy at the right.
 */
export function confusionMatrixSvg(title: string, confusion: number[][]): string {
  const cell = 40;
  const left = 50;
  const top = 70;
  const width = Math.ceil(Math.max(
    left + cell * 10 + 110,
    20 + textWidth(title, 14, true),
    20 + textWidth(CONFUSION_SUBTITLE, 11),
  ));
  const height = top + cell * 10 + 50;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="38">${CONFUSION_SUBTITLE}</text>`,
  ];
  let correct = 0;
  let total = 0;
  for (let r = 0; r < 10; r++) {
    const rowTotal = confusion[r].reduce((a, b) => a + b, 0);
    total += rowTotal;
    correct += confusion[r][r];
    parts.push(
      `<text x="${left - 16}" y="${top + r * cell + cell / 2 + 4}" font-weight="bold">${
        LETTERS[r]
      }</text>`,
      `<text x="${left + r * cell + cell / 2}" y="${
        top - 8
      }" text-anchor="middle" font-weight="bold">${LETTERS[r]}</text>`,
    );
    for (let c = 0; c < 10; c++) {
      const v = confusion[r][c];
      const share = rowTotal ? v / rowTotal : 0;
      const fill = r === c
        ? `rgb(${Math.round(255 - 180 * share)},${Math.round(255 - 60 * share)},${
          Math.round(255 - 180 * share)
        })`
        : `rgb(255,${Math.round(255 - 200 * Math.min(1, share * 5))},${
          Math.round(255 - 200 * Math.min(1, share * 5))
        })`;
      const x = left + c * cell;
      const y = top + r * cell;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ccc"/>`,
      );
      if (v > 0) {
        parts.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle">${v}</text>`,
        );
      }
    }
    const acc = rowTotal ? `${(100 * confusion[r][r] / rowTotal).toFixed(1)}%` : "n/a";
    parts.push(
      `<text x="${left + cell * 10 + 10}" y="${top + r * cell + cell / 2 + 4}">${acc}</text>`,
    );
  }
  const overall = total ? (100 * correct / total).toFixed(2) : "n/a";
  parts.push(
    `<text x="${left}" y="${
      top + cell * 10 + 30
    }">overall: ${correct} / ${total} = ${overall}%</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}

/**
 * Renders a histogram of scores (e.g. a class's totals) as SVG: `bins` equal
 * bins over [0, `max`], the count above each bar. Non-finite scores are left
 * out and counted in the subtitle.
 */
export function scoreHistogramSvg(scores: number[], max: number, title: string, bins = 10): string {
  const w = Math.ceil(Math.max(560, 60 + textWidth(title, 13, true)));
  const h = 280;
  const pad = { l: 40, r: 20, t: 48, b: 44 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const finite = scores.filter(Number.isFinite);
  const counts = new Array<number>(bins).fill(0);
  for (const s of finite) {
    const b = max > 0 ? Math.floor((Math.min(Math.max(s, 0), max) / max) * bins) : 0;
    counts[Math.min(bins - 1, b)]++;
  }
  const top = Math.max(1, ...counts);
  const bw = pw / bins;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" ` +
    `font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad.l}" y="18" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${pad.l}" y="34">${finite.length} scores in ${bins} bins of ${
      (max / bins).toFixed(1)
    } points` +
    (finite.length < scores.length ? `; ${scores.length - finite.length} missing` : "") +
    `</text>`,
    `<line x1="${pad.l}" x2="${pad.l + pw}" y1="${pad.t + ph}" y2="${pad.t + ph}" stroke="#999"/>`,
  ];
  counts.forEach((c, i) => {
    const bh = (c / top) * ph;
    const x = pad.l + i * bw;
    parts.push(
      `<rect x="${(x + 2).toFixed(1)}" y="${(pad.t + ph - bh).toFixed(1)}" width="${
        (bw - 4).toFixed(1)
      }" height="${bh.toFixed(1)}" fill="#1f77b4"/>`,
      `<text x="${(x + bw / 2).toFixed(1)}" y="${(pad.t + ph - bh - 4).toFixed(1)}" ` +
        `text-anchor="middle">${c}</text>`,
      `<text x="${x.toFixed(1)}" y="${pad.t + ph + 14}" text-anchor="middle">${
        ((max * i) / bins).toFixed(0)
      }</text>`,
    );
  });
  parts.push(
    `<text x="${pad.l + pw}" y="${pad.t + ph + 14}" text-anchor="middle">${max.toFixed(0)}</text>`,
    `<text x="${pad.l + pw / 2}" y="${h - 8}" text-anchor="middle">points</text>`,
    `</svg>`,
  );
  return parts.join("\n") + "\n";
}
