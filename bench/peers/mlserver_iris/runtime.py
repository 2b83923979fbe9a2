"""The Iris ONNX model as an MLServer custom runtime, for bench/peers.ts.

    .venv-peers/bin/mlserver start bench/peers/mlserver_iris

settings.json keeps MLServer's defaults (one parallel inference worker) but for debug, off so that no
access line is logged per request, as driftgate logs none. MLSERVER_PARALLEL_WORKERS=2,
MLSERVER_HTTP_PORT, MLSERVER_GRPC_PORT and MLSERVER_METRICS_PORT override them, as bench/peers.ts does.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mlserver import MLModel  # noqa: E402
from mlserver.codecs import NumpyCodec  # noqa: E402
from mlserver.types import InferenceRequest, InferenceResponse  # noqa: E402

from iris_onnx import IrisOnnx  # noqa: E402


class IrisOnnxRuntime(MLModel):
    async def load(self) -> bool:
        self.iris = IrisOnnx()
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        features = NumpyCodec.decode_input(payload.inputs[0])
        probabilities = self.iris.predict(features)
        output = NumpyCodec.encode_output(self.iris.output_name, probabilities)
        return InferenceResponse(model_name=self.name, id=payload.id, outputs=[output])
