"""KServe's Python InferenceRESTClient (v2 protocol) against VAEGuard, JSON and binary."""
import asyncio

import httpx
import numpy as np
import pytest
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

MODELS = ["mnist", "cifar10"]


def run(coroutine_factory):
    async def main():
        client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60))
        try:
            return await coroutine_factory(client)
        finally:
            await client.close()
    return asyncio.run(main())


def test_health(server):
    assert run(lambda c: c.is_server_live(server.base))
    assert run(lambda c: c.is_server_ready(server.base))
    for m in MODELS:
        assert run(lambda c: c.is_model_ready(server.base, m))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("outputs", [None, ["probabilities"]])
def test_infer_matches_v1_classify(server, images, model, binary, outputs):
    pixels, png = images[model]
    inp = InferInput("input", list(pixels.shape), "UINT8")
    inp.set_data_from_numpy(pixels, binary_data=binary)
    requested = None if outputs is None else [RequestedOutput(n, {"binary_data": binary}) for n in outputs]
    parameters = {"seed": 11}
    if binary and outputs is None:
        parameters["binary_data_output"] = True
    request = InferRequest(model_name=model, infer_inputs=[inp], parameters=parameters, request_outputs=requested)
    response = run(lambda c: c.infer(server.base, request, model_name=model))
    names = [o.name for o in response.outputs]
    assert names == (outputs or ["probabilities", "reconstruction_error", "suspected_adversarial"])
    probabilities = response.outputs[0].as_numpy()
    reference = server.classify(model, png, seed=11)
    assert int(np.argmax(probabilities.reshape(-1))) == reference["predictions"][0]["index"]
    assert response.parameters["purifier"] == reference["purifier"]["name"]


def test_error_message_is_the_servers(server, images):
    inp = InferInput("input", [1, 3, 3, 1], "UINT8")
    inp.set_data_from_numpy(np.zeros((1, 3, 3, 1), dtype=np.uint8), binary_data=False)
    request = InferRequest(model_name="mnist", infer_inputs=[inp])
    with pytest.raises(httpx.HTTPStatusError) as caught:
        run(lambda c: c.infer(server.base, request, model_name="mnist"))
    assert "does not fit model 'mnist'" in str(caught.value)
    assert caught.value.response.status_code == 400
