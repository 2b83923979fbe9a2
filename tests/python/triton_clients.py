"""tritonclient's HTTP and gRPC clients as adapters (see oip_clients.py)."""

import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from oip_clients import Failure, Output, to_numpy


def _inputs(module, tensors: list) -> list:
    """The module's InferInput for each tensor, its data set with set_data_from_numpy's default."""
    inputs = []
    for tensor in tensors:
        array = to_numpy(tensor)
        given = module.InferInput(tensor["name"], list(array.shape), tensor["datatype"])
        given.set_data_from_numpy(array)
        inputs.append(given)
    return inputs


class TritonHttp:
    name = "tritonclient.http"
    over_grpc = False

    def __init__(self, http_url: str, grpc_url: str):
        self.client = triton_http.InferenceServerClient(http_url)

    def live(self) -> bool:
        return self.client.is_server_live()

    def ready(self) -> bool:
        return self.client.is_server_ready()

    def model_ready(self, model: str) -> bool:
        return self.client.is_model_ready(model)

    def infer(self, model: str, tensors: list, version: str = "") -> dict:
        result = self.client.infer(model, _inputs(triton_http, tensors), model_version=version)
        return {o["name"]: Output(o["datatype"], o["shape"], result.as_numpy(o["name"])) for o in result.get_response()["outputs"]}

    @staticmethod
    def failure(err: BaseException) -> Failure | None:
        if isinstance(err, InferenceServerException):
            return Failure(str(err.status()), err.message())
        return None


class TritonGrpc(TritonHttp):
    name = "tritonclient.grpc"
    over_grpc = True

    def __init__(self, http_url: str, grpc_url: str):
        self.client = triton_grpc.InferenceServerClient(grpc_url)

    def infer(self, model: str, tensors: list, version: str = "") -> dict:
        result = self.client.infer(model, _inputs(triton_grpc, tensors), model_version=version)
        return {o.name: Output(o.datatype, list(o.shape), result.as_numpy(o.name)) for o in result.get_response().outputs}

    @staticmethod
    def failure(err: BaseException) -> Failure | None:
        if isinstance(err, InferenceServerException):
            # tritonclient.grpc reports the status as "StatusCode.NOT_FOUND"
            return Failure(str(err.status()).removeprefix("StatusCode."), err.message())
        return None


CLIENTS = [TritonHttp, TritonGrpc]
