"""One small adapter per reference client, so every test runs the same way against each of them.

tritonclient.grpc and kserve each register the protocol's messages (`inference.ServerLiveRequest`, ...)
in protobuf's default descriptor pool, so the two cannot be imported into one process: the adapters
live in triton_clients.py and kserve_clients.py, and DRIFTGATE_CLIENT_LIBRARY picks the one a pytest
run imports (the Node harness runs pytest once for each).

Each adapter uses its client as a user would out of the box: default constructor arguments, inputs
set with set_data_from_numpy and its default (binary tensors), no outputs requested (so tritonclient
asks for binary outputs).
"""

import importlib
import os
from dataclasses import dataclass

import numpy as np

NUMPY_TYPES = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}


def to_numpy(tensor: dict) -> np.ndarray:
    """A protocol JSON tensor (flat data) as the numpy array a client user would pass."""
    if tensor["datatype"] == "BYTES":
        values = [v.encode("utf-8") if isinstance(v, str) else v for v in tensor["data"]]
        return np.array(values, dtype=np.object_).reshape(tensor["shape"])
    return np.array(tensor["data"], dtype=NUMPY_TYPES[tensor["datatype"]]).reshape(tensor["shape"])


@dataclass
class Output:
    datatype: str
    shape: list
    array: np.ndarray


@dataclass
class Failure:
    """What a client raised: the status it reports (HTTP code or gRPC status name) and its text."""

    status: str
    text: str



LIBRARIES = {"tritonclient": "triton_clients", "kserve": "kserve_clients"}


def selected_clients() -> list:
    """The adapter classes of the library DRIFTGATE_CLIENT_LIBRARY names."""
    library = os.environ.get("DRIFTGATE_CLIENT_LIBRARY", "")
    if library not in LIBRARIES:
        raise RuntimeError(f"DRIFTGATE_CLIENT_LIBRARY must be one of {sorted(LIBRARIES)}, got {library!r}")
    return importlib.import_module(LIBRARIES[library]).CLIENTS


def assert_outputs(got: dict, expected: list, where: str) -> None:
    assert sorted(got) == sorted(o["name"] for o in expected), f"{where}: output names"
    for want in expected:
        out = got[want["name"]]
        assert out.datatype == want["datatype"], f"{where}: datatype of {want['name']}"
        assert [int(d) for d in out.shape] == want["shape"], f"{where}: shape of {want['name']}"
        assert list(out.array.shape) == want["shape"], f"{where}: shape of the decoded {want['name']}"
        if want["datatype"] == "BYTES":
            decoded = [v.decode("utf-8") if isinstance(v, bytes) else v for v in out.array.reshape(-1)]
            assert decoded == want["data"], f"{where}: {want['name']}"
        else:
            # The JSON answer carries the FP32 values as decimals; binary tensors and gRPC carry the bits.
            np.testing.assert_allclose(
                out.array.astype(np.float64), to_numpy(want).astype(np.float64), rtol=1e-6, atol=1e-7, err_msg=f"{where}: {want['name']}"
            )
