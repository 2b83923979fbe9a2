"""The Iris ONNX model as driftgate serves it, for the Python serving peers of bench/peers.ts.

driftgate standardises each feature with the scaler its manifest (driftgate.json) records, then runs the
ONNX file. The peers must do the same work per request, so both read the manifest and run the same file
with onnxruntime; only the server around the model differs.
"""

import json
import os

import numpy as np
import onnxruntime as ort

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_DIR = os.path.join(ROOT, "models", "iris-onnx", "1")


class IrisOnnx:
    """Standardisation from driftgate.json, then the ONNX session: rows of 4 floats in, probabilities out."""

    def __init__(self, model_dir: str = MODEL_DIR):
        with open(os.path.join(model_dir, "driftgate.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.name = manifest["name"]
        self.input_name = manifest["input"]
        self.output_name = manifest["output"]
        self.labels = manifest["labels"]
        scalers = manifest["preprocessing"]["scalers"]
        features = [feat["name"] for feat in manifest["features"]]
        self.mean = np.array([scalers[n]["mean"] for n in features], dtype=np.float32)
        self.std = np.array([scalers[n]["std"] for n in features], dtype=np.float32)
        # One intra-op thread, as a tiny MLP gains nothing from more and every server here runs
        # several requests at once.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            os.path.join(model_dir, "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.onnx_input = self.session.get_inputs()[0].name

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Probabilities, shape [rows, labels], for features of shape [rows, 4]."""
        x = (np.asarray(rows, dtype=np.float32).reshape(-1, len(self.mean)) - self.mean) / self.std
        return self.session.run([self.output_name], {self.onnx_input: x})[0]
