"""The reference Open Inference Protocol clients, in their default settings, against a running gateway.

Run by tests/integration/oip-clients.test.ts, which starts the gateway with the example models, asks
its JSON infer for the answers to the inputs below and hands both over (see conftest.py); once with
DRIFTGATE_CLIENT_LIBRARY=tritonclient, once with kserve. Every client must get the same answers over
its own transport (binary tensors over HTTP, gRPC), and must raise with the server's status and
message when the server refuses.
"""

import pytest

from conftest import load_cases
from oip_clients import Failure, assert_outputs, selected_clients

CASES = load_cases()
INFER_CASES = CASES["cases"]
MODELS = CASES["models"]


@pytest.fixture(params=selected_clients(), ids=lambda c: c.name)
def client(request, http_url, grpc_url):
    return request.param(http_url, grpc_url)


def refused(client, call) -> Failure:
    with pytest.raises(Exception) as caught:
        call()
    failure = client.failure(caught.value)
    assert failure is not None, f"{client.name} raised {type(caught.value).__name__}: {caught.value}"
    return failure


def test_server_is_live_and_ready(client):
    assert client.live() is True
    assert client.ready() is True


@pytest.mark.parametrize("model", MODELS)
def test_model_is_ready(client, model):
    assert client.model_ready(model) is True


def test_unknown_model_is_not_ready(client):
    model = CASES["errors"]["unknown_model"]["model"]
    try:
        ready = client.model_ready(model)
    except Exception as err:  # a gRPC client may report NOT_FOUND rather than ready=false
        failure = client.failure(err)
        assert failure is not None and client.over_grpc and failure.status == "NOT_FOUND", f"{client.name} raised {err!r}"
    else:
        assert ready is False


@pytest.mark.parametrize("case", INFER_CASES, ids=[c["id"] for c in INFER_CASES])
def test_infer_matches_the_json_answer(client, case):
    got = client.infer(case["model"], case["inputs"])
    assert_outputs(got, case["outputs"], f"{client.name} {case['id']}")


@pytest.mark.parametrize("kind", ["unknown_model", "bad_input"])
def test_refusal_carries_the_server_status_and_message(client, kind):
    error = CASES["errors"][kind]
    failure = refused(client, lambda: client.infer(error["model"], error["inputs"]))
    assert failure.status == (error["grpc_status"] if client.over_grpc else str(error["status"]))
    assert error["message"] in failure.text, f"{client.name}: {failure.text!r} does not carry the server's message {error['message']!r}"
