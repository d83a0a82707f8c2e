"""The example replies in docs/API.md, made by the running server so they cannot go stale.

Each fenced JSON block that follows a `<!-- example: NAME -->` marker in docs/API.md is the
reply to the request EXAMPLES[NAME] describes (seeded, so the numbers are reproducible).
  .build/py/bin/python Tests/clients/doc_examples.py --write   # rewrite the blocks from a fresh server
Tests/clients/test_docs.py checks them against the server on every `make test`, ignoring only
what differs per request (`request_id`, `timings`).
"""
import json
import pathlib
import re
import struct
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
API_MD = ROOT / "docs/API.md"
VOLATILE = {"request_id", "timings"}
# Base64 PNGs, shown shortened.
SHORTENED = {"image"}


def gray_png_pixels(path):
    """The pixels of an 8-bit grayscale, non-interlaced PNG (docs/examples/digit.png), row-major."""
    data = pathlib.Path(path).read_bytes()
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour == 0, "8-bit grayscale only"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, rows, prev = zlib.decompress(idat), [], [0] * width
    for y in range(height):
        f, line = raw[y * (width + 1)], list(raw[y * (width + 1) + 1:(y + 1) * (width + 1)])
        for x in range(width):
            a, b, c = (line[x - 1] if x else 0), prev[x], (prev[x - 1] if x else 0)
            line[x] = (line[x] + [0, a, b, (a + b) // 2, paeth(a, b, c)][f]) & 0xFF
        rows.extend(line)
        prev = line
    return rows


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def digit(server=None):
    return (ROOT / "docs/examples/digit.png").read_bytes()


def sample(server, name):
    """A demo sample (`digit7.png` and `digit2.png` in docs/API.md are mnist-7.png and mnist-2.png)."""
    return server.get(f"/demo/samples/{name}")[2]


def multipart(server):
    body = b""
    for filename, name in [("digit7.png", "mnist-7.png"), ("digit2.png", "mnist-2.png")]:
        body += (b"--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"" + filename.encode()
                 + b"\"\r\nContent-Type: image/png\r\n\r\n" + sample(server, name) + b"\r\n")
    return body + b"--XyZ--\r\n"


def infer_body(server=None, shape=(1, 28, 28, 1)):
    pixels = gray_png_pixels(ROOT / "docs/examples/digit.png")
    return json.dumps({"id": "req-42", "inputs": [{"name": "input", "datatype": "UINT8", "shape": list(shape),
                                                   "data": pixels if shape == (1, 28, 28, 1) else pixels[:9]}],
                       "parameters": {"purifier": "jpeg", "seed": 7}}).encode()


# name -> (method, path, body factory(server) or None, headers)
EXAMPLES = {
    "v1-models": ("GET", "/v1/models", None, {}),
    "v1-classify": ("POST", "/v1/classify?purifier=jpeg&top_k=3&seed=1", digit, {"Content-Type": "image/png"}),
    "v1-classify-batch": ("POST", "/v1/classify?purifier=none&top_k=1", multipart,
                          {"Content-Type": "multipart/form-data; boundary=XyZ"}),
    "v1-attack": ("POST", "/v1/attack?attack=pgd&eps=0.3&steps=40&purifier=jpeg&seed=1",
                  lambda server: sample(server, "mnist-7.png"), {"Content-Type": "image/png"}),
    "v2-metadata": ("GET", "/v2/models/mnist", None, {}),
    "v2-ready": ("GET", "/v2/models/mnist/versions/1.0.0/ready", None, {}),
    "v2-infer": ("POST", "/v2/models/mnist/infer", infer_body, {"Content-Type": "application/json"}),
    "v2-error": ("POST", "/v2/models/mnist/infer", lambda server: infer_body(server, (1, 3, 3, 1)),
                 {"Content-Type": "application/json"}),
}


def reply(server, name):
    method, path, body, headers = EXAMPLES[name]
    _, _, data = server.request(method, path, body(server) if body else None, headers)
    return json.loads(data)


def render(value, indent=0):
    """Pretty JSON as docs/API.md writes it: sorted keys, two spaces, arrays of scalars on one line."""
    pad = "  " * indent
    scalars = (str, int, float, bool, type(None))
    if isinstance(value, dict) and indent and len(value) <= 3 and all(isinstance(v, scalars) for v in value.values()):
        return json.dumps(dict(sorted(value.items())), ensure_ascii=False, separators=(", ", ": "))  # a prediction
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f'{pad}  {json.dumps(k)}: {render(v, indent + 1)}' for k, v in sorted(value.items())]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, str) and indent and value.startswith("iVBOR") and len(value) > 40:
        return json.dumps(value[:28] + "…", ensure_ascii=False)
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(pad + "  " + render(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def blocks(text):
    """{name: (start, end, json text)} of each marked block's JSON between its fences."""
    out = {}
    for m in re.finditer(r"<!-- example: ([\w-]+) -->\n(?:.*\n)*?```json\n((?:.*\n)*?)```", text):
        out[m.group(1)] = (m.start(2), m.end(2), m.group(2))
    return out


def masked(value):
    if isinstance(value, dict):
        return {k: ("…" if k in VOLATILE or k in SHORTENED else masked(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def close(doc, live):
    """Equal, numbers within 0.1 % (another CPU's BLAS kernels round differently)."""
    if isinstance(doc, dict) and isinstance(live, dict):
        return doc.keys() == live.keys() and all(close(doc[k], live[k]) for k in doc)
    if isinstance(doc, list) and isinstance(live, list):
        return len(doc) == len(live) and all(close(a, b) for a, b in zip(doc, live))
    if isinstance(doc, float) or isinstance(live, float):
        if isinstance(doc, bool) or isinstance(live, bool):
            return doc == live
        return abs(doc - live) <= 1e-3 * max(abs(doc), abs(live)) + 1e-9
    return doc == live


def stale(server):
    """Names of the documented examples that the server no longer answers that way."""
    text = API_MD.read_text()
    found = blocks(text)
    missing = set(EXAMPLES) - set(found)
    assert not missing, f"docs/API.md lacks example markers for {sorted(missing)}"
    return [n for n, (_, _, doc) in found.items() if not close(masked(json.loads(doc)), masked(reply(server, n)))]


def write(server):
    text = API_MD.read_text()
    for name, (start, end, _) in sorted(blocks(text).items(), key=lambda kv: -kv[1][0]):
        text = text[:start] + render(reply(server, name)) + "\n" + text[end:]
    API_MD.write_text(text)


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from vaeguard_server import Server
    s = Server()
    try:
        if "--write" in sys.argv:
            write(s)
            print("docs/API.md examples rewritten from the server")
        else:
            names = stale(s)
            print("stale: " + ", ".join(names) if names else "docs/API.md examples match the server")
            sys.exit(1 if names else 0)
    finally:
        s.stop()
