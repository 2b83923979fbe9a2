"""The Iris ONNX model in KServe's Python model server (V2 protocol), for bench/peers.ts.

    .venv-peers/bin/python bench/peers/kserve_iris.py --http_port 8080 --enable_grpc false [--workers 2] \
        --enable_latency_logging false --log_config_file bench/peers/kserve_logging.json

Every kserve ModelServer flag works (--workers N for N uvicorn processes; one by default). The last two
flags turn off the log lines kserve writes per request (kserve_logging.json is kserve's own logging
config with uvicorn's access log and kserve's latency traces at WARNING; the workers of --workers 2
log traces whatever --enable_latency_logging says), as driftgate writes none. Answers
POST /v2/models/iris-onnx/infer with input "features" [N,4] FP32 and output "probabilities" [N,3] FP32.
"""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import kserve  # noqa: E402
from kserve import InferOutput, InferRequest, InferResponse  # noqa: E402

from iris_onnx import IrisOnnx  # noqa: E402


class IrisOnnxModel(kserve.Model):
    def __init__(self):
        self.iris = IrisOnnx()
        super().__init__(self.iris.name)
        self.ready = True

    # With --workers > 1 kserve pickles the model into each uvicorn worker process; an onnxruntime
    # session does not pickle, so each worker opens its own.
    def __getstate__(self):
        state = self.__dict__.copy()
        del state["iris"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.iris = IrisOnnx()

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        features = payload.inputs[0].as_numpy()
        probabilities = self.iris.predict(features)
        output = InferOutput(name=self.iris.output_name, shape=list(probabilities.shape), datatype="FP32")
        output.set_data_from_numpy(probabilities, binary_data=False)
        return InferResponse(model_name=self.name, infer_outputs=[output], response_id=payload.id or str(uuid.uuid4()))


if __name__ == "__main__":
    kserve.ModelServer().start([IrisOnnxModel()])
