"""KServe's InferenceRESTClient and InferenceGRPCClient as adapters (see oip_clients.py).

Both are asynchronous; each call runs in its own event loop with a client made inside it, since a
gRPC aio channel belongs to the loop that made it.
"""

import asyncio

import grpc
import httpx
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig

from oip_clients import Failure, Output, to_numpy


def _kserve_request(model: str, tensors: list) -> InferRequest:
    inputs = []
    for tensor in tensors:
        array = to_numpy(tensor)
        given = InferInput(tensor["name"], list(array.shape), tensor["datatype"])
        given.set_data_from_numpy(array)
        inputs.append(given)
    return InferRequest(model_name=model, infer_inputs=inputs)


def _kserve_outputs(response) -> dict:
    return {o.name: Output(o.datatype, list(o.shape), o.as_numpy()) for o in response.outputs}


class KServeRest:
    """KServe's InferenceRESTClient; its default protocol is v1, so v2 is the one setting given."""

    name = "kserve.InferenceRESTClient"
    over_grpc = False

    def __init__(self, http_url: str, grpc_url: str):
        self.base = f"http://{http_url}"

    def _run(self, call):
        async def go():
            async with InferenceRESTClient(RESTConfig(protocol="v2")) as client:
                return await call(client)

        return asyncio.run(go())

    def live(self) -> bool:
        return self._run(lambda c: c.is_server_live(self.base))

    def ready(self) -> bool:
        return self._run(lambda c: c.is_server_ready(self.base))

    def model_ready(self, model: str) -> bool:
        return self._run(lambda c: c.is_model_ready(self.base, model))

    def infer(self, model: str, tensors: list, version: str = "") -> dict:
        assert version == "", "InferenceRESTClient has no model version argument"
        request = _kserve_request(model, tensors)
        return _kserve_outputs(self._run(lambda c: c.infer(self.base, request, model_name=model)))

    @staticmethod
    def failure(err: BaseException) -> Failure | None:
        if isinstance(err, httpx.HTTPStatusError):
            return Failure(str(err.response.status_code), str(err))
        return None


class KServeGrpc:
    name = "kserve.InferenceGRPCClient"
    over_grpc = True

    def __init__(self, http_url: str, grpc_url: str):
        self.url = grpc_url

    def _run(self, call):
        async def go():
            async with InferenceGRPCClient(self.url) as client:
                return await call(client)

        return asyncio.run(go())

    def live(self) -> bool:
        return self._run(lambda c: c.is_server_live())

    def ready(self) -> bool:
        return self._run(lambda c: c.is_server_ready())

    def model_ready(self, model: str) -> bool:
        return self._run(lambda c: c.is_model_ready(model))

    def infer(self, model: str, tensors: list, version: str = "") -> dict:
        assert version == "", "InferenceGRPCClient.infer takes the version inside the request only"
        request = _kserve_request(model, tensors)
        return _kserve_outputs(self._run(lambda c: c.infer(request)))

    @staticmethod
    def failure(err: BaseException) -> Failure | None:
        if isinstance(err, grpc.RpcError):
            return Failure(err.code().name, err.details() or "")
        return None


CLIENTS = [KServeRest, KServeGrpc]
