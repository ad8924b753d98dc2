/**
 * The pictures: each as wide as its title, the learning-rate panel (one point
 * per epoch for the rate and the momentum), and task curves that draw a model
 * returned under two roles once, name logistic regression and keep one colour
 * per task's model across the tasks.
 *
 * @module
 */
import { assert, assertEquals } from "../deps/assert.ts";
import {
  confusionMatrixSvg,
  learningCurveSvg,
  scoreHistogramSvg,
  textWidth,
} from "../models/pictures.ts";
import type { EpochRecord } from "../models/epoch_record.ts";
import { describeMlp } from "../models/mlp.ts";
import { TASK_COLOURS, taskCurveSeries } from "../tasks/curve_series.ts";

function history(epochs: number, rate: (e: number) => number, momentum?: number): EpochRecord[] {
  return Array.from({ length: epochs }, (_, i) => ({
    epoch: i + 1,
    loss: 1 / (i + 1),
    trainAccuracy: 0.5 + i / (2 * epochs),
    validLoss: 1.2 / (i + 1),
    validAccuracy: 0.45 + i / (2 * epochs),
    learningRate: rate(i),
    ...(momentum === undefined ? {} : { momentum }),
    seconds: 1,
    samplesPerSecond: 1000,
  }));
}

const widthOf = (svg: string): number => Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]);

/** The points of every polyline of class `name`, as [x, y] pairs. */
function lines(svg: string, name: string): [number, number][][] {
  return [...svg.matchAll(new RegExp(`<polyline points="([^"]*)" class="${name}"`, "g"))]
    .map((m) => m[1].split(" ").map((p) => p.split(",").map(Number) as [number, number]));
}

Deno.test("pictures: the confusion matrix, curves and histogram are as wide as their titles", () => {
  const confusion = Array.from(
    { length: 10 },
    (_, i) => Array.from({ length: 10 }, (_, j) => +(i === j)),
  );
  const long = "Task 3: 784-512-256-10 relu, dropout 0.3, L2 0.0001, max-norm 3, test split " +
    "(small protocol), seed 42, 20 epochs";
  for (const title of ["cm", long]) {
    assert(widthOf(confusionMatrixSvg(title, confusion)) >= 20 + textWidth(title, 14, true), title);
    assert(widthOf(learningCurveSvg(title + long, [])) >= 20 + textWidth(title + long, 14, true));
    assert(
      widthOf(scoreHistogramSvg([1, 2], 10, title + long)) >= textWidth(title + long, 13, true),
    );
  }
  // A short title keeps the matrix's own width.
  assertEquals(widthOf(confusionMatrixSvg("cm", confusion)), 50 + 40 * 10 + 110);
});

Deno.test("pictures: the learning-rate panel has one point per epoch, rate and momentum", () => {
  const epochs = 7;
  const svg = learningCurveSvg("t", [{
    label: "main",
    history: history(epochs, (e) => 0.05 * (1 - e / epochs), 0.9),
  }]);
  const [rate] = lines(svg, "learning-rate");
  const [momentum] = lines(svg, "momentum");
  assertEquals(rate.length, epochs);
  assertEquals(momentum.length, epochs);
  // The rate falls every epoch: each point lower on the page (greater y) than the one before.
  for (let i = 1; i < epochs; i++) assert(rate[i][1] > rate[i - 1][1], `epoch ${i + 1}`);
  // A constant momentum is a flat line.
  assertEquals(new Set(momentum.map((p) => p[1])).size, 1);
  // A history without the momentum (written by hand or before it was recorded) draws none.
  assertEquals(
    lines(learningCurveSvg("t", [{ label: "a", history: history(3, () => 0.1) }]), "momentum"),
    [],
  );
});

Deno.test("pictures: task 2's main and mlp are drawn once, logistic regression named", () => {
  const net = { name: "784-512-256-10 relu", history: history(5, () => 0.1, 0) };
  const logreg = { name: describeMlp({ hidden: [] }), history: history(5, () => 0.1, 0) };
  const series = taskCurveSeries(2, { main: net, mlp: net, logreg });
  assertEquals(series.map((s) => s.label), [
    "main = mlp: 784-512-256-10 relu",
    `logreg: ${logreg.name}`,
  ]);
  assert(series[1].label.includes("logistic regression"), series[1].label);
  const svg = learningCurveSvg("Task 2", series);
  assertEquals(lines(svg, "train-loss").length, 2);
  // Both at rate 0.1: the first is drawn wider, so the second does not hide it.
  const widths = [...svg.matchAll(/class="learning-rate"[^>]*stroke-width="([\d.]+)"/g)]
    .map((m) => Number(m[1]));
  assertEquals(widths.length, 2);
  assert(widths[0] > widths[1], `rate line widths ${widths}`);
  // A separately trained twin (other timings) is a model of its own.
  const twin = { ...net, history: net.history.map((r) => ({ ...r, seconds: 2 })) };
  assertEquals(taskCurveSeries(2, { main: net, mlp: twin }).length, 2);
  // Roles with no history are left out.
  assertEquals(taskCurveSeries(1, { main: { name: "x", history: [] } }), []);
});

Deno.test("pictures: one colour per task's model across the tasks' pictures", () => {
  const m = (name: string) => ({ name, history: history(2, () => 0.1) });
  const colour = (task: number, models: Record<string, ReturnType<typeof m>>, role: string) =>
    taskCurveSeries(task, models).find((s) => s.label.startsWith(role))!.colour;
  // Task 1's net: task 1's main, task 2's main/mlp, task 3's baseline.
  assertEquals(colour(1, { main: m("net") }, "main"), TASK_COLOURS[1]);
  assertEquals(colour(2, { main: m("net"), logreg: m("lr") }, "main"), TASK_COLOURS[1]);
  assertEquals(colour(2, { main: m("net"), logreg: m("lr") }, "logreg"), TASK_COLOURS[2]);
  assertEquals(colour(3, { main: m("reg"), baseline: m("net") }, "baseline"), TASK_COLOURS[1]);
  assertEquals(colour(3, { main: m("reg"), baseline: m("net") }, "main"), TASK_COLOURS[3]);
  assertEquals(colour(4, { main: m("t4") }, "main"), TASK_COLOURS[4]);
  assertEquals(new Set(Object.values(TASK_COLOURS)).size, 4);
  // A student's extra role gets a colour none of the tasks uses.
  const extra = colour(1, { main: m("net"), mine: m("other") }, "mine")!;
  assert(!Object.values(TASK_COLOURS).includes(extra), extra);
});
