#!/usr/bin/env python3
"""Side-by-side pictures for docs/GALLERY.md: original, attacked, and the attacked image
purified by JPEG-23, the whole-image VAE and the patch VAE, with the service's predictions.

Everything is computed by a running VAEGuard (start it with scripts/make-figures.sh, which
calls this script) through its public API:

* MNIST and CIFAR-10: `POST /v1/attack` (white-box FGSM on the bare classifier, labels = its
  own prediction, then purified: the paper's oblivious setting) once per purifier with
  `seed=1`, so the pictures are reproducible.
* A larger image (a CIFAR-10 test image upscaled 8x to 256x256 with bicubic interpolation;
  no larger labelled images are available offline): the service area-downsamples images
  of another size to the classifier's 32x32, so an FGSM perturbation computed at 32x32 and
  repeated over each 8x8 block passes through the downsampling unchanged. That attacked
  256x256 image is then purified at full size with `POST /v1/purify` and classified.

Needs numpy and Pillow (only for the large-image arithmetic and the nearest-neighbour
enlargement that makes 28x28 pictures visible).

    scripts/make-figures.py --base http://127.0.0.1:8080 [--out docs/figures]
"""
import argparse
import base64
import io
import json
import os
import urllib.request

import numpy as np
from PIL import Image

PURIFIERS = [("jpeg", "JPEG-23", "&quality=23"), ("vae", "VAE", ""), ("patch-vae", "patch VAE", "")]


def call(base, path, body, content_type="image/png", accept=None):
    req = urllib.request.Request(base + path, data=body, method="POST", headers={"Content-Type": content_type})
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read()


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.read()


def png_bytes(img):
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save(img, out, name, scale):
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    img.save(os.path.join(out, name))
    return name


def eps_label(eps):
    """8/255 rather than 0.0313725 when ε is a whole number of 8-bit levels."""
    levels = eps * 255
    return f"{round(levels)}/255" if abs(levels - round(levels)) < 1e-6 and eps < 0.2 else f"{eps:g}"


def top1(predictions):
    p = predictions[0]
    return f"{p['label']} ({p['confidence'] * 100:.0f} %)"


def attacked_row(base, out, sample, model, eps, scale):
    """One row from /v1/attack: original, adversarial, then each purifier's output."""
    original = get(base, f"/demo/samples/{sample}")
    stem = sample.rsplit(".", 1)[0]
    cells, first = [], None
    for purifier, title, extra in PURIFIERS:
        q = f"/v1/attack?model={model}&attack=fgsm&eps={eps}&purifier={purifier}&seed=1{extra}"
        reply = json.loads(call(base, q, original))
        if first is None:
            first = reply
            for key, label in (("original", "original"), ("adversarial", f"FGSM ε={eps_label(eps)}")):
                img = Image.open(io.BytesIO(base64.b64decode(reply[key]["image"])))
                cells.append((label, save(img, out, f"{stem}-{key}.png", scale), top1(reply[key]["predictions"]),
                              reply[key]["reconstruction_error"]))
        img = Image.open(io.BytesIO(base64.b64decode(reply["purified"]["image"])))
        cells.append((title, save(img, out, f"{stem}-{purifier}.png", scale), top1(reply["purified"]["predictions"]),
                      reply["purified"]["reconstruction_error"]))
    return cells, first["attack"]


def large_row(base, out, sample, model, eps, factor):
    """The larger image: attack at the classifier's size through the service's area downsampling."""
    small = Image.open(io.BytesIO(get(base, f"/demo/samples/{sample}"))).convert("RGB")
    large = small.resize((small.width * factor, small.height * factor), Image.BICUBIC)
    x = np.asarray(large, dtype=np.float64) / 255
    down = x.reshape(small.height, factor, small.width, factor, 3).mean(axis=(1, 3))
    down_img = Image.fromarray(np.round(down * 255).astype(np.uint8))
    reply = json.loads(call(base, f"/v1/attack?model={model}&attack=fgsm&eps={eps}&purifier=none", png_bytes(down_img)))
    adv_small = np.asarray(Image.open(io.BytesIO(base64.b64decode(reply["adversarial"]["image"]))).convert("RGB"),
                           dtype=np.float64) / 255
    delta = np.clip(adv_small - down, -eps, eps)
    x_adv = np.clip(x + np.repeat(np.repeat(delta, factor, axis=0), factor, axis=1), 0, 1)
    adv = Image.fromarray(np.round(x_adv * 255).astype(np.uint8))
    stem = f"large-{sample.rsplit('.', 1)[0]}"

    def classify(img, purifier="none"):
        r = json.loads(call(base, f"/v1/classify?model={model}&purifier={purifier}&seed=1", png_bytes(img)))
        return r["results"][0] if "results" in r else r

    cells = []
    for label, img in (("original", large), (f"FGSM ε={eps_label(eps)} (through the downsampling)", adv)):
        r = classify(img)
        cells.append((label, save(img, out, f"{stem}-{'original' if label == 'original' else 'adversarial'}.png", 1),
                      top1(r["predictions"]), None))
    for purifier, title, extra in PURIFIERS:
        purified = Image.open(io.BytesIO(call(base, f"/v1/purify?model={model}&purifier={purifier}&seed=1{extra}",
                                              png_bytes(adv)))).convert("RGB")
        r = classify(purified)
        cells.append((title, save(purified, out, f"{stem}-{purifier}.png", 1), top1(r["predictions"]), None))
    return cells, {"linf": float(np.abs(x_adv - x).max()), "size": f"{large.width}x{large.height}"}


def table(cells, width):
    head = "| " + " | ".join(c[0] for c in cells) + " |"
    rule = "|" + "---|" * len(cells)
    pics = "| " + " | ".join(f'<img src="figures/{c[1]}" width="{width}">' for c in cells) + " |"
    preds = "| " + " | ".join(c[2] for c in cells) + " |"
    return "\n".join([head, rule, pics, preds])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", default="docs/figures")
    ap.add_argument("--markdown", default="docs/GALLERY.md")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    models = {m["name"] for m in json.loads(get(args.base, "/v1/models"))["models"]}
    parts = []
    mnist, info = attacked_row(args.base, args.out, "mnist-7.png", "mnist", 0.2, 4)
    parts.append(f"### MNIST (test image 0, FGSM ε = 0.2, measured L∞ {info['linf']:.3f})\n\n" + table(mnist, 112))
    if "cifar10" in models:
        for sample in ("cifar10-cat.png", "cifar10-ship.png"):
            row, info = attacked_row(args.base, args.out, sample, "cifar10", 8 / 255, 4)
            parts.append(f"### CIFAR-10 ({sample}, FGSM ε = 8/255, measured L∞ {info['linf']:.3f})\n\n" + table(row, 128))
        row, info = large_row(args.base, args.out, "cifar10-ship.png", "cifar10", 8 / 255, 8)
        parts.append(f"### A larger image ({info['size']}, FGSM ε = 8/255 through the downsampling, "
                     f"measured L∞ {info['linf']:.3f})\n\n" + table(row, 160))
    else:
        parts.append("(cifar10 is not loaded: CIFAR-10 and large-image rows skipped)")
    intro = """# Gallery: what the purifiers do to an attacked image

Generated by `scripts/make-figures.sh` (do not edit by hand) from the shipped models through the
service's own API: `POST /v1/attack` attacks the bare classifier white-box with FGSM (labels = its
own prediction; the paper's *oblivious* threat model), then purifies the adversarial image;
`seed=1` makes every picture reproducible. Each column shows an image and the top-1 label the
classifier gives it (with its confidence). Small images are enlarged 4x with nearest-neighbour
pixels so that the perturbation stays visible. How often each purifier wins over many images is
in [RESULTS.md](RESULTS.md); this page shows what the numbers look like.
"""
    with open(args.markdown, "w") as f:
        f.write(intro + "\n" + "\n\n".join(parts) + "\n")
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
