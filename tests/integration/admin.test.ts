// The admin control API against a real gateway and a real repository on disk: bearer-token guard,
// listing, explicit loads that do not change what serves, promote and rollback through the serving
// pointer file, unload, failed loads, and a second gateway on the same repository following the pointer.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { POINTER_FILE } from '../../src/core/index.js';
import { get, post, startGateway, tempRepo } from '../helpers/gateway.js';
import type { RunningGateway } from '../helpers/gateway.js';

const TOKEN = 's3cret';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SETOSA = [5.1, 3.5, 1.4, 0.2];

interface VersionStatus {
  version: number;
  state: string;
  error?: string;
}
interface ModelStatus {
  name: string;
  servingVersion: number | null;
  pinned: boolean;
  history: number[];
  versions: VersionStatus[];
}

// Every admin route of the HTTP contract (ARCHITECTURE.md), including those not built yet: the token
// guard covers the whole /admin prefix.
const ADMIN_ROUTES: ['GET' | 'POST', string][] = [
  ['GET', '/admin/models'],
  ['POST', '/admin/models/iris-onnx/versions/1/load'],
  ['POST', '/admin/models/iris-onnx/versions/1/unload'],
  ['POST', '/admin/models/iris-onnx/promote/1'],
  ['POST', '/admin/models/iris-onnx/rollback'],
  ['POST', '/admin/models/iris-onnx/retrain'],
  ['GET', '/admin/models/iris-onnx/retrains'],
];

/** Copies version 1 of iris-onnx to another version number, manifest included. */
function copyVersion(repo: string, to: number): string {
  const dir = join(repo, 'iris-onnx', String(to));
  cpSync(join(repo, 'iris-onnx', '1'), dir, { recursive: true });
  const manifestPath = join(dir, 'driftgate.json');
  writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), version: to }, null, 2));
  return dir;
}

function call(url: string, method: 'GET' | 'POST', path: string, headers: Record<string, string>) {
  return method === 'GET' ? get(url + path, headers) : post(url + path, {}, headers);
}

describe('admin API', () => {
  let repo: string;
  let gw: RunningGateway;
  let open: RunningGateway;

  const admin = async (method: 'GET' | 'POST', path: string, status = 200) => {
    const res = await call(gw.url, method, path, AUTH);
    assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const model = async (): Promise<ModelStatus> => {
    const body = await admin('GET', '/admin/models');
    const m = (body.models as ModelStatus[]).find((x) => x.name === 'iris-onnx');
    assert.ok(m);
    return m;
  };
  const stateOf = (m: ModelStatus, version: number) => m.versions.find((v) => v.version === version)?.state;
  /** Infers one row and returns the version that answered. */
  const servedBy = async (url: string, version?: number) => {
    const res = await post(`${url}/v2/models/iris-onnx${version ? `/versions/${version}` : ''}/infer`, {
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: SETOSA }],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const label = (res.body.outputs as { name: string; data: string[] }[]).find((o) => o.name === 'label');
    assert.deepEqual(label?.data, ['setosa']);
    return res.body.model_version;
  };
  const pointer = () => JSON.parse(readFileSync(join(repo, 'iris-onnx', POINTER_FILE), 'utf8')) as { version: number; history: number[] };

  before(async () => {
    repo = tempRepo(['iris-onnx', 'iris-tfjs']);
    // Version 2 arrives after start-up; with polling off the gateway only learns of it through the admin API.
    gw = await startGateway({ repo, config: { adminToken: TOKEN } });
    copyVersion(repo, 2);
    open = await startGateway({ models: ['iris-onnx'] });
  });
  after(async () => {
    await gw.close();
    await open.close();
    rmSync(repo, { recursive: true, force: true });
  });

  describe('the token guard', () => {
    it('without Authorization → 401 with WWW-Authenticate, on every admin route', async () => {
      for (const [method, path] of ADMIN_ROUTES) {
        const res = await call(gw.url, method, path, {});
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
        assert.deepEqual(res.body, { error: 'admin calls need an Authorization: Bearer <token> header', code: 'UNAUTHORIZED' });
      }
      const basic = await get(`${gw.url}/admin/models`, { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` });
      assert.equal(basic.status, 401);
      assert.match(String(basic.body.error), /Bearer/);
    });

    it('a wrong token → 403, on every admin route', async () => {
      for (const token of ['s3cre', 's3crets', 'S3CRET', 'x']) {
        for (const [method, path] of ADMIN_ROUTES) {
          const res = await call(gw.url, method, path, { authorization: `Bearer ${token}` });
          assert.equal(res.status, 403, `${method} ${path} with ${token}`);
          assert.deepEqual(res.body, { error: 'the admin token is wrong', code: 'FORBIDDEN' });
        }
      }
      // nothing changed
      assert.equal((await model()).servingVersion, 1);
    });

    it('a gateway without DRIFTGATE_ADMIN_TOKEN refuses every admin route with 403 naming it', async () => {
      for (const [method, path] of ADMIN_ROUTES) {
        for (const headers of [{}, AUTH]) {
          const res = await call(open.url, method, path, headers);
          assert.equal(res.status, 403, `${method} ${path}`);
          assert.match(String(res.body.error), /admin API is disabled: set DRIFTGATE_ADMIN_TOKEN/);
          assert.equal(res.body.code, 'FORBIDDEN');
        }
      }
      assert.equal(await servedBy(open.url), '1');
    });
  });

  describe('model lifecycle', () => {
    it('lists models, versions and their states', async () => {
      const body = await admin('GET', '/admin/models');
      const models = body.models as ModelStatus[];
      assert.deepEqual(
        models.map((m) => m.name),
        ['iris-onnx', 'iris-tfjs'],
      );
      for (const m of models) {
        assert.equal(m.servingVersion, 1);
        assert.equal(m.pinned, false);
        assert.deepEqual(m.history, []);
        assert.deepEqual(
          m.versions.map((v) => [v.version, v.state]),
          [[1, 'serving']],
        );
      }
      assert.equal(existsSync(join(repo, 'iris-onnx', POINTER_FILE)), false);
    });

    it('loads version 2 on request without making it serve', async () => {
      const status = (await admin('POST', '/admin/models/iris-onnx/versions/2/load')) as unknown as ModelStatus;
      assert.equal(status.name, 'iris-onnx');
      assert.equal(status.servingVersion, 1);
      assert.equal(stateOf(status, 2), 'loaded');
      assert.equal(stateOf(status, 1), 'serving');
      assert.equal(await servedBy(gw.url, 2), '2');
      assert.equal(await servedBy(gw.url), '1');
      const ready = await get(`${gw.url}/v2/models/iris-onnx/versions/2/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { ready: true });
      const metadata = await get(`${gw.url}/v2/models/iris-onnx`);
      assert.deepEqual(metadata.body.versions, ['2', '1']);
      // loading it again is harmless
      const again = (await admin('POST', '/admin/models/iris-onnx/versions/2/load')) as unknown as ModelStatus;
      assert.equal(again.servingVersion, 1);
      assert.equal(stateOf(again, 2), 'loaded');
    });

    it('promotes version 2: unversioned requests answer from it, and serving.json records it', async () => {
      const status = (await admin('POST', '/admin/models/iris-onnx/promote/2')) as unknown as ModelStatus;
      assert.equal(status.servingVersion, 2);
      assert.equal(status.pinned, true);
      assert.deepEqual(status.history, [1]);
      assert.equal(stateOf(status, 2), 'serving');
      assert.equal(stateOf(status, 1), 'loaded');
      assert.equal(await servedBy(gw.url), '2');
      assert.equal(await servedBy(gw.url, 1), '1');
      const v1 = await post(`${gw.url}/v1/models/iris-onnx:predict`, { instances: [SETOSA] });
      assert.equal(v1.body.model_version, '2');
      assert.deepEqual({ version: pointer().version, history: pointer().history }, { version: 2, history: [1] });
      // the other model is untouched
      const other = (await admin('GET', '/admin/models')).models as ModelStatus[];
      assert.equal(other.find((m) => m.name === 'iris-tfjs')?.servingVersion, 1);
    });

    it('rolls back to version 1, and then has nothing earlier to roll back to (409)', async () => {
      const status = (await admin('POST', '/admin/models/iris-onnx/rollback')) as unknown as ModelStatus;
      assert.equal(status.servingVersion, 1);
      assert.equal(stateOf(status, 1), 'serving');
      assert.equal(await servedBy(gw.url), '1');
      assert.equal(pointer().version, 1);

      const again = await admin('POST', '/admin/models/iris-onnx/rollback', 409);
      assert.match(String(again.error), /model "iris-onnx" has no earlier version to roll back to/);
      assert.equal(again.code, 'CONFLICT');
      assert.equal(await servedBy(gw.url), '1');
      assert.equal(pointer().version, 1);
    });

    it('refuses to unload the serving version (409)', async () => {
      const res = await admin('POST', '/admin/models/iris-onnx/versions/1/unload', 409);
      assert.match(String(res.error), /version 1 of model "iris-onnx" is serving; promote another version first/);
      assert.equal(await servedBy(gw.url), '1');
    });

    describe('a second gateway on the same repository', () => {
      let second: RunningGateway;

      before(async () => {
        // the pointer names version 1 although version 2 is newer: only the pointer makes 1 serve
        assert.equal(pointer().version, 1);
        second = await startGateway({ repo, config: { adminToken: TOKEN } });
      });
      after(() => second.close());

      it('serves the version the serving pointer names', async () => {
        assert.equal(await servedBy(second.url), '1');
        const res = await get(`${second.url}/admin/models`, AUTH);
        const m = (res.body.models as ModelStatus[]).find((x) => x.name === 'iris-onnx');
        assert.equal(m?.servingVersion, 1);
        assert.equal(m?.pinned, true);
        // and it follows a promote made through it, as a restarted first gateway would
        const promoted = await post(`${second.url}/admin/models/iris-onnx/promote/2`, {}, AUTH);
        assert.equal(promoted.status, 200);
        assert.equal(await servedBy(second.url), '2');
        assert.equal(pointer().version, 2);
        const back = await post(`${second.url}/admin/models/iris-onnx/promote/1`, {}, AUTH);
        assert.equal(back.status, 200);
        assert.equal(pointer().version, 1);
      });
    });

    it('unloads version 2: its versioned requests then get 404', async () => {
      const status = (await admin('POST', '/admin/models/iris-onnx/versions/2/unload')) as unknown as ModelStatus;
      assert.equal(status.servingVersion, 1);
      assert.equal(stateOf(status, 2), 'available');
      const res = await post(`${gw.url}/v2/models/iris-onnx/versions/2/infer`, {
        inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: SETOSA }],
      });
      assert.equal(res.status, 404);
      assert.match(String(res.body.error), /version 2 of model "iris-onnx" is not loaded/);
      assert.equal(res.body.code, 'VERSION_NOT_FOUND');
      const ready = await get(`${gw.url}/v2/models/iris-onnx/versions/2/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { ready: false });
      assert.equal(await servedBy(gw.url), '1');
      // unloading what is not loaded
      const twice = await admin('POST', '/admin/models/iris-onnx/versions/2/unload', 404);
      assert.match(String(twice.error), /version 2 of model "iris-onnx" is not loaded/);
    });

    it('loading a version or model that does not exist → 404; a bad version → 400', async () => {
      const missing = await admin('POST', '/admin/models/iris-onnx/versions/9/load', 404);
      assert.match(String(missing.error), /model "iris-onnx" has no version 9 in the repository/);
      const promote = await admin('POST', '/admin/models/iris-onnx/promote/9', 404);
      assert.match(String(promote.error), /has no version 9/);
      const unknown = await admin('POST', '/admin/models/nope/versions/1/load', 404);
      assert.match(String(unknown.error), /model "nope" has no version 1/);
      const bad = await admin('POST', '/admin/models/iris-onnx/versions/abc/load', 400);
      assert.match(String(bad.error), /invalid version "abc"/);
      const badName = await admin('POST', '/admin/models/..%2Fetc/versions/1/load', 400);
      assert.match(String(badName.error), /invalid model name/);
      assert.equal(await servedBy(gw.url), '1');
    });

    it('admin calls about a model the repository lacks leave it unknown: its readiness stays 404, not 503', async () => {
      for (const path of ['versions/1/load', 'promote/1', 'rollback', 'versions/1/unload']) await call(gw.url, 'POST', `/admin/models/ghost/${path}`, AUTH);
      for (const path of ['/v2/models/ghost/ready', '/v2/models/ghost/versions/1/ready', '/v2/models/ghost']) {
        const res = await get(`${gw.url}${path}`);
        assert.equal(res.status, 404, `${path}: ${JSON.stringify(res.body)}`);
      }
      assert.equal((await get(`${gw.url}/v2/health/ready`)).status, 200);
    });

    it('a corrupt version fails to load with 422, and the serving version keeps answering', async () => {
      const dir = copyVersion(repo, 3);
      writeFileSync(join(dir, 'model.onnx'), Buffer.from('this is not an ONNX protobuf, just bytes \x00\x01\x02\xff'));

      const res = await admin('POST', '/admin/models/iris-onnx/versions/3/load', 422);
      assert.match(String(res.error), /model "iris-onnx" version 3 failed to load: .*model\.onnx/);
      assert.equal(await servedBy(gw.url), '1');

      const promote = await admin('POST', '/admin/models/iris-onnx/promote/3', 422);
      assert.match(String(promote.error), /version 3 failed to load/);
      assert.equal(await servedBy(gw.url), '1');
      assert.equal(pointer().version, 1);

      const m = await model();
      assert.equal(m.servingVersion, 1);
      const failed = m.versions.find((v) => v.version === 3);
      assert.equal(failed?.state, 'failed');
      assert.ok(failed?.error && failed.error.length > 0);
      const infer3 = await post(`${gw.url}/v2/models/iris-onnx/versions/3/infer`, {
        inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: SETOSA }],
      });
      assert.equal(infer3.status, 404);
      assert.match(String(infer3.body.error), /version 3 of model "iris-onnx" is not loaded/);
    });
  });
});

describe('version policy', () => {
  it('serves the newest version, keeps the newest DRIFTGATE_VERSIONS_LOADED loaded, and answers any loaded one', async () => {
    const repo = tempRepo(['iris-onnx']);
    copyVersion(repo, 2);
    copyVersion(repo, 3);
    const gw = await startGateway({ repo, config: { adminToken: 'policy', versionsLoaded: 2 } });
    try {
      const list = await get(`${gw.url}/admin/models`, { authorization: 'Bearer policy' });
      const iris = (list.body.models as { name: string; versions: { version: number; state: string }[] }[]).find((m) => m.name === 'iris-onnx')!;
      assert.deepEqual(
        iris.versions.map((v) => [v.version, v.state]),
        [
          [3, 'serving'],
          [2, 'loaded'],
          [1, 'available'],
        ],
      );
      const body = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };
      assert.equal((await post(`${gw.url}/v2/models/iris-onnx/infer`, body)).body.model_version, '3');
      assert.equal((await post(`${gw.url}/v2/models/iris-onnx/versions/2/infer`, body)).body.model_version, '2');
      const notLoaded = await post(`${gw.url}/v2/models/iris-onnx/versions/1/infer`, body);
      assert.equal(notLoaded.status, 404);
      assert.match(String(notLoaded.body.error), /version 1 of model "iris-onnx" is not loaded/);
    } finally {
      await gw.close();
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
