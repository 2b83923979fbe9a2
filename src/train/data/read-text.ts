// Reads a data file as UTF-8 text, turning the file-system errors a user can cause (wrong path, a
// directory, no permission) into DataErrors that name the file.
import { readFile } from 'node:fs/promises';
import { describeError } from '../../core/index.js';
import { DataError } from './errors.js';

export async function readTextFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : describeError(err);
    throw new DataError(`cannot read data file ${path}: ${why}`, { source: path }, { cause: err });
  }
  // A byte-order mark is an encoding artefact, not part of the first column's name.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DataError(`data file ${path} is empty`, { source: path });
  return text;
}
