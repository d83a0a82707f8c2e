"""tritonclient[http], used the way its documentation shows, against VAEGuard."""
import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

MODELS = ["mnist", "cifar10"]


@pytest.fixture(scope="module")
def client(server):
    c = httpclient.InferenceServerClient(url=server.host)
    yield c
    c.close()


def test_health(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    for m in MODELS:
        assert client.is_model_ready(m)
    assert not client.is_model_ready("no-such-model")


@pytest.mark.parametrize("model", MODELS)
def test_metadata_and_versioned_routes(client, model):
    server = client.get_server_metadata()
    assert server["name"] == "vaeguard"
    assert "binary_tensor_data" in server["extensions"]
    meta = client.get_model_metadata(model)
    version = meta["versions"][0]
    assert meta["name"] == model
    assert [o["name"] for o in meta["outputs"]] == ["probabilities", "reconstruction_error", "suspected_adversarial"]
    assert client.is_model_ready(model, model_version=version)
    assert client.get_model_metadata(model, model_version=version) == meta
    assert not client.is_model_ready(model, model_version="0.0.0-none")


def infer(client, model, pixels, binary, outputs, seed=7, version=""):
    inp = httpclient.InferInput("input", list(pixels.shape), "UINT8")
    inp.set_data_from_numpy(pixels, binary_data=binary)
    requested = None if outputs is None else [httpclient.InferRequestedOutput(n, binary_data=binary) for n in outputs]
    return client.infer(model, [inp], outputs=requested, parameters={"seed": seed}, model_version=version)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("outputs", [None, ["probabilities", "suspected_adversarial"]])
def test_infer_matches_v1_classify(server, client, images, model, binary, outputs):
    pixels, png = images[model]
    result = infer(client, model, pixels, binary, outputs)
    probabilities = result.as_numpy("probabilities")
    labels = client.get_model_metadata(model)["parameters"]["labels"].split(",")
    assert probabilities.shape == (1, len(labels))
    reference = server.classify(model, png, seed=7)
    assert int(np.argmax(probabilities[0])) == reference["predictions"][0]["index"]
    expected = np.zeros(len(labels), dtype=np.float32)
    for p in reference["predictions"]:
        expected[p["index"]] = p["confidence"]
    np.testing.assert_allclose(probabilities[0], expected, atol=1e-5)
    flag = result.as_numpy("suspected_adversarial")
    assert flag.dtype == np.bool_ and flag.shape == (1,)
    assert bool(flag[0]) == reference["suspected_adversarial"]
    if outputs is None:
        assert result.as_numpy("reconstruction_error")[0] == pytest.approx(reference["reconstruction_error"], rel=1e-4)
    else:
        assert result.as_numpy("reconstruction_error") is None


def test_versioned_infer(client, images):
    version = client.get_model_metadata("mnist")["versions"][0]
    result = infer(client, "mnist", images["mnist"][0], True, None, version=version)
    assert result.get_response()["model_version"] == version


def test_error_prints_cleanly(client):
    wrong = np.zeros((1, 5, 5, 1), dtype=np.uint8)
    with pytest.raises(InferenceServerException) as caught:
        infer(client, "mnist", wrong, True, None)
    text = str(caught.value)
    assert "does not fit model 'mnist'" in text
    assert caught.value.status() == "400"
    with pytest.raises(InferenceServerException) as missing:
        client.get_model_metadata("no-such-model")
    assert "unknown model 'no-such-model'" in str(missing.value)
