// Reading and writing the standard TensorFlow.js file layout (model.json + binary weight shards) from a
// directory, without tfjs-node's file:// handler, which is not available when only the wasm or cpu
// backend is installed. Everything goes through tfjs's in-memory IO handlers.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { describeError } from './errors.js';
import { initTf, tf } from './tf.js';

export const TFJS_MODEL_FILE = 'model.json';
/** Name of the single weight file that `saveLayersModelToDir` writes. */
export const TFJS_WEIGHTS_FILE = 'weights.bin';

type WeightsManifestEntry = tf.io.WeightsManifestEntry;
interface WeightsGroup {
  paths: string[];
  weights: WeightsManifestEntry[];
}

/** Bytes one stored element takes, by weight dtype; quantized weights are stored as the quantized type. */
const STORED_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
  uint8: 1,
  uint16: 2,
  float16: 2,
};

/**
 * Reads `model.json` and every weight file it lists from `dir`, and returns the artifacts tfjs's
 * `io.fromMemory` takes, with all weights concatenated into one ArrayBuffer. Works for layers and graph
 * models alike.
 *
 * Weight paths are resolved inside `dir`; one that points outside it is an error, as are a missing or
 * unparsable model.json, a missing weight file and a weight file whose size does not match the shapes
 * and dtypes the manifest declares.
 */
export async function readTfjsArtifacts(dir: string): Promise<tf.io.ModelArtifacts> {
  const root = resolve(dir);
  const modelPath = join(root, TFJS_MODEL_FILE);
  const modelJson = await readModelJson(modelPath);
  const groups = modelJson.weightsManifest;

  const specs: WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const group of groups) {
    const groupChunks: Uint8Array[] = [];
    for (const path of group.paths) {
      groupChunks.push(await readWeightFile(root, path, modelPath));
    }
    const actual = groupChunks.reduce((n, c) => n + c.byteLength, 0);
    const expected = expectedGroupBytes(group.weights);
    if (expected !== undefined && actual !== expected) {
      const files = group.paths.map((p) => join(root, p)).join(' + ');
      const what = group.paths.length === 1 ? `weight file ${files} is` : `weight files ${files} are`;
      const problem = actual < expected ? 'too short' : 'longer than expected';
      throw new Error(`${what} ${problem}: ${actual} bytes, but ${modelPath} declares ${expected}`);
    }
    specs.push(...group.weights);
    chunks.push(...groupChunks);
  }

  return tf.io.getModelArtifactsForJSONSync(modelJson, specs, concatenate(chunks));
}

/** Loads a tfjs layers model (format `layers-model`) from a directory in the standard file layout. */
export async function loadLayersModelFromDir(dir: string): Promise<tf.LayersModel> {
  await initTf();
  const artifacts = await readTfjsArtifacts(dir);
  expectFormat(artifacts, 'layers-model', dir);
  return tf.loadLayersModel(tf.io.fromMemory(artifacts));
}

/** Loads a tfjs graph model (format `graph-model`, as tensorflowjs_converter writes) from a directory. */
export async function loadGraphModelFromDir(dir: string): Promise<tf.GraphModel> {
  await initTf();
  const artifacts = await readTfjsArtifacts(dir);
  expectFormat(artifacts, 'graph-model', dir);
  return tf.loadGraphModel(tf.io.fromMemory(artifacts));
}

/**
 * Writes a layers model to `dir` (created if needed) as `model.json` + `weights.bin`. The weights file is
 * written before model.json, each through a temporary file and a rename, so a reader that sees
 * model.json always finds complete weights beside it.
 */
export async function saveLayersModelToDir(model: tf.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
        throw new Error('saveLayersModelToDir expects a JSON model topology');
      }
      const weightData = artifacts.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson: Record<string, unknown> = {
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
        format: 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
      };
      if (artifacts.trainingConfig !== undefined) modelJson['trainingConfig'] = artifacts.trainingConfig;
      if (artifacts.userDefinedMetadata !== undefined) modelJson['userDefinedMetadata'] = artifacts.userDefinedMetadata;

      await writeFileAtomic(join(dir, TFJS_WEIGHTS_FILE), new Uint8Array(weightData));
      await writeFileAtomic(join(dir, TFJS_MODEL_FILE), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData }) };
    }),
  );
}

async function readModelJson(modelPath: string): Promise<tf.io.ModelJSON & { weightsManifest: WeightsGroup[] }> {
  let text: string;
  try {
    text = await readFile(modelPath, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${modelPath} not found` : `cannot read ${modelPath}: ${describeError(err)}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${modelPath} is not valid JSON: ${describeError(err)}`, { cause: err });
  }
  if (!isRecord(parsed) || !isRecord(parsed['modelTopology'])) {
    throw new Error(`${modelPath} is not a tfjs model.json: it has no modelTopology object`);
  }
  const manifest = parsed['weightsManifest'] ?? [];
  if (!Array.isArray(manifest) || !manifest.every(isWeightsGroup)) {
    throw new Error(`${modelPath} has a malformed weightsManifest (expected [{paths: string[], weights: [...]}])`);
  }
  // Checked above as far as this module relies on it (a topology object, a well-formed weights manifest);
  // the topology's inner layout is tfjs's to validate when it loads the model, so it stays a cast.
  return { ...(parsed as unknown as tf.io.ModelJSON), weightsManifest: manifest };
}

async function readWeightFile(root: string, path: string, modelPath: string): Promise<Uint8Array> {
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (isAbsolute(path) || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new Error(`weight path "${path}" in ${modelPath} escapes the model directory ${root}`);
  }
  try {
    return await readFile(full);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    const why = missing ? 'is missing' : `cannot be read (${describeError(err)})`;
    throw new Error(`weight file ${full} listed in ${modelPath} ${why}`, { cause: err });
  }
}

/** Byte length the manifest implies for one group, or undefined when it cannot be known (string weights). */
function expectedGroupBytes(weights: readonly WeightsManifestEntry[]): number | undefined {
  let total = 0;
  for (const w of weights) {
    const storedAs = w.quantization?.dtype ?? w.dtype;
    const bytes = STORED_BYTES[storedAs];
    if (bytes === undefined) return undefined;
    total += w.shape.reduce((n, d) => n * d, 1) * bytes;
  }
  return total;
}

function concatenate(chunks: readonly Uint8Array[]): ArrayBuffer {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out.buffer;
}

function expectFormat(artifacts: tf.io.ModelArtifacts, wanted: 'layers-model' | 'graph-model', dir: string): void {
  // Old converters left `format` out; only a format that names the other kind is a clear mistake.
  if (artifacts.format !== undefined && artifacts.format !== wanted) {
    throw new Error(`${join(dir, TFJS_MODEL_FILE)} holds a ${artifacts.format}, not a ${wanted}`);
  }
}

async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isWeightsGroup(value: unknown): value is WeightsGroup {
  if (!isRecord(value)) return false;
  const { paths, weights } = value;
  return (
    Array.isArray(paths) &&
    paths.every((p) => typeof p === 'string') &&
    Array.isArray(weights) &&
    weights.every(
      (w) =>
        isRecord(w) &&
        typeof w['name'] === 'string' &&
        typeof w['dtype'] === 'string' &&
        Array.isArray(w['shape']) &&
        (w['shape'] as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0),
    )
  );
}
