/**
 * Pictures of trained models, as plain SVG strings (no dependencies), drawn by
 * the task reports and by the grader: learning curves (loss and accuracy per
 * epoch, train vs valid, one colour per model), a confusion matrix with
 * per-letter accuracy, and a histogram of scores (a class's totals).
 *
 * @module
 */
import { LETTERS } from "../data/types.ts";
import { escapeXml } from "../utils/xml.ts";
import type { EpochRecord } from "./epoch_record.ts";

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

/** One model's curves for {@link learningCurveSvg}. */
export interface CurveSeries {
  /** Legend label. */
  label: string;
  /** The model's per-epoch history. */
  history: EpochRecord[];
}

interface Panel {
  title: string;
  x: number;
  y: number;
  w: number;
  h: number;
  train: (r: EpochRecord) => number;
  valid: (r: EpochRecord) => number;
}

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

function panelSvg(p: Panel, series: CurveSeries[]): string[] {
  const out: string[] = [];
  const epochs = Math.max(1, ...series.map((s) => s.history.length));
  const values = series.flatMap((s) => s.history.flatMap((r) => [p.train(r), p.valid(r)]));
  const [lo, hi] = niceRange(values);
  const sx = (e: number) => p.x + (epochs === 1 ? p.w / 2 : ((e - 1) / (epochs - 1)) * p.w);
  const sy = (v: number) => p.y + p.h - ((v - lo) / (hi - lo)) * p.h;
  out.push(
    `<text x="${p.x}" y="${p.y - 8}" font-weight="bold">${escapeXml(p.title)}</text>`,
    `<rect x="${p.x}" y="${p.y}" width="${p.w}" height="${p.h}" fill="none" stroke="#888"/>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const y = sy(v);
    out.push(
      `<line x1="${p.x}" y1="${y.toFixed(1)}" x2="${p.x + p.w}" y2="${
        y.toFixed(1)
      }" stroke="#eee"/>`,
      `<text x="${p.x - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end">${v.toFixed(3)}</text>`,
    );
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
    const colour = COLOURS[i % COLOURS.length];
    for (const [get, dash] of [[p.train, ""], [p.valid, ' stroke-dasharray="5,3"']] as const) {
      const pts = s.history
        .filter((r) => Number.isFinite(get(r)))
        .map((r) => `${sx(r.epoch).toFixed(1)},${sy(get(r)).toFixed(1)}`);
      if (pts.length === 0) continue;
      out.push(
        `<polyline points="${
          pts.join(" ")
        }" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`,
      );
    }
  });
  return out;
}

/**
 * Learning curves: a loss panel and an accuracy panel, solid lines for
 * training, dashed for validation, one colour per series.
 */
export function learningCurveSvg(title: string, series: CurveSeries[]): string {
  const width = 900;
  const legendRows = series.length;
  const height = 372 + legendRows * 16;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="20" y="40">solid: training (loss incl. L2 and accuracy averaged over the epoch's ` +
    `minibatches, dropout on); dashed: validation at the end of each epoch</text>`,
    ...panelSvg({
      title: "loss",
      x: 60,
      y: 72,
      w: 360,
      h: 230,
      train: (r) => r.loss,
      valid: (r) => r.validLoss,
    }, series),
    ...panelSvg({
      title: "accuracy",
      x: 500,
      y: 72,
      w: 360,
      h: 230,
      train: (r) => r.trainAccuracy,
      valid: (r) => r.validAccuracy,
    }, series),
  ];
  series.forEach((s, i) => {
    const y = 357 + i * 16;
    const colour = COLOURS[i % COLOURS.length];
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

/**
 * A 10 x 10 confusion matrix (rows: true letter, columns: predicted) with the
 * count in each cell, shaded by its share of the row, and each letter's
 * accuracy at the right.
 */
export function confusionMatrixSvg(title: string, confusion: number[][]): string {
  const cell = 40;
  const left = 50;
  const top = 70;
  const width = left + cell * 10 + 110;
  const height = top + cell * 10 + 50;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="38">rows: true letter; columns: predicted letter; right: per-letter accuracy</text>`,
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
  const w = 560;
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
