"""What the Node harness (tests/integration/oip-clients.test.ts) hands the client suite.

DRIFTGATE_HTTP_URL and DRIFTGATE_GRPC_URL are host:port of a running gateway; DRIFTGATE_CLIENT_CASES
is the path of a JSON file with the inputs to send and what the gateway's own JSON infer answered
for them:

    {"cases": [{"id", "model", "inputs": [tensor], "outputs": [tensor]}],
     "models": [name],
     "errors": {"unknown_model": {"model", "inputs", "message"},
                "bad_input": {"model", "inputs", "message"}}}

A tensor is {"name", "datatype", "shape", "data"} with flat data, as the protocol's JSON has it.
"""

import json
import os

import pytest


# test_tritonclient.py imports tritonclient.grpc, which cannot share a process with kserve (see oip_clients.py).
collect_ignore = ["test_tritonclient.py"] if os.environ.get("DRIFTGATE_CLIENT_LIBRARY") == "kserve" else []


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run this suite through tests/integration/oip-clients.test.ts", returncode=4)
    return value


@pytest.fixture(scope="session")
def http_url() -> str:
    return _required("DRIFTGATE_HTTP_URL")


@pytest.fixture(scope="session")
def grpc_url() -> str:
    return _required("DRIFTGATE_GRPC_URL")


def load_cases() -> dict:
    with open(_required("DRIFTGATE_CLIENT_CASES"), encoding="utf-8") as f:
        return json.load(f)
