import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ManifestError, ModelRepository, POINTER_FILE, isPromotable, readManifestAt, writeDurably } from '../../src/core/index.js';

async function version(root: string, model: string, v: number, extra: Record<string, unknown> = {}): Promise<void> {
  const dir = join(root, model, String(v));
  await mkdir(dir, { recursive: true });
  const manifest = {
    name: model,
    version: v,
    format: 'onnx',
    task: 'regression',
    features: [{ name: 'x', type: 'numeric' }],
    input: 'x',
    output: 'y',
    ...extra,
  };
  await writeFile(join(dir, 'driftgate.json'), JSON.stringify(manifest));
}

describe('the model repository owner', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'dg-repo-'));
    for (const v of [1, 2, 3]) await version(root, 'm', v);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('promotes and rolls back through the pointer, keeping history and a log with reasons', async () => {
    const repo = new ModelRepository(root);
    assert.equal(await repo.readPointer('m'), undefined);
    await repo.promote('m', 2, { reason: 'first', now: new Date('2026-01-01T00:00:00Z') });
    const p = await repo.promote('m', 3, { reason: 'retrain', job: 'job-1' });
    assert.equal(p.version, 3);
    assert.deepEqual(p.history, [2]);
    assert.deepEqual(p.log.map((c) => [c.version, c.action, c.reason, c.job]), [
      [2, 'promote', 'first', undefined],
      [3, 'promote', 'retrain', 'job-1'],
    ]);
    const back = await repo.rollback('m', { reason: 'watch' });
    assert.equal(back.version, 2);
    assert.deepEqual(back.history, [], 'the rolled-back version does not come back as a rollback target');
    assert.equal(back.log.at(-1)!.action, 'rollback');
    const reread = await new ModelRepository(root).readPointer('m');
    assert.deepEqual(reread, back);
    await assert.rejects(repo.promote('m', 9, { reason: 'x' }), /no version 9/);
  });

  it('keeps the last good pointer when the file is damaged, and reports each damage once', async () => {
    const problems: string[] = [];
    const repo = new ModelRepository(root, { onPointerProblem: (model, problem) => problems.push(`${model}: ${problem}`) });
    await repo.promote('m', 1, { reason: 'pin' });
    await writeFile(join(root, 'm', POINTER_FILE), '{"version": 3, "hist');
    assert.equal((await repo.readPointer('m'))?.version, 1, 'a torn pointer does not unpin the model');
    assert.equal((await repo.readPointer('m'))?.version, 1);
    assert.equal(problems.length, 1, 'one report per distinct damage, not one per poll');
    assert.match(problems[0]!, /not valid JSON/);
    await writeFile(join(root, 'm', POINTER_FILE), '{"version": -4}');
    assert.equal((await repo.readPointer('m'))?.version, 1);
    assert.equal(problems.length, 2);
    assert.match(problems[1]!, /invalid: version/);
    await repo.promote('m', 2, { reason: 'repair' });
    assert.equal((await repo.readPointer('m'))?.version, 2);
  });

  it('a process that starts while the pointer is damaged falls back on the backup copy', async () => {
    await new ModelRepository(root).promote('m', 3, { reason: 'pin' });
    await writeFile(join(root, 'm', POINTER_FILE), 'not json');
    const problems: string[] = [];
    const fresh = new ModelRepository(root, { onPointerProblem: (_m, p) => problems.push(p) });
    assert.equal((await fresh.readPointer('m'))?.version, 3);
    assert.equal(problems.length, 1);
  });

  it('writes through a temporary file unique to each writer and leaves none behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dg-durable-'));
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeDurably(dir, 'p.json', JSON.stringify({ i }))));
    assert.deepEqual(await readdir(dir), ['p.json']);
    assert.ok(JSON.parse(await readFile(join(dir, 'p.json'), 'utf8')).i >= 0);
    await rm(dir, { recursive: true, force: true });
  });

  it('claims distinct version numbers for concurrent writers', async () => {
    const repo = new ModelRepository(root);
    const claims = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const temp = join(root, 'm', `.tmp-${i}`);
        await mkdir(temp);
        return repo.claimVersion('m', temp, async (v) => writeFile(join(temp, 'stamp'), String(v)));
      }),
    );
    const numbers = claims.map((c) => c.version).sort();
    assert.deepEqual(numbers, [4, 5, 6]);
    for (const c of claims) assert.equal(await readFile(join(c.dir, 'stamp'), 'utf8'), String(c.version));
  });

  it('reads manifests in one place, saying what is wrong with a bad one', async () => {
    const problem = (kind: string, pattern: RegExp) => (err: unknown) => err instanceof ManifestError && err.problem === kind && pattern.test(err.message);
    assert.equal((await readManifestAt(join(root, 'm', '1'))).version, 1);
    await assert.rejects(readManifestAt(join(root, 'm', '9')), problem('missing', /m\/9: driftgate\.json not found \(not a model version\)/));
    const bad = join(root, 'bad');
    await mkdir(join(bad, '1'), { recursive: true });
    await writeFile(join(bad, '1', 'driftgate.json'), '{"name": "bad",');
    await assert.rejects(readManifestAt(join(bad, '1')), problem('not-json', /driftgate\.json is not valid JSON/));
    const repo = new ModelRepository(root);
    await assert.rejects(repo.readManifest('bad', 1), (err: Error) => err.message.startsWith('model "bad" version 1: driftgate.json is not valid JSON'));
    await version(root, 'bad', 2, { task: 'classification' });
    await assert.rejects(readManifestAt(join(bad, '2')), problem('invalid', /driftgate\.json is not a valid manifest: labels: a classification model needs at least two labels/));
    await assert.rejects(repo.readManifest('bad', 2), (err: Error) => err.message.startsWith('model "bad" version 2: driftgate.json is not a valid manifest: labels'));
    await version(root, 'bad', 3, { version: 4 });
    await assert.rejects(repo.readManifest('bad', 3), /manifest says "bad" version 4/);
  });

  it('lets a candidate serve only once the pointer names it', () => {
    const pointer = { version: 3, history: [2], log: [] };
    assert.equal(isPromotable({ version: 4 }, undefined), true);
    assert.equal(isPromotable({ version: 4, stage: 'candidate' }, undefined), false);
    assert.equal(isPromotable({ version: 4, stage: 'candidate' }, pointer), false);
    assert.equal(isPromotable({ version: 3, stage: 'candidate' }, pointer), true);
    assert.equal(isPromotable({ version: 2, stage: 'candidate' }, pointer), true);
  });
});
