#!/usr/bin/env python3
"""Writes PyTorch reference fixtures for Tests/NeuralNetTests/PyTorchFixtureTests.swift.

Run by hand (not in CI), with PyTorch from PyPI in a private virtual environment outside
the repository:

    python3 -m venv /tmp/torchenv
    /tmp/torchenv/bin/pip install torch==2.5.1 safetensors numpy
    /tmp/torchenv/bin/python scripts/make-torch-fixtures.py

For each small network (seeded, so a rerun rewrites the same bytes) it writes into
Tests/NeuralNetTests/Fixtures/:

    NAME.json             our architecture JSON (ModelArchitecture, read by ModelFile.load)
    NAME.safetensors      the PyTorch weights converted to our layouts and names
    NAME.io.safetensors   input (NHWC, batch 2), output, input_grad (NHWC) and what the
                          fixed scalar loss needs: labels (classifiers, as F32), w and eps (VAEs),
                          plus the VAEs' mean and logvar.

The references (output, input_grad, mean, logvar) are computed by PyTorch in float64 from the
float32 weights and input, then rounded to float32, so they are the exact answers for the
stored float32 numbers up to one rounding.

Before writing, each converted model is also run by an independent NumPy NHWC interpreter of
the architecture JSON (forward only); the script stops if it disagrees with PyTorch, so a
conversion mistake shows up here rather than as a Swift test failure.

Weight conversion (PyTorch -> ours):
    Conv2d.weight           [Cout, Cin, kh, kw] -> [kh, kw, Cin, Cout]   permute(2, 3, 1, 0)
    ConvTranspose2d.weight  [Cin, Cout, kh, kw] -> [kh, kw, Cout, Cin]   permute(2, 3, 1, 0)
    Linear.weight           [out, in]           -> [in, out]             transpose
    Linear after Flatten:   the input rows are in torch's (C, H, W) order; ours are (H, W, C)
    Linear before Reshape:  the output columns (and bias) are (C, H, W) in torch; ours (H, W, C)
    BatchNorm2d             weight/bias/running_mean/running_var -> gamma/beta/running_mean/running_var
"""

import hashlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "NeuralNetTests", "Fixtures")
BATCH = 2


# --------------------------------------------------------------------------------------------
# Architecture description: our LayerSpec JSON and the matching torch module, built together.
# --------------------------------------------------------------------------------------------

class Net:
    """A chain of our layer specs plus the torch modules that implement them on NCHW data."""

    def __init__(self, input_shape):
        self.shape = list(input_shape)        # current NHWC item shape (H, W, C) or [features]
        self.specs = []                       # our LayerSpec dicts
        self.modules = []                     # torch modules (None for pure reshapes)
        self.kinds = []

    def _add(self, spec, module, kind):
        self.specs.append(spec)
        self.modules.append(module)
        self.kinds.append(kind)

    def conv(self, cout, k):
        h, w, cin = self.shape
        self._add({"type": "conv2d", "in": cin, "out": cout, "kernel": k},
                  nn.Conv2d(cin, cout, k, padding=(k - 1) // 2), "conv")
        self.shape = [h, w, cout]

    def convt(self, cout, k):
        h, w, cin = self.shape
        self._add({"type": "conv_transpose2d", "in": cin, "out": cout, "kernel": k},
                  nn.ConvTranspose2d(cin, cout, k, padding=(k - 1) // 2), "convt")
        self.shape = [h, w, cout]

    def bn(self, eps=1e-3, momentum=0.9):
        c = self.shape[-1]
        # torch's momentum is the weight of the new batch statistic: ours 0.9 == torch 0.1.
        self._add({"type": "batchnorm", "channels": c, "momentum": momentum, "epsilon": eps},
                  nn.BatchNorm2d(c, eps=eps, momentum=1 - momentum), "bn")

    def dense(self, out):
        (n,) = self.shape
        self._add({"type": "dense", "in": n, "out": out}, nn.Linear(n, out), "dense")
        self.shape = [out]

    def relu(self):
        self._add({"type": "relu"}, nn.ReLU(), "relu")

    def sigmoid(self):
        self._add({"type": "sigmoid"}, nn.Sigmoid(), "sigmoid")

    def maxpool(self):
        h, w, c = self.shape
        self._add({"type": "maxpool2"}, nn.MaxPool2d(2), "maxpool")
        self.shape = [h // 2, w // 2, c]

    def upsample(self):
        h, w, c = self.shape
        self._add({"type": "upsample2"}, nn.Upsample(scale_factor=2, mode="nearest"), "upsample")
        self.shape = [2 * h, 2 * w, c]

    def dropout(self, rate):
        self._add({"type": "dropout", "rate": rate}, nn.Dropout(rate), "dropout")

    def flatten(self):
        h, w, c = self.shape
        self._add({"type": "flatten"}, nn.Flatten(), ("flatten", (h, w, c)))
        self.shape = [h * w * c]

    def reshape(self, shape):
        h, w, c = shape
        assert self.shape == [h * w * c]
        # torch views the features as (C, H, W); ours as (H, W, C).
        self._add({"type": "reshape", "shape": [h, w, c]}, nn.Unflatten(1, (c, h, w)), ("reshape", (h, w, c)))
        self.shape = [h, w, c]

    def torch_module(self):
        return nn.Sequential(*self.modules)

    def export(self, prefix):
        """Our tensors for this chain: name -> float32 NumPy array in our layout."""
        elementwise = ("relu", "sigmoid", "dropout")
        out = {}
        pending_flatten = None   # (h, w, c) of a flatten whose dense layer has not come yet
        for i, (m, kind) in enumerate(zip(self.modules, self.kinds)):
            name = f"{prefix}.{i}"
            if isinstance(kind, tuple) and kind[0] == "flatten":
                pending_flatten = kind[1]
            elif kind in ("conv", "convt"):
                # Conv2d [Cout, Cin, kh, kw] and ConvTranspose2d [Cin, Cout, kh, kw] both become
                # [kh, kw, dim1, dim0]: HWIO for the conv, [k, k, Cout, Cin] for the transpose.
                assert pending_flatten is None
                out[f"{name}.weight"] = m.weight.detach().permute(2, 3, 1, 0).numpy()
                out[f"{name}.bias"] = m.bias.detach().numpy()
            elif kind == "bn":
                assert pending_flatten is None
                out[f"{name}.gamma"] = m.weight.detach().numpy()
                out[f"{name}.beta"] = m.bias.detach().numpy()
                out[f"{name}.running_mean"] = m.running_mean.detach().numpy()
                out[f"{name}.running_var"] = m.running_var.detach().numpy()
            elif kind == "dense":
                wt, b = m.weight.detach(), m.bias.detach()          # [out, in], [out]
                if pending_flatten is not None:                     # input rows: torch (C,H,W) -> ours (H,W,C)
                    h, w, c = pending_flatten
                    wt = wt.reshape(-1, c, h, w).permute(0, 2, 3, 1).reshape(wt.shape[0], -1)
                    pending_flatten = None
                j = i + 1
                while j < len(self.kinds) and self.kinds[j] in elementwise:
                    j += 1
                if j < len(self.kinds) and isinstance(self.kinds[j], tuple) and self.kinds[j][0] == "reshape":
                    h, w, c = self.kinds[j][1]                      # output columns: (C,H,W) -> (H,W,C)
                    wt = wt.reshape(c, h, w, -1).permute(1, 2, 0, 3).reshape(wt.shape[0], -1)
                    b = b.reshape(c, h, w).permute(1, 2, 0).reshape(-1)
                out[f"{name}.weight"] = wt.t().contiguous().numpy()  # [in, out]
                out[f"{name}.bias"] = b.contiguous().numpy()
            elif kind not in elementwise:
                assert pending_flatten is None, f"{kind} between flatten and dense"
        # An encoder ends in flatten: the VAE's dense heads after it need the same row permutation.
        self.trailing_flatten = pending_flatten
        return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def randomize_bn(net, gen):
    """Non-trivial BatchNorm parameters and running statistics."""
    for m in net.modules:
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.weight.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
                m.bias.copy_(torch.randn(c, generator=gen) * 0.3)
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.75 + 0.25)


# --------------------------------------------------------------------------------------------
# An independent NumPy NHWC interpreter of our architecture JSON (forward only, float64).
# --------------------------------------------------------------------------------------------

def np_forward(specs, prefix, tensors, x):
    x = x.astype(np.float64)
    for i, s in enumerate(specs):
        t = s["type"]
        p = f"{prefix}.{i}"
        if t in ("conv2d", "conv_transpose2d"):
            wt = tensors[f"{p}.weight"].astype(np.float64)
            b = tensors[f"{p}.bias"].astype(np.float64)
            k = s["kernel"]
            pad = (k - 1) // 2
            n, h, w, _ = x.shape
            if t == "conv2d":            # y[q] = sum_{ky,kx} x[q + (ky,kx) - pad] W[ky,kx]
                xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
                y = sum(xp[:, ky:ky + h, kx:kx + w, :] @ wt[ky, kx] for ky in range(k) for kx in range(k))
            else:                        # adjoint: y[q] = sum_{ky,kx} x[q - (ky,kx) + pad] W[ky,kx]^T
                yp = np.zeros((n, h + 2 * pad, w + 2 * pad, s["out"]))
                for ky in range(k):
                    for kx in range(k):
                        yp[:, ky:ky + h, kx:kx + w, :] += x @ wt[ky, kx].T
                y = yp[:, pad:pad + h, pad:pad + w, :]
            x = y + b
        elif t == "dense":
            x = x @ tensors[f"{p}.weight"].astype(np.float64) + tensors[f"{p}.bias"]
        elif t == "batchnorm":
            g, be = tensors[f"{p}.gamma"], tensors[f"{p}.beta"]
            rm, rv = tensors[f"{p}.running_mean"], tensors[f"{p}.running_var"]
            x = (x - rm) / np.sqrt(rv.astype(np.float64) + s["epsilon"]) * g + be
        elif t == "relu":
            x = np.maximum(x, 0)
        elif t == "sigmoid":
            x = 1 / (1 + np.exp(-x))
        elif t == "maxpool2":
            n, h, w, c = x.shape
            x = x[:, :h // 2 * 2, :w // 2 * 2, :].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        elif t == "upsample2":
            x = x.repeat(2, axis=1).repeat(2, axis=2)
        elif t == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif t == "reshape":
            x = x.reshape([x.shape[0]] + s["shape"])
        elif t == "dropout":
            pass
        else:
            raise ValueError(t)
    return x


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def write(name, arch, weights, io):
    os.makedirs(OUT, exist_ok=True)
    weights_path = os.path.join(OUT, f"{name}.safetensors")
    # One metadata key only: the safetensors writer orders several keys differently from run to
    # run, and the files should be byte-for-byte reproducible.
    meta = {"generator": "scripts/make-torch-fixtures.py"}
    arch["metadata"]["torch"] = torch.__version__.split("+")[0]
    save_file(weights, weights_path, metadata=meta)
    with open(weights_path, "rb") as f:
        arch["sha256"] = hashlib.sha256(f.read()).hexdigest()
    arch["storage"] = "F32"
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(arch, f, indent=2, sort_keys=True)
        f.write("\n")
    io = {k: np.ascontiguousarray(v.detach().numpy() if torch.is_tensor(v) else v, dtype=np.float32)
          for k, v in io.items()}
    save_file(io, os.path.join(OUT, f"{name}.io.safetensors"), metadata=meta)
    for suffix in (".json", ".safetensors", ".io.safetensors"):
        os.chmod(os.path.join(OUT, name + suffix), 0o644)   # safetensors writes 0600


def arch_base(name, kind, input_shape, description):
    return {"format": "vaeguard-model", "formatVersion": 1, "name": name, "version": "1.0.0", "kind": kind,
            "inputShape": list(input_shape), "weights": f"{name}.safetensors",
            "metadata": {"source": "PyTorch reference fixture (scripts/make-torch-fixtures.py)",
                         "description": description}}


def report(name, what, ref, other):
    d = float((ref - other).abs().max())
    print(f"  {what:<30} max|diff| = {d:.3e}   (max|ref| = {float(ref.abs().max()):.3e})")
    return d


def classifier_fixture(name, input_shape, build, description, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    net = Net(input_shape)
    build(net)
    randomize_bn(net, gen)
    model = net.torch_module().eval()
    classes = net.shape[0]
    x = torch.rand([BATCH] + list(input_shape), generator=gen)                   # NHWC in [0, 1)
    labels = torch.randint(0, classes, (BATCH,), generator=gen)

    def run(dtype):
        m = net.torch_module().to(dtype).eval()
        xi = x.to(dtype, copy=True).requires_grad_(True)
        logits = m(nchw(xi))
        loss = F.cross_entropy(logits, labels)                                  # mean over the batch
        (g,) = torch.autograd.grad(loss, xi)
        return logits.detach(), g
    out64, grad64 = run(torch.float64)
    out32, grad32 = run(torch.float32)
    model.float()

    weights = net.export("layers")
    arch = arch_base(name, "classifier", input_shape, description)
    arch["labels"] = [str(i) for i in range(classes)]
    arch["layers"] = net.specs
    ref_np = np_forward(net.specs, "layers", weights, x.numpy())
    print(name)
    assert report(name, "numpy NHWC vs torch f64", out64, torch.from_numpy(ref_np)) < 1e-9, "conversion is wrong"
    report(name, "torch f32 vs f64: output", out64, out32)
    report(name, "torch f32 vs f64: input_grad", grad64, grad32)
    write(name, arch, weights, {"input": x, "output": out64.float(), "input_grad": grad64.float(),
                                "labels": labels.float()})


def vae_fixture(name, input_shape, build_encoder, latent, build_decoder, description, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1000)
    enc = Net(input_shape)
    build_encoder(enc)
    (features,) = enc.shape
    dec = Net([latent])
    build_decoder(dec)
    assert dec.shape == list(input_shape), (dec.shape, input_shape)
    mean_head, logvar_head = nn.Linear(features, latent), nn.Linear(features, latent)
    with torch.no_grad():   # a wider log-variance so exp(logvar/2) matters
        logvar_head.weight.mul_(2.0)
        logvar_head.bias.copy_(torch.randn(latent, generator=gen) * 0.5)
    encoder, decoder = enc.torch_module(), dec.torch_module()
    x = torch.rand([BATCH] + list(input_shape), generator=gen)                   # NHWC in [0, 1)
    eps = torch.randn(BATCH, latent, generator=gen).clamp(-5, 5)
    w = torch.randn([BATCH] + list(input_shape), generator=gen)                 # NHWC

    def run(dtype):
        mods = [m.to(dtype).eval() for m in (encoder, mean_head, logvar_head, decoder)]
        e, mh, lh, d = mods
        xi = x.to(dtype, copy=True).requires_grad_(True)
        h = e(nchw(xi))
        mu, lv = mh(h), lh(h)
        z = mu + torch.exp(0.5 * lv) * eps.to(dtype)
        recon = nhwc(d(z))
        loss = (w.to(dtype) * recon).sum()
        (g,) = torch.autograd.grad(loss, xi)
        return recon.detach(), g, mu.detach(), lv.detach()
    r64, g64, mu64, lv64 = run(torch.float64)
    r32, g32, _, _ = run(torch.float32)
    for m in (encoder, mean_head, logvar_head, decoder):
        m.float()

    weights = enc.export("encoder")
    weights.update(dec.export("decoder"))
    assert enc.trailing_flatten is not None, "the encoder must end in flatten"
    h, w_, c = enc.trailing_flatten
    for key, head in (("mean", mean_head), ("logvar", logvar_head)):
        wt = head.weight.detach()                                   # [latent, C*H*W] in torch's order
        wt = wt.reshape(latent, c, h, w_).permute(0, 2, 3, 1).reshape(latent, -1)
        weights[f"{key}.weight"] = np.ascontiguousarray(wt.t().numpy(), dtype=np.float32)
        weights[f"{key}.bias"] = head.bias.detach().numpy().astype(np.float32)
    arch = arch_base(name, "vae", input_shape, description)
    arch["encoder"], arch["latentDimension"], arch["decoder"] = enc.specs, latent, dec.specs

    h = np_forward(enc.specs, "encoder", weights, x.numpy())
    mu = h @ weights["mean.weight"].astype(np.float64) + weights["mean.bias"]
    lv = h @ weights["logvar.weight"].astype(np.float64) + weights["logvar.bias"]
    z = mu + np.exp(0.5 * lv) * eps.numpy().astype(np.float64)
    ref_np = np_forward(dec.specs, "decoder", weights, z)
    print(name)
    assert report(name, "numpy NHWC vs torch f64", r64, torch.from_numpy(ref_np)) < 1e-9, "conversion is wrong"
    report(name, "torch f32 vs f64: output", r64, r32)
    report(name, "torch f32 vs f64: input_grad", g64, g32)
    write(name, arch, weights, {"input": x, "output": r64.float(), "input_grad": g64.float(), "eps": eps,
                                "w": w, "mean": mu64.float(), "logvar": lv64.float()})


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    # (a) MNIST classifier family: conv5x5 + ReLU + pool, twice; flatten; dense + ReLU (+ dropout); dense.
    def mnist(n):
        n.conv(4, 5); n.relu(); n.maxpool()
        n.conv(8, 5); n.relu(); n.maxpool()
        n.flatten(); n.dense(32); n.relu(); n.dropout(0.4); n.dense(10)
    classifier_fixture("torch-mnist-classifier", [28, 28, 1], mnist,
                       "small MNIST classifier: conv5x5(4)-relu-pool-conv5x5(8)-relu-pool-dense(32)-relu-dropout-dense(10)",
                       seed=1)

    # (b) CIFAR classifier block: [conv3x3 + BN (inference, non-trivial stats) + ReLU] x2, pool, flatten, dense.
    def cifar(n):
        n.conv(4, 3); n.bn(); n.relu()
        n.conv(6, 3); n.bn(); n.relu()
        n.maxpool(); n.dropout(0.2)
        n.flatten(); n.dense(10)
    classifier_fixture("torch-cifar-block", [16, 16, 3], cifar,
                       "CIFAR classifier block: [conv3x3-BN-relu] x2 (4, 6 filters), pool, dropout, dense(10) on 16x16x3",
                       seed=2)

    # (c) VAE: conv/pool encoder, mean/logvar heads, fixed eps, dense+reshape+conv+upsample decoder, sigmoid.
    def vae_enc(n):
        n.conv(4, 3); n.relu(); n.maxpool()
        n.conv(3, 3); n.relu(); n.maxpool()
        n.flatten()

    def vae_dec(n):
        n.dense(7 * 7 * 3); n.relu(); n.reshape([7, 7, 3])
        n.conv(5, 3); n.relu(); n.upsample()
        n.conv(4, 3); n.relu(); n.upsample()
        n.conv(1, 3); n.sigmoid()
    vae_fixture("torch-mnist-vae", [28, 28, 1], vae_enc, 6, vae_dec,
                "small MNIST VAE: conv(4)-pool-conv(3)-pool encoder, latent 6, dense-reshape-conv-upsample decoder",
                seed=3)

    # (d) Patch VAE with a stride-1 transposed-convolution decoder (one 5x5 kernel for the padding).
    def patch_enc(n):
        n.conv(8, 3); n.relu()
        n.conv(5, 3); n.relu(); n.maxpool()
        n.conv(4, 3); n.relu(); n.flatten()

    def patch_dec(n):
        n.dense(4 * 4 * 4); n.relu(); n.reshape([4, 4, 4])
        n.convt(5, 5); n.relu()
        n.convt(6, 3); n.relu(); n.upsample()
        n.convt(7, 3); n.relu()
        n.convt(3, 3); n.sigmoid()
    vae_fixture("torch-patch-vae", [8, 8, 3], patch_enc, 8, patch_dec,
                "patch VAE on 8x8x3 patches: conv encoder, latent 8, ConvTranspose2d decoder (5x5 and 3x3 kernels)",
                seed=4)

    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, into {os.path.relpath(OUT, ROOT)}")
    if total > 300_000:
        sys.exit("fixtures exceed 300 KB")


if __name__ == "__main__":
    main()
