"""What only tritonclient has calls for: server and model metadata, model config, statistics, and
infer on a named version. Run with DRIFTGATE_CLIENT_LIBRARY=tritonclient (see test_oip_clients.py).
"""

import pytest

from conftest import load_cases
from oip_clients import assert_outputs
from triton_clients import TritonGrpc, TritonHttp

CASES = load_cases()
MODELS = CASES["models"]
FIRST = CASES["cases"][0]


@pytest.fixture(params=[TritonHttp, TritonGrpc], ids=lambda c: c.name)
def triton(request, http_url, grpc_url):
    return request.param(http_url, grpc_url)


def tensors(proto_tensors) -> list:
    return [{"name": t.name, "datatype": t.datatype, "shape": [int(d) for d in t.shape]} for t in proto_tensors]


def test_server_metadata(triton):
    want = CASES["metadata"]["server"]
    got = triton.client.get_server_metadata()
    if triton.over_grpc:
        assert (got.name, got.version, list(got.extensions)) == (want["name"], want["version"], want["extensions"])
    else:
        assert got == want


@pytest.mark.parametrize("model", MODELS)
def test_model_metadata(triton, model):
    want = CASES["metadata"]["models"][model]
    got = triton.client.get_model_metadata(model)
    if triton.over_grpc:
        # the protocol's gRPC ModelMetadataResponse has no parameters
        assert (got.name, list(got.versions), got.platform) == (want["name"], want["versions"], want["platform"])
        assert tensors(got.inputs) == want["inputs"]
        assert tensors(got.outputs) == want["outputs"]
    else:
        assert got == want


@pytest.mark.parametrize("model", MODELS)
def test_model_config(triton, model):
    got = triton.client.get_model_config(model, as_json=True) if triton.over_grpc else triton.client.get_model_config(model)
    config = got["config"] if triton.over_grpc else got  # gRPC wraps it in a ModelConfigResponse
    assert config["name"] == model
    want = CASES["metadata"]["models"][model]
    assert [i["name"] for i in config.get("input", [])] == [i["name"] for i in want["inputs"]]
    assert [o["name"] for o in config.get("output", [])] == [o["name"] for o in want["outputs"]]


def test_inference_statistics_count_an_infer(triton):
    def count() -> int:
        got = triton.client.get_inference_statistics(FIRST["model"], as_json=True) if triton.over_grpc else triton.client.get_inference_statistics(FIRST["model"])
        stats = [s for s in got["model_stats"] if s["name"] == FIRST["model"]]
        assert stats, f"no statistics for {FIRST['model']}: {got}"
        # gRPC's JSON mapping writes uint64 counters as strings
        return sum(int(s.get("inference_count", 0)) for s in stats)

    before = count()
    triton.infer(FIRST["model"], FIRST["inputs"])
    assert count() >= before + FIRST["inputs"][0]["shape"][0]


def test_infer_on_a_version(triton):
    got = triton.infer(FIRST["model"], FIRST["inputs"], version=FIRST["version"])
    assert_outputs(got, FIRST["outputs"], f"{triton.name} {FIRST['id']} version {FIRST['version']}")
