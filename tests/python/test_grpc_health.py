"""gRPC health as Kubernetes and load balancers ask it: grpcio's own grpc.health.v1 client
(grpcio-health-checking), the service the kubelet's gRPC probe speaks.

The server as a whole ("") answers SERVING while it lives; inference.GRPCInferenceService answers
SERVING while the gateway is ready (docs/grpc.md); a service it does not know is NOT_FOUND.
"""

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc


@pytest.fixture()
def health(grpc_url):
    with grpc.insecure_channel(grpc_url) as channel:
        yield health_pb2_grpc.HealthStub(channel)


@pytest.mark.parametrize("service", ["", "inference.GRPCInferenceService"])
def test_check_answers_serving(health, service):
    answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_unknown_service_is_not_found(health):
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_watch_sends_the_current_status_first(health):
    stream = health.Watch(health_pb2.HealthCheckRequest(service="inference.GRPCInferenceService"), timeout=10)
    try:
        first = next(stream)
        assert first.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        stream.cancel()
