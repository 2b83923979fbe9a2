// Decoding Open Inference Protocol input tensors into the model's input matrix. Two layouts are
// accepted: one tensor named like the model input, shape [N, F] in feature order (numeric features
// only), or one tensor per feature named like the feature, shape [N] or [N, 1]. Either way the
// gateway applies the manifest's preprocessing, so clients send raw values.
import { describeValue, describeValues, invalidInput } from '../core/index.js';
import type { FeatureEncoder, Manifest, RawValue } from '../core/index.js';
import type { InferRequest, V2Datatype } from './schemas.js';

type Tensor = InferRequest['inputs'][number];

const INT_RANGES: Partial<Record<V2Datatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** Names an input in errors; the name is the client's, so it is shown cut short. */
const inputName = (tensor: Tensor): string => `input ${describeValue(tensor.name)}`;

/** Flattens nested or flat tensor data, checking it against the declared shape. */
export function flattenData(tensor: Tensor): unknown[] {
  const expected = tensor.shape.reduce((a, b) => a * b, 1);
  const where = inputName(tensor);
  const data = tensor.data;
  if (data.length > 0 && Array.isArray(data[0])) {
    const out: unknown[] = [];
    const walk = (node: unknown, depth: number, path: string) => {
      if (depth === tensor.shape.length) {
        if (Array.isArray(node)) throw invalidInput(`${where}: data${path} is nested deeper than shape [${tensor.shape.join(', ')}]`);
        out.push(node);
        return;
      }
      if (!Array.isArray(node) || node.length !== tensor.shape[depth]) {
        throw invalidInput(
          `${where}: data${path} should be a list of ${tensor.shape[depth]} for shape [${tensor.shape.join(', ')}], got ${Array.isArray(node) ? `${node.length} items` : 'a value'}`,
        );
      }
      node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
    };
    walk(data, 0, '');
    return out;
  }
  if (data.length !== expected) {
    throw invalidInput(`${where}: shape [${tensor.shape.join(', ')}] needs ${expected} values, got ${data.length}`);
  }
  return data;
}

/** Checks one element against the tensor datatype and returns it as a raw feature value. */
function element(tensor: Tensor, value: unknown, index: number): RawValue {
  const dt = tensor.datatype;
  const where = `${inputName(tensor)} element ${index}`;
  if (dt === 'BYTES') {
    if (typeof value !== 'string') throw invalidInput(`${where}: BYTES data must be strings, got ${typeof value}`);
    return value;
  }
  if (dt === 'BOOL') {
    if (typeof value !== 'boolean') throw invalidInput(`${where}: BOOL data must be true or false, got ${describeValue(value)}`);
    return value ? 1 : 0;
  }
  if (dt === 'FP16') throw invalidInput(`${inputName(tensor)}: datatype FP16 is not supported; send FP32`);
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    // describeValue prints Infinity (what 1e400 parses to) as such, where JSON.stringify would print "null".
    throw invalidInput(`${where}: ${dt} data must be finite numbers, got ${describeValue(value)}`);
  }
  const range = INT_RANGES[dt];
  if (range && (!Number.isInteger(value) || value < range[0] || value > range[1])) {
    throw invalidInput(`${where}: ${value} is not a valid ${dt}`);
  }
  if (dt === 'FP32' && !Number.isFinite(Math.fround(value))) throw invalidInput(`${where}: ${value} is out of the FP32 range`);
  return value;
}

export interface DecodedInputs {
  rows: number;
  matrix: Float32Array;
  /** The raw rows keyed by feature name, for the prediction log. */
  featureRows: () => Record<string, RawValue>[];
}

export function decodeInferInputs(manifest: Manifest, encoder: FeatureEncoder, inputs: Tensor[]): DecodedInputs {
  const names = manifest.features.map((f) => f.name);
  const seen = new Set<string>();
  for (const t of inputs) {
    if (seen.has(t.name)) throw invalidInput(`${inputName(t)} appears twice`);
    seen.add(t.name);
  }
  const whole = inputs.find((t) => t.name === manifest.input && !names.includes(t.name));
  if (whole) {
    if (inputs.length > 1) {
      throw invalidInput(`send either input "${manifest.input}" alone or one input per feature, not both (extra: ${describeValues(inputs.filter((t) => t !== whole).map((t) => t.name))})`);
    }
    return decodeWhole(encoder, whole);
  }
  const byName = new Map(inputs.map((t) => [t.name, t]));
  const unknown = inputs.filter((t) => !names.includes(t.name)).map((t) => t.name);
  if (unknown.length > 0) {
    const expectation = encoder.allNumeric ? `"${manifest.input}" or one input per feature (${names.join(', ')})` : `one input per feature (${names.join(', ')})`;
    throw invalidInput(`unknown input${unknown.length > 1 ? 's' : ''} ${describeValues(unknown)}; expected ${expectation}`);
  }
  const missing = names.filter((n) => !byName.has(n));
  if (missing.length > 0) throw invalidInput(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((n) => `"${n}"`).join(', ')}`);
  return decodeColumns(manifest, encoder, byName);
}

function decodeWhole(encoder: FeatureEncoder, tensor: Tensor): DecodedInputs {
  if (!encoder.allNumeric) {
    throw invalidInput(`input "${tensor.name}" can only carry numeric features; this model has categorical ones, so send one input per feature`);
  }
  if (tensor.shape.length !== 2 || tensor.shape[1] !== encoder.featureNames.length) {
    throw invalidInput(`input "${tensor.name}" must have shape [N, ${encoder.featureNames.length}], got [${tensor.shape.join(', ')}]`);
  }
  if (tensor.datatype === 'BYTES') throw invalidInput(`input "${tensor.name}" must be numeric, got BYTES`);
  const rows = tensor.shape[0]!;
  if (rows === 0) throw invalidInput(`input "${tensor.name}" holds no rows`);
  const flat = flattenData(tensor);
  const width = encoder.featureNames.length;
  const values = flat.map((v, i) => element(tensor, v, i));
  const matrix = new Float32Array(rows * encoder.width);
  for (let r = 0; r < rows; r++) encoder.encodeArray(values.slice(r * width, (r + 1) * width), matrix, r, `input "${tensor.name}" row ${r}`);
  return {
    rows,
    matrix,
    featureRows: () =>
      Array.from({ length: rows }, (_, r) => Object.fromEntries(encoder.featureNames.map((n, j) => [n, values[r * width + j]]))),
  };
}

function decodeColumns(manifest: Manifest, encoder: FeatureEncoder, byName: Map<string, Tensor>): DecodedInputs {
  let rows: number | undefined;
  const columns = new Map<string, RawValue[]>();
  for (const feature of manifest.features) {
    const t = byName.get(feature.name)!;
    if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1)) {
      throw invalidInput(`input "${t.name}" must have shape [N] or [N, 1], got [${t.shape.join(', ')}]`);
    }
    if (feature.type === 'numeric' && t.datatype === 'BYTES') throw invalidInput(`input "${t.name}" is a numeric feature; BYTES is not accepted`);
    if (feature.type === 'categorical' && t.datatype !== 'BYTES' && !(t.datatype in INT_RANGES)) {
      throw invalidInput(`input "${t.name}" is a categorical feature; send BYTES (or integer) data, not ${t.datatype}`);
    }
    const n = t.shape[0]!;
    if (rows === undefined) rows = n;
    else if (n !== rows) throw invalidInput(`input "${t.name}" has ${n} rows but other inputs have ${rows}`);
    columns.set(feature.name, flattenData(t).map((v, i) => element(t, v, i)));
  }
  if (!rows) throw invalidInput('inputs hold no rows');
  const matrix = new Float32Array(rows * encoder.width);
  for (const [name, values] of columns) {
    values.forEach((v, r) => encoder.encodeValue(name, v, matrix, r * encoder.width, `input "${name}" row ${r}`));
  }
  const n = rows;
  return {
    rows: n,
    matrix,
    featureRows: () => Array.from({ length: n }, (_, r) => Object.fromEntries([...columns].map(([name, vals]) => [name, vals[r]]))),
  };
}
