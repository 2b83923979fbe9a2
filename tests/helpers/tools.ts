// Finds an external program a test needs. Outside CI a missing program skips the test with a reason;
// in CI (CI=true) it fails the run, since a skipped check there would hide a broken promise.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';

export function findTool(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/** The tool's path; or skips the test (outside CI) / throws (in CI) when it is missing. */
export function requireTool(t: TestContext, name: string, hint: string): string | undefined {
  const path = findTool(name);
  if (path) return path;
  const reason = `${name} is not installed (${hint})`;
  if (process.env.CI === 'true') throw new Error(`${reason}; CI must provide it`);
  t.skip(reason);
  return undefined;
}
