/**
 * Saving and loading trained networks as tfjs `model.json` + `weights.bin`,
 * with IO handlers written on Deno file APIs (no tfjs-node needed). Files are
 * written atomically (temp name + rename). A saved model can be loaded by any
 * tfjs (`tf.loadLayersModel`) once {@link SeededDropout} is registered.
 *
 * ```ts ignore
 * import { loadModel, saveModel } from "./io.ts";
 *
 * await saveModel(model, "out/task4/model", { spec, history });
 * const { model: again, metadata } = await loadModel("out/task4/model");
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { join } from "node:path";
import { atomicWrite } from "../utils/atomic_write.ts";
import "./dropout.ts"; // registers SeededDropout for deserialization
import { Network } from "./mlp.ts";

/** File name of the topology + manifest inside a model folder. */
export const MODEL_JSON = "model.json";

/** File name of the weights inside a model folder. */
export const WEIGHTS_BIN = "weights.bin";

/** JSON-serialisable facts stored beside the weights (spec, config, history, labels...). */
export type ModelMetadata = Record<string, unknown>;

/** Concatenates tfjs weight data (one buffer or several) into one byte array. */
function weightBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const buffers = Array.isArray(data) ? data : [data];
  return new Uint8Array(tf.io.concatenateArrayBuffers(buffers));
}

/**
 * Saves `model` to folder `dir` as `model.json` (topology, weights manifest,
 * `metadata` under `userDefinedMetadata`) and `weights.bin`.
 */
export async function saveModel(
  net: Network,
  dir: string,
  metadata: ModelMetadata = {},
): Promise<void> {
  await net.layers.save(tf.io.withSaveHandler(async (artifacts) => {
    const weights = weightBytes(artifacts.weightData);
    const json = {
      format: "layers-model",
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
      userDefinedMetadata: metadata,
    };
    // Weights first: model.json appears only when its weights are complete.
    await atomicWrite(join(dir, WEIGHTS_BIN), weights);
    await atomicWrite(join(dir, MODEL_JSON), JSON.stringify(json) + "\n");
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: "JSON",
        weightDataBytes: weights.byteLength,
      },
    };
  }));
}

/** A loaded model and the metadata saved with it. */
export interface LoadedModel {
  /** The network. */
  model: Network;
  /** What {@link saveModel} stored as metadata. */
  metadata: ModelMetadata;
}

interface ModelJsonShape {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: ModelMetadata;
}

/** Loads a model saved by {@link saveModel} from folder `dir` (or the path of its `model.json`). */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const folder = dir.endsWith(".json") ? dir.slice(0, dir.lastIndexOf("/") + 1) || "." : dir;
  const jsonPath = dir.endsWith(".json") ? dir : join(dir, MODEL_JSON);
  let json: ModelJsonShape;
  try {
    json = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (err) {
    throw new Error(`cannot read model ${jsonPath}: ${(err as Error).message}`);
  }
  if (json.modelTopology === undefined || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${jsonPath} is not a tfjs layers model (no modelTopology / weightsManifest)`);
  }
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      try {
        parts.push(await Deno.readFile(join(folder, p)));
      } catch (err) {
        throw new Error(`cannot read weights ${join(folder, p)}: ${(err as Error).message}`);
      }
    }
  }
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    weightData.set(p, offset);
    offset += p.byteLength;
  }
  const model = await tfl.loadLayersModel(tf.io.fromMemory({
    modelTopology: json.modelTopology as tf.io.ModelArtifacts["modelTopology"],
    weightSpecs,
    weightData: weightData.buffer,
  }));
  return { model: new Network(model), metadata: json.userDefinedMetadata ?? {} };
}
