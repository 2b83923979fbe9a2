// The context fence in eslint.config.js: a wrong arrow or a reach into another context's files fails
// `npm run lint`, at any folder depth; imports through an entry along an allowed arrow pass.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = resolve(import.meta.dirname, '../..');
// The real config, with type-aware rules off: the probes below are not files of the TypeScript project.
const eslint = new ESLint({
  cwd: ROOT,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } }, rules: { '@typescript-eslint/no-floating-promises': 'off' } },
});

async function fenceProblems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'driftgate/context-fence').map((m) => m.message);
}

describe('lint fence', () => {
  it('refuses arrows the architecture does not allow', async () => {
    const cases: [string, string, RegExp][] = [
      ['src/core/probe.ts', "export type { Gateway } from '../serve/index.js';", /core must not import serve/],
      ['src/serve/probe.ts', "import { x } from '../train/index.js';\nexport { x };", /serve must not import train/],
      ['src/serve/routes/deep/probe.ts', "import type { X } from '../../../monitor/index.js';\nexport type { X };", /serve must not import monitor/],
      ['src/train/probe.ts', "export * from '../serve/index.js';", /train must not import serve/],
      ['src/train/data/probe.ts', "export * from '../../monitor/index.js';", /train must not import monitor/],
      ['src/monitor/probe.ts', "export * from '../lifecycle/index.js';", /monitor must not import lifecycle/],
      ['src/serve/probe.ts', "export const m = import('../lifecycle/index.js');", /serve must not import lifecycle/],
    ];
    for (const [file, code, expected] of cases) {
      const problems = await fenceProblems(file, code);
      assert.equal(problems.length, 1, `${file}: ${code} → ${problems.join('; ')}`);
      assert.match(problems[0]!, expected);
    }
  });

  it("refuses a reach into another context's files at any depth", async () => {
    const problems = await fenceProblems('src/serve/routes/probe.ts', "export { errorCatalogue } from '../../core/errors.js';");
    assert.deepEqual(problems, ['Import core through its entry (index.ts, tfjs.ts), not errors.ts.']);
    const deeper = await fenceProblems('src/lifecycle/a/b/probe.ts', "export * from '../../../train/data/split.js';");
    assert.equal(deeper.length, 1);
  });

  it('lets allowed arrows through entries, and a context reach its own files', async () => {
    const fine: [string, string][] = [
      ['src/serve/routes/probe.ts', "export * from '../../core/index.js';\nexport * from '../http.js';"],
      ['src/lifecycle/probe.ts', "export * from '../train/index.js';\nexport * from '../core/index.js';"],
      ['src/cli/probe.ts', "export * from '../monitor/index.js';\nexport * from '../serve/index.js';"],
      ['tests/unit/probe.ts', "export * from '../../src/lifecycle/store.js';"],
    ];
    for (const [file, code] of fine) assert.deepEqual(await fenceProblems(file, code), [], file);
  });
});
