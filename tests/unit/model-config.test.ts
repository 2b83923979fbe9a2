import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manifestSchema } from '../../src/core/index.js';
import { modelConfig, tritonDataType } from '../../src/serve/model-config.js';

const base = {
  name: 'm',
  version: 3,
  format: 'onnx',
  input: 'features',
  output: 'out',
  features: [
    { name: 'x', type: 'numeric' },
    { name: 'y', type: 'numeric' },
  ],
};
const settings = { maxRequestRows: 500, batching: true, maxQueueDelayUs: 250, maxQueueSize: 1000 };

describe('modelConfig (Triton model configuration)', () => {
  it('leaves the batch dimension out of dims and reshapes batch-only tensors to []', () => {
    const classifier = manifestSchema.parse({ ...base, task: 'classification', labels: ['a', 'b', 'c'] });
    const config = modelConfig(classifier, settings);
    assert.equal(config.max_batch_size, 500);
    assert.equal(config.platform, 'onnxruntime_onnx');
    assert.deepEqual(config.input, [{ name: 'features', data_type: 'TYPE_FP32', dims: [2] }]);
    assert.deepEqual(config.output, [
      { name: 'out', data_type: 'TYPE_FP32', dims: [3] },
      { name: 'label', data_type: 'TYPE_STRING', dims: [1], reshape: { shape: [] } },
    ]);
  });

  it('lists one input per feature when a feature is categorical', () => {
    const mixed = manifestSchema.parse({ ...base, format: 'tfjs-layers', task: 'regression', features: [...base.features, { name: 'c', type: 'categorical', categories: ['u', 'v'] }] });
    const config = modelConfig(mixed, settings);
    assert.equal(config.backend, 'tensorflowjs');
    assert.deepEqual(config.input.map((i) => [i.name, i.data_type, i.dims, i.reshape]), [
      ['x', 'TYPE_FP32', [1], { shape: [] }],
      ['y', 'TYPE_FP32', [1], { shape: [] }],
      ['c', 'TYPE_STRING', [1], { shape: [] }],
    ]);
    assert.deepEqual(config.output, [{ name: 'out', data_type: 'TYPE_FP32', dims: [1] }]);
  });

  it('shows dynamic batching only while it is on, the manifest delay winning', () => {
    const m = manifestSchema.parse({ ...base, task: 'regression', batching: { max_batch_size: 8, max_queue_delay_us: 40 } });
    assert.deepEqual(modelConfig(m, settings).dynamic_batching, { max_queue_delay_microseconds: 40, default_queue_policy: { max_queue_size: 1000 } });
    assert.equal('dynamic_batching' in modelConfig(m, { ...settings, batching: false }), false);
  });

  it('names datatypes as Triton does', () => {
    assert.equal(tritonDataType('BYTES'), 'TYPE_STRING');
    assert.equal(tritonDataType('UINT64'), 'TYPE_UINT64');
  });
});
