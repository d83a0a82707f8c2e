"""The documentation's example replies are what the running server answers (issue 17)."""
import json
import re

import yaml

import doc_examples
from vaeguard_server import ROOT


def test_api_md_examples_match_the_server(server):
    stale = doc_examples.stale(server)
    assert not stale, f"docs/API.md examples {stale} are stale: run .build/py/bin/python Tests/clients/doc_examples.py --write"


def test_first_five_minutes_model_listing_matches_the_server(server):
    """The transcript's model listing (name, version, shape, purifiers) is today's."""
    text = (ROOT / "docs/FIRST-FIVE-MINUTES.md").read_text()
    block = re.search(r"Which models are there\?\n\n```console\n\$ [^\n]*\n((?:[^`][^\n]*\n)*)```", text)
    assert block, "model listing block not found in docs/FIRST-FIVE-MINUTES.md"
    models = json.loads(server.get("/v1/models")[2])["models"]
    expected = "".join(f"{m['name']} {m['version']} {m['input_shape']} {m['purifiers']}\n" for m in models)
    assert block.group(1) == expected
    for name, version in re.findall(r'"model":\{"name":"(\w+)","version":"([\d.]+)"\}', text):
        assert version == next(m["version"] for m in models if m["name"] == name), name


def test_openapi_infer_example_is_accepted(server):
    """The spec's own infer example gets 200 (it used to send 3 values for [1, 28, 28, 1])."""
    spec = yaml.safe_load((ROOT / "docs/openapi.yaml").read_text())
    for path in ["/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"]:
        body = spec["paths"][path]["post"]["requestBody"]
        if "$ref" in body:  # "#/components/requestBodies/<name>": both infer operations share one
            body = spec["components"]["requestBodies"][body["$ref"].rsplit("/", 1)[-1]]
        example = body["content"]["application/json"]["example"]
        url = path.replace("{name}", "mnist").replace("{version}", "1.0.0")
        status, _, body = server.post(url, json.dumps(example).encode(), {"Content-Type": "application/json"})
        assert status == 200, body
        assert [o["name"] for o in json.loads(body)["outputs"]] == ["probabilities"]
