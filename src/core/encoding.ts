// Turns raw feature values, as clients send them, into the model's input vector, applying the
// manifest's preprocessing: scalers on numeric features, one-hot on categorical ones. Training uses
// the same encoder, so a model never sees data prepared differently from what it learned on.
import { describeValue } from './describe.js';
import { invalidInput } from './errors.js';
import { inputWidth } from './manifest.js';
import type { Feature, Manifest, Scaler } from './manifest.js';

export type RawValue = number | string | boolean | null | undefined;

interface Column {
  feature: Feature;
  offset: number;
  scale?: (x: number) => number;
  categoryIndex?: Map<string, number>;
}

function scalerFn(s: Scaler): (x: number) => number {
  if (s.kind === 'standardize') return (x) => (x - s.mean) / s.std;
  const span = s.max - s.min;
  return span === 0 ? (x) => x - s.min : (x) => (x - s.min) / span;
}

export class FeatureEncoder {
  readonly width: number;
  readonly featureNames: readonly string[];
  private readonly columns: Column[];
  private readonly byName: Map<string, Column>;
  private readonly ignoreUnknown: boolean;

  constructor(manifest: Pick<Manifest, 'features' | 'preprocessing'>) {
    this.width = inputWidth(manifest.features);
    this.featureNames = manifest.features.map((f) => f.name);
    this.ignoreUnknown = manifest.preprocessing.unknownCategory === 'ignore';
    let offset = 0;
    this.columns = manifest.features.map((feature) => {
      const col: Column = { feature, offset };
      if (feature.type === 'numeric') {
        const scaler = manifest.preprocessing.scalers[feature.name];
        if (scaler) col.scale = scalerFn(scaler);
        offset += 1;
      } else {
        col.categoryIndex = new Map(feature.categories.map((c, i) => [c, i]));
        offset += feature.categories.length;
      }
      return col;
    });
    this.byName = new Map(this.columns.map((c) => [c.feature.name, c]));
  }

  /** True when every feature is numeric, so rows fit a plain numeric tensor. */
  get allNumeric(): boolean {
    return this.columns.every((c) => c.feature.type === 'numeric');
  }

  /**
   * Encodes one value of a feature into `out` at the row's offset. `where` names the value in
   * error messages (e.g. `instances[3].petal_width`).
   */
  encodeValue(name: string, value: RawValue, out: Float32Array, rowOffset: number, where: string): void {
    const col = this.byName.get(name);
    if (!col) throw invalidInput(`${where}: unknown feature ${describeValue(name)}; expected ${this.featureNames.join(', ')}`);
    this.encodeColumn(col, value, out, rowOffset, where);
  }

  private encodeColumn(col: Column, value: RawValue, out: Float32Array, rowOffset: number, where: string): void {
    if (col.feature.type === 'numeric') {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalidInput(`${where}: feature "${col.feature.name}" must be a finite number, got ${describeRaw(value)}`);
      }
      const x = col.scale ? col.scale(value) : value;
      if (!Number.isFinite(Math.fround(x))) {
        throw invalidInput(`${where}: feature "${col.feature.name}" value ${value} is out of the float32 range`);
      }
      out[rowOffset + col.offset] = x;
      return;
    }
    const key = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    if (typeof key !== 'string') {
      throw invalidInput(`${where}: feature "${col.feature.name}" must be a category string, got ${describeRaw(value)}`);
    }
    const index = col.categoryIndex!.get(key);
    if (index === undefined) {
      if (this.ignoreUnknown) return;
      throw invalidInput(
        `${where}: feature "${col.feature.name}" has unknown category ${describeValue(key)}; known: ${col.feature.categories.join(', ')}`,
      );
    }
    out[rowOffset + col.offset + index] = 1;
  }

  /**
   * Encodes one row given as an object keyed by feature name. Missing keys are errors; extra keys are
   * errors too unless `ignoreExtra` (training rows carry their target and other columns).
   */
  encodeObject(row: Record<string, RawValue>, out: Float32Array, rowIndex: number, where: string, ignoreExtra = false): void {
    const base = rowIndex * this.width;
    if (ignoreExtra) {
      for (const col of this.columns) {
        if (!(col.feature.name in row)) throw invalidInput(`${where}: missing feature "${col.feature.name}"`);
        this.encodeColumn(col, row[col.feature.name], out, base, where);
      }
      return;
    }
    let seen = 0;
    for (const key in row) {
      if (!this.byName.has(key)) {
        throw invalidInput(`${where}: unknown feature ${describeValue(key)}; expected ${this.featureNames.join(', ')}`);
      }
      seen++;
    }
    if (seen !== this.columns.length) {
      const missing = this.featureNames.filter((n) => !(n in row));
      throw invalidInput(`${where}: missing feature${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
    for (const col of this.columns) this.encodeColumn(col, row[col.feature.name], out, base, where);
  }

  /** Encodes one row given as an array of values in the manifest's feature order. */
  encodeArray(row: readonly RawValue[], out: Float32Array, rowIndex: number, where: string): void {
    if (row.length !== this.columns.length) {
      throw invalidInput(
        `${where}: expected ${this.columns.length} values (${this.featureNames.join(', ')}), got ${row.length}`,
      );
    }
    const base = rowIndex * this.width;
    for (let i = 0; i < this.columns.length; i++) this.encodeColumn(this.columns[i]!, row[i], out, base, where);
  }

  /** Encodes rows of either form into a fresh rows x width matrix. */
  encodeRows(
    rows: readonly (Record<string, RawValue> | readonly RawValue[])[],
    label = 'instances',
    { ignoreExtra = false }: { ignoreExtra?: boolean } = {},
  ): Float32Array {
    const out = new Float32Array(rows.length * this.width);
    rows.forEach((row, i) => {
      if (Array.isArray(row)) this.encodeArray(row, out, i, `${label}[${i}]`);
      else if (row && typeof row === 'object') this.encodeObject(row as Record<string, RawValue>, out, i, `${label}[${i}]`, ignoreExtra);
      else throw invalidInput(`${label}[${i}]: must be an object keyed by feature name or an array of values`);
    });
    return out;
  }
}

/** A raw value in an error, saying "the string" so that "1" the string is not mistaken for 1 the number. */
function describeRaw(v: unknown): string {
  return typeof v === 'string' ? `the string ${describeValue(v)}` : describeValue(v);
}
