/**
 * `deno task predict --model out/task4/model a.png b.png ...`: loads a saved
 * model and prints, for each 28x28 8-bit grayscale PNG, the predicted letter
 * and the ten class probabilities.
 *
 * @module
 */
import { decode } from "fast-png";
import { LETTERS, NUM_CLASSES, PIXELS } from "../data/types.ts";
import { parseFlags, stringFlag, switchFlag, usageLines } from "../deps/flags.ts";
import { selectBackend } from "../compute/backend.ts";
import { argmaxRow, predictProbabilities } from "../models/evaluate.ts";
import { loadModel } from "../models/io.ts";
import { TASK_FLAGS } from "./flags.ts";

/** The prediction for one image. */
export interface Prediction {
  /** The image file. */
  file: string;
  /** The predicted letter. */
  letter: string;
  /** Probabilities of A..J. */
  probabilities: number[];
}

/**
 * Decodes a PNG that must be 28x28, one 8-bit gray channel (as notMNIST's);
 * throws an error naming `name` and what was found otherwise.
 */
export function decodeGrayPng(bytes: Uint8Array, name: string): Uint8Array {
  let png;
  try {
    png = decode(bytes);
  } catch (err) {
    throw new Error(`${name}: not a readable PNG (${(err as Error).message})`);
  }
  const problems: string[] = [];
  if (png.width !== 28 || png.height !== 28) problems.push(`size ${png.width}x${png.height}`);
  if (png.channels !== 1) problems.push(`${png.channels} channels`);
  if (png.depth !== 8) problems.push(`${png.depth}-bit`);
  if (problems.length > 0 || png.palette !== undefined) {
    throw new Error(
      `${name}: expected a 28x28 8-bit grayscale PNG (like notMNIST's), got ${
        problems.length ? problems.join(", ") : "a palette image"
      }`,
    );
  }
  return Uint8Array.from(png.data as ArrayLike<number>);
}

/** Loads the model in `modelDir` and predicts each PNG in `files`. */
export async function predictFiles(modelDir: string, files: string[]): Promise<Prediction[]> {
  const images = new Uint8Array(files.length * PIXELS);
  for (let i = 0; i < files.length; i++) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(files[i]);
    } catch (err) {
      throw new Error(`${files[i]}: cannot read (${(err as Error).message})`);
    }
    images.set(decodeGrayPng(bytes, files[i]), i * PIXELS);
  }
  const { model } = await loadModel(modelDir);
  try {
    const probs = predictProbabilities(model, images, files.length);
    return files.map((file, i) => ({
      file,
      letter: LETTERS[argmaxRow(probs, i)],
      probabilities: Array.from(probs.slice(i * NUM_CLASSES, (i + 1) * NUM_CLASSES)),
    }));
  } finally {
    model.dispose();
  }
}

/** Formats one prediction as a line: file, letter, the ten probabilities. */
export function formatPrediction(p: Prediction): string {
  return `${p.file}: ${p.letter}  ` +
    p.probabilities.map((v, i) => `${LETTERS[i]} ${v.toFixed(3)}`).join(" ");
}

/** The flags of `deno task predict`. */
export const PREDICT_FLAGS = {
  model: stringFlag({
    arg: "DIR",
    help: "folder of the saved model (required), e.g. out/task4/model",
  }),
  backend: TASK_FLAGS.backend,
  help: switchFlag("this text", "h"),
};

const USAGE = [
  "usage: deno task predict --model DIR [--backend NAME] image.png [image.png ...]",
  "",
  ...usageLines(PREDICT_FLAGS),
].join("\n");

async function main(args: string[]): Promise<void> {
  let modelDir: string | undefined;
  let backend: string | undefined;
  let files: string[];
  try {
    const flags = parseFlags(args, PREDICT_FLAGS);
    if (flags.values.help) {
      console.log(USAGE);
      return;
    }
    modelDir = flags.values.model;
    backend = flags.values.backend;
    files = flags.positionals;
    if (modelDir === undefined) throw new Error("--model DIR is required (e.g. out/task4/model)");
    if (files.length === 0) throw new Error("give at least one PNG file");
  } catch (err) {
    console.error(`predict: ${(err as Error).message}\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    await selectBackend({ force: backend });
    for (const p of await predictFiles(modelDir, files)) console.log(formatPrediction(p));
  } catch (err) {
    console.error(`predict: ${(err as Error).message}`);
    Deno.exit(1);
  }
}

if (import.meta.main) await main(Deno.args);
