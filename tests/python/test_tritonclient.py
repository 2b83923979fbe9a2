"""What only tritonclient has calls for: server and model metadata, model config, statistics, and
infer on a named version. Run with DRIFTGATE_CLIENT_LIBRARY=tritonclient (see test_oip_clients.py).
Config and statistics are Triton's HTTP extensions; over gRPC they are refused as unimplemented.
"""

import pytest
from tritonclient.utils import InferenceServerException

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
        # gRPC names only the extensions it has: binary tensors, model config and statistics are HTTP's
        assert (got.name, got.version) == (want["name"], want["version"])
        assert set(got.extensions) <= set(want["extensions"])
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
def test_model_config(model, http_url, grpc_url):
    config = TritonHttp(http_url, grpc_url).client.get_model_config(model)
    assert config["name"] == model
    want = CASES["metadata"]["models"][model]
    assert [i["name"] for i in config["input"]] == [i["name"] for i in want["inputs"]]
    assert [o["name"] for o in config["output"]] == [o["name"] for o in want["outputs"]]


def test_inference_statistics_count_an_infer(http_url, grpc_url):
    triton = TritonHttp(http_url, grpc_url)

    def count() -> int:
        stats = [s for s in triton.client.get_inference_statistics(FIRST["model"])["model_stats"] if s["name"] == FIRST["model"]]
        assert stats, f"no statistics for {FIRST['model']}"
        return sum(s["inference_count"] for s in stats)

    before = count()
    triton.infer(FIRST["model"], FIRST["inputs"])
    assert count() >= before + FIRST["inputs"][0]["shape"][0]


@pytest.mark.parametrize("call", ["get_model_config", "get_inference_statistics"])
def test_config_and_statistics_over_grpc_fail_clearly(call, http_url, grpc_url):
    # Triton's ModelConfig and ModelStatistics RPCs are not in the KServe V2 service driftgate serves.
    with pytest.raises(InferenceServerException) as caught:
        getattr(TritonGrpc(http_url, grpc_url).client, call)(FIRST["model"])
    assert caught.value.status() == "StatusCode.UNIMPLEMENTED", caught.value


def test_infer_on_a_version(triton):
    got = triton.infer(FIRST["model"], FIRST["inputs"], version=FIRST["version"])
    assert_outputs(got, FIRST["outputs"], f"{triton.name} {FIRST['id']} version {FIRST['version']}")
