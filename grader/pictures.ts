/**
 * Pictures the grader draws itself from what it measured: the test-split
 * confusion matrix of the `main` model (with per-letter accuracy) and the
 * learning curves from the history a task returned. Plain SVG strings, no
 * dependencies.
 *
 * @module
 */
import { LETTERS } from "../data/types.ts";
import type { EpochRecord } from "../tasks/types.ts";
import { xmlEscape } from "./reports.ts";

/** Renders a 10 x 10 confusion matrix (rows: true letter, columns: predicted) as SVG. */
export function confusionSvg(confusion: number[][], title: string): string {
  const cell = 34;
  const left = 40;
  const top = 58;
  const width = left + cell * 10 + 90;
  const height = top + cell * 10 + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="13" font-weight="bold">${xmlEscape(title)}</text>`,
    `<text x="${left}" y="36">rows: true letter, columns: predicted; right: per-letter accuracy</text>`,
  ];
  for (let r = 0; r < 10; r++) {
    const total = confusion[r].reduce((a, b) => a + b, 0);
    parts.push(
      `<text x="${left - 14}" y="${top + r * cell + cell / 2 + 4}">${LETTERS[r]}</text>`,
      `<text x="${left + r * cell + cell / 2 - 4}" y="${top - 6}">${LETTERS[r]}</text>`,
    );
    for (let c = 0; c < 10; c++) {
      const v = confusion[r][c];
      const share = total === 0 ? 0 : v / total;
      const shade = r === c
        ? `rgb(${Math.round(255 - 200 * share)},${Math.round(255 - 90 * share)},255)`
        : `rgb(255,${Math.round(255 - 255 * Math.min(1, share * 5))},${
          Math.round(255 - 255 * Math.min(1, share * 5))
        })`;
      parts.push(
        `<rect x="${left + c * cell}" y="${top + r * cell}" width="${cell}" height="${cell}" ` +
          `fill="${shade}" stroke="#ccc"/>`,
      );
      if (v > 0) {
        parts.push(
          `<text x="${left + c * cell + cell / 2}" y="${top + r * cell + cell / 2 + 4}" ` +
            `text-anchor="middle">${v}</text>`,
        );
      }
    }
    const acc = total === 0 ? "—" : `${((confusion[r][r] / total) * 100).toFixed(1)}%`;
    parts.push(
      `<text x="${left + cell * 10 + 8}" y="${top + r * cell + cell / 2 + 4}">${acc}</text>`,
    );
  }
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}

/**
 * Renders learning curves (loss on the left axis is scaled into the same
 * panel as accuracy) from one or more histories, one colour per role.
 */
export function learningCurveSvg(histories: Record<string, EpochRecord[]>, title: string): string {
  const w = 640;
  const h = 300;
  const pad = { l: 50, r: 150, t: 40, b: 40 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  const entries = Object.entries(histories).filter(([, hist]) => hist.length > 0);
  const maxEpoch = Math.max(1, ...entries.map(([, hist]) => hist.length));
  const accs = entries.flatMap(([, hist]) =>
    hist.flatMap((e) => [e.trainAccuracy, e.validAccuracy])
  )
    .filter(Number.isFinite);
  const lo = accs.length ? Math.max(0, Math.floor(Math.min(...accs) * 20) / 20) : 0;
  const x = (epoch: number): number =>
    pad.l + (maxEpoch === 1 ? pw / 2 : ((epoch - 1) / (maxEpoch - 1)) * pw);
  const y = (acc: number): number => pad.t + ph - ((acc - lo) / Math.max(1e-9, 1 - lo)) * ph;
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" ` +
    `font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad.l}" y="20" font-size="13" font-weight="bold">${xmlEscape(title)}</text>`,
    `<rect x="${pad.l}" y="${pad.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const acc = lo + ((1 - lo) * k) / 4;
    parts.push(
      `<text x="${pad.l - 6}" y="${y(acc) + 4}" text-anchor="end">${
        (acc * 100).toFixed(0)
      }%</text>`,
      `<line x1="${pad.l}" x2="${pad.l + pw}" y1="${y(acc)}" y2="${y(acc)}" stroke="#eee"/>`,
    );
  }
  parts.push(
    `<text x="${pad.l + pw / 2}" y="${h - 10}" text-anchor="middle">epoch (1..${maxEpoch})</text>`,
  );
  entries.forEach(([role, hist], i) => {
    const colour = colours[i % colours.length];
    for (const [key, dash] of [["trainAccuracy", ""], ["validAccuracy", "5,3"]] as const) {
      const pts = hist.filter((e) => Number.isFinite(e[key])).map((e) =>
        `${x(e.epoch).toFixed(1)},${y(e[key]).toFixed(1)}`
      );
      if (pts.length === 0) continue;
      parts.push(
        `<polyline points="${pts.join(" ")}" fill="none" stroke="${colour}" stroke-width="2"` +
          (dash ? ` stroke-dasharray="${dash}"` : "") + `/>`,
      );
    }
    const ly = pad.t + 14 + i * 32;
    parts.push(
      `<line x1="${pad.l + pw + 10}" x2="${
        pad.l + pw + 30
      }" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${pad.l + pw + 34}" y="${ly + 4}">${xmlEscape(role)} train</text>`,
      `<line x1="${pad.l + pw + 10}" x2="${pad.l + pw + 30}" y1="${ly + 14}" y2="${
        ly + 14
      }" stroke="${colour}" stroke-width="2" stroke-dasharray="5,3"/>`,
      `<text x="${pad.l + pw + 34}" y="${ly + 18}">${xmlEscape(role)} valid</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
