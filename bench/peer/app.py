"""A PyTorch peer of VAEGuard's `POST /v1/classify`, for load comparisons (scripts/load.sh --peer).

Same contract as the Swift service for what the load test sends: a raw PNG/JPEG body, query
parameters `model`, `purifier` (`none`, `jpeg`, `vae`, `patch-vae`), `samples`, `seed`, `top_k`,
`sampling`, `stride`, `quality`, `ensemble`; a JSON reply with `predictions` = [{index, label, confidence}], the reconstruction error and
timings. Same networks, layer for layer, as Sources/Models/PaperArchitectures.swift (MNIST and
CIFAR-10 classifiers and whole-image VAEs, and the patch VAEs that config/vaeguard.json
configures: gray 8×8 latent 64 and RGB 8×8 latent 128, both width 2), with **random
weights**: only speed is compared, the predictions mean nothing.

Same pipeline per image: decode (Pillow) → convert to the model's channels (alpha over black)
→ resize to the model input (area averaging when shrinking, bilinear when enlarging) →
purify (encode, z = μ + σ·ε with ε ~ N(0, I) clipped to ±5, decode; the patch VAE on
overlapping 8×8 patches at stride 4, averaged) → softmax(classifier). No micro-batching:
each request runs on its own (VAEGuard batches compatible concurrent requests).

Run: uvicorn, one worker process per core by default (bench/peer/run.sh). Environment:
  PEER_WORKERS            uvicorn worker processes (default: cores)
  PEER_TORCH_THREADS      torch intra-op threads per process (default: cores / PEER_WORKERS, at least 1)
  PEER_INFER_CONCURRENCY  requests inferring at once per process (default 1: the torch
                          threads own the cores; more oversubscribes them)
  OMP_WAIT_POLICY         default PASSIVE here (see below); ACTIVE is libgomp's own default
"""
import asyncio
import io
import math
import os
import time

_workers = max(1, int(os.environ.get("PEER_WORKERS", "0")) or (os.cpu_count() or 1))
_threads = int(os.environ.get("PEER_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 1) // _workers)
os.environ.setdefault("OMP_NUM_THREADS", str(_threads))
os.environ.setdefault("MKL_NUM_THREADS", str(_threads))
# Idle OpenMP threads sleep instead of spinning. With spinning (libgomp's default) and the
# cores shared with anything else, every parallel region waits for descheduled spinners: on a
# busy 2-core machine a 2-thread MNIST VAE + classifier took ~250 ms instead of ~3 ms.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from PIL import Image  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402

torch.set_num_threads(_threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
torch.manual_seed(0)

NOISE_CLIP = 5.0


# MARK: - The networks (NCHW here; VAEGuard is NHWC: same layers, same sizes)

def mnist_classifier():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Dropout(0.4),
        nn.Linear(1024, 10))


def cifar_classifier():
    layers, channels = [], 3
    for filters, drop in [(32, 0.2), (64, 0.3), (128, 0.4)]:
        for _ in range(2):
            # VAEGuard's momentum 0.9 (Keras convention) is torch's momentum 0.1; inference uses running stats.
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.BatchNorm2d(filters, eps=1e-3, momentum=0.1), nn.ReLU()]
            channels = filters
        layers += [nn.MaxPool2d(2), nn.Dropout(drop)]
    layers += [nn.Flatten(), nn.Linear(4 * 4 * 128, 10)]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """encoder → (μ, log σ²) dense heads → z = μ + exp(logvar/2)·ε → decoder."""

    def __init__(self, encoder, features, latent, decoder, input_shape):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.mean = nn.Linear(features, latent)
        self.log_variance = nn.Linear(features, latent)
        self.input_shape = input_shape      # (H, W, C) as VAEGuard reports it
        self.latent = latent

    def reconstruct(self, x, sampling="sample", generator=None):
        h = self.encoder(x)
        mu = self.mean(h)
        if sampling == "mean":
            return self.decoder(mu)
        lv = self.log_variance(h)
        eps = torch.randn(mu.shape, generator=generator).clamp_(-NOISE_CLIP, NOISE_CLIP)
        return self.decoder(mu + torch.exp(0.5 * lv) * eps)


def mnist_vae(latent=256):
    enc = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
    dec = nn.Sequential(nn.Linear(latent, 392), nn.ReLU(), nn.Unflatten(1, (8, 7, 7)),
                        nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid())
    return VAE(enc, 392, latent, dec, (28, 28, 1))


def cifar_vae(latent=1024):
    enc = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(32, 16, 3, padding=1), nn.ReLU(), nn.Flatten())
    dec = nn.Sequential(nn.Linear(latent, 4096), nn.ReLU(), nn.Unflatten(1, (16, 16, 16)),
                        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(64, 3, 3, padding=1), nn.Sigmoid())
    return VAE(enc, 4096, latent, dec, (32, 32, 3))


def patch_vae(p, c, latent, width=1):
    f1, f2, f3, h = 128 // width, 64 // width, 32 // width, p // 2
    enc = nn.Sequential(nn.Conv2d(c, f1, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(f1, f2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(f2, f3, 3, padding=1), nn.ReLU(), nn.Flatten())
    # Stride-1 "same" transposed convolutions, as VAEGuard's convTranspose2d.
    dec = nn.Sequential(nn.Linear(latent, h * h * f3), nn.ReLU(), nn.Unflatten(1, (f3, h, h)),
                        nn.ConvTranspose2d(f3, f3, 3, padding=1), nn.ReLU(),
                        nn.ConvTranspose2d(f3, f2, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.ConvTranspose2d(f2, f1, 3, padding=1), nn.ReLU(),
                        nn.ConvTranspose2d(f1, c, 3, padding=1), nn.Sigmoid())
    return VAE(enc, h * h * f3, latent, dec, (p, p, c))


# MARK: - Purifiers

def patch_starts(length, patch, stride):
    """VAEGuard's PatchGrid: starts 0, s, 2s, … while inside, the last one snapped to the border."""
    if length <= patch:
        return [0]
    starts = list(range(0, length - patch, stride))
    starts.append(length - patch)
    return starts


_grids = {}


def patch_grid(h, w, p, stride):
    key = (h, w, p, stride)
    if key not in _grids:
        rows = torch.tensor(patch_starts(h, p, stride))[:, None] + torch.arange(p)   # [nr, p]
        cols = torch.tensor(patch_starts(w, p, stride))[:, None] + torch.arange(p)   # [nc, p]
        r = rows[:, None, :, None].expand(len(rows), len(cols), p, p)
        c = cols[None, :, None, :].expand(len(rows), len(cols), p, p)
        coverage = torch.zeros(max(h, p), max(w, p)).index_put_((r, c), torch.ones(r.shape), accumulate=True)
        _grids[key] = (r, c, coverage)
    return _grids[key]


def purify_patches(vae, x, stride, sampling, generator):
    """x [N, C, H, W] → every p×p patch (PatchGrid layout) through the VAE in one batch → overlaps averaged."""
    p = vae.input_shape[0]
    n, ch, h, w = x.shape
    hp, wp = max(h, p), max(w, p)
    if (hp, wp) != (h, w):
        x = nn.functional.pad(x, (0, wp - w, 0, hp - h), mode="replicate")
    r, c, coverage = patch_grid(h, w, p, stride)
    nr, nc = r.shape[0], r.shape[1]
    patches = x[:, :, r, c]                                           # [N, C, nr, nc, p, p]
    batch = patches.permute(0, 2, 3, 1, 4, 5).reshape(n * nr * nc, ch, p, p)
    out = vae.reconstruct(batch, sampling, generator)
    out = out.reshape(n, nr, nc, ch, p, p).permute(0, 3, 1, 2, 4, 5)  # [N, C, nr, nc, p, p]
    total = torch.zeros(n * ch, hp, wp)
    planes = torch.arange(n * ch)[:, None, None, None, None]
    total.index_put_((planes, r, c), out.reshape(n * ch, nr, nc, p, p), accumulate=True)
    return (total / coverage).reshape(n, ch, hp, wp)[:, :, :h, :w]


# MARK: - Models

class Served:
    def __init__(self, name, labels, classifier, vae, patch, threshold):
        self.name, self.labels, self.threshold = name, labels, threshold
        self.classifier = classifier.eval()
        self.vae = vae.eval()
        self.patch = patch.eval()
        self.input_shape = vae.input_shape
        self.purifiers = ["none", "jpeg", "vae", "patch-vae"]


MODELS = {
    "mnist": Served("mnist", [str(i) for i in range(10)], mnist_classifier(), mnist_vae(),
                    patch_vae(8, 1, 64, width=2), 0.009),
    "cifar10": Served("cifar10", ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
                      cifar_classifier(), cifar_vae(), patch_vae(8, 3, 128, width=2), 0.01),
}
DEFAULT_MODEL = "mnist"
KNOWN_PARAMS = {"model", "purifier", "samples", "seed", "top_k", "sampling", "stride", "quality", "ensemble"}


def to_input(body, model):
    """Pillow decode → model channels (alpha composited on black) → model size → [1, C, H, W] in [0, 1]."""
    image = Image.open(io.BytesIO(body))
    if image.format not in ("PNG", "JPEG"):
        raise ValueError(415, f"unsupported image format: {image.format} (PNG and JPEG are supported)")
    image.load()
    h, w, c = model.input_shape
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        image = Image.alpha_composite(black, rgba)
    image = image.convert("L" if c == 1 else "RGB")
    if image.size != (w, h):
        shrinking = image.size[0] >= w and image.size[1] >= h
        image = image.resize((w, h), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    t = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).float().div_(255)
    return t.reshape(1, h, w, c).permute(0, 3, 1, 2).contiguous()


def jpeg_roundtrip(x, quality):
    """[1, C, H, W] → 8-bit image → JPEG at `quality` → back (Pillow's default 4:2:0 subsampling)."""
    c = x.shape[1]
    pixels = (x[0].permute(1, 2, 0).clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    image = Image.fromarray(pixels[:, :, 0] if c == 1 else pixels, "L" if c == 1 else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    back = Image.open(io.BytesIO(buffer.getvalue())).convert(image.mode)
    t = torch.frombuffer(bytearray(back.tobytes()), dtype=torch.uint8).float().div_(255)
    return t.reshape(1, x.shape[2], x.shape[3], c).permute(0, 3, 1, 2)


def infer(body, model, purifier, samples, seed, sampling, stride, top_k, quality, ensemble):
    t0 = time.perf_counter()
    x = to_input(body, model)
    t1 = time.perf_counter()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    probs = None
    with torch.inference_mode():
        if purifier == "none":
            purified = x
        else:
            acc = None
            for _ in range(samples):
                if purifier == "jpeg":
                    y = jpeg_roundtrip(x, quality)
                elif purifier == "vae":
                    y = model.vae.reconstruct(x, sampling, generator)
                else:
                    y = purify_patches(model.patch, x, stride, sampling, generator)
                acc = y if acc is None else acc + y
                if ensemble == "probabilities" and samples > 1:
                    p = torch.softmax(model.classifier(y), dim=1)[0]
                    probs = p if probs is None else probs + p
            purified = acc / samples
        t2 = time.perf_counter()
        probs = probs / samples if probs is not None else torch.softmax(model.classifier(purified), dim=1)[0]
        error = float(((x - purified) ** 2).mean())
    t3 = time.perf_counter()
    conf, idx = torch.topk(probs, min(top_k, probs.numel()))
    predictions = [{"confidence": float(cv), "index": int(i), "label": model.labels[int(i)]} for cv, i in zip(conf, idx)]
    return predictions, error, (t1 - t0, t2 - t1, t3 - t2)


# MARK: - HTTP

app = FastAPI(title="vaeguard-peer", docs_url=None, redoc_url=None, openapi_url=None)
_gate = asyncio.Semaphore(max(1, int(os.environ.get("PEER_INFER_CONCURRENCY", "1"))))


def error(code, message):
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=code)


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


@app.get("/readyz")
async def readyz():
    return {"status": "ready"}


@app.get("/v1/models")
async def models():
    return {"default_model": DEFAULT_MODEL, "models": [
        {"name": m.name, "labels": m.labels, "input_shape": list(m.input_shape), "purifiers": m.purifiers,
         "default_purifier": "vae", "threshold": m.threshold, "layout": "NHWC", "version": "random-weights"}
        for m in MODELS.values()]}


@app.post("/v1/classify")
async def classify(request: Request):
    start = time.perf_counter()
    q = request.query_params
    unknown = set(q.keys()) - KNOWN_PARAMS
    if unknown:
        return error(400, f"unknown query parameter '{sorted(unknown)[0]}'")
    name = q.get("model", DEFAULT_MODEL)
    model = MODELS.get(name)
    if model is None:
        return error(404, f"unknown model '{name}'; available: {', '.join(MODELS)}")
    purifier = q.get("purifier", "vae")
    if purifier not in model.purifiers:
        return error(400, f"purifier must be one of {', '.join(model.purifiers)}, got '{purifier}'")
    try:
        samples = int(q.get("samples", "1"))
        top_k = int(q.get("top_k", "5"))
        seed = int(q["seed"]) if "seed" in q else None
        stride = int(q.get("stride", str(model.patch.input_shape[0] // 2)))
        sampling = q.get("sampling", "sample")
        ensemble = q.get("ensemble", "reconstructions")
        quality = int(q.get("quality", "23"))
        assert 1 <= samples <= 16 and 1 <= top_k <= 1000 and sampling in ("sample", "mean")
        assert 1 <= stride <= model.patch.input_shape[0] and 1 <= quality <= 100
        assert ensemble in ("reconstructions", "probabilities")
    except (ValueError, AssertionError):
        return error(400, "bad query parameter")
    body = await request.body()
    if not body:
        return error(400, "empty body: send a PNG or JPEG image as the body")
    queued = time.perf_counter()
    async with _gate:
        started = time.perf_counter()
        try:
            predictions, err, (decode, purify, cls) = await run_in_threadpool(
                infer, body, model, purifier, samples, seed, sampling, stride, top_k, quality, ensemble)
        except ValueError as e:
            if len(e.args) == 2 and isinstance(e.args[0], int):
                return error(e.args[0], e.args[1])
            return error(400, f"corrupt image: {e}")
        except OSError as e:       # Pillow: cannot identify / truncated image
            return error(415 if "identify" in str(e) else 400, f"cannot decode image: {e}")
    ms = lambda s: s * 1000  # noqa: E731
    threshold = model.threshold
    return {
        "model": {"name": model.name, "version": "random-weights"},
        "predictions": predictions,
        "purifier": {"name": purifier, "settings": {"samples": str(samples), "seed": str(seed) if seed is not None else "fresh"}},
        "reconstruction_error": err if math.isfinite(err) else None,
        "suspected_adversarial": err > threshold,
        "threshold": threshold,
        "timings": {"decode_ms": ms(decode), "queue_ms": ms(started - queued), "purify_ms": ms(purify),
                    "classify_ms": ms(cls), "total_ms": ms(time.perf_counter() - start)},
    }
