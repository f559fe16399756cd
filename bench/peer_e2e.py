"""Whole jobs in plain PyTorch, the peer of bench/end-to-end.ts: the same work a tl pipeline
does, from the files on disk to a test accuracy, in one Python process.

  peer_e2e.py lab --idx DIR --epochs N [--batch 64 --lr 1e-3 --decay 0.9 --val 0.05]
                 [--lr-schedule exponential|warmup-cosine --shift PX --label-smoothing E]
  peer_e2e.py transfer --data DIR --model DIR --stages JSON [--batch 32 --val 0.2]

Prints one JSON document: wall seconds per phase and in total, images/s, accuracies.
The transfer job builds MobileNet V1 with TensorFlow's padding and loads the very weights tl
uses (its tfjs model.json), so both sides start from the same network.
"""
import argparse
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageOps
from peer_common import add_lab_parser, read_idx

CORES = os.cpu_count() or 1
torch.set_num_threads(CORES)


class Clock:
    def __init__(self):
        self.start = time.perf_counter()
        self.phases = {}
        self._last = self.start

    def lap(self, name):
        now = time.perf_counter()
        self.phases[name] = now - self._last
        self._last = now

    def total(self):
        return time.perf_counter() - self.start


# ---- lab CNN on Fashion-MNIST ----

def lab_cnn():
    # Keras' BatchNormalization defaults (epsilon 1e-3, momentum 0.99), as tl's lab CNN uses.
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def learning_rate(args, epoch, step, total_steps):
    """tl's lab schedules: per-epoch exponential decay, or 10% linear warm-up then cosine to 1% per step."""
    if args.lr_schedule == "exponential":
        return args.lr * args.decay ** epoch
    warm = int(0.1 * total_steps)
    if step < warm:
        return args.lr * (step + 1) / warm
    t = (step - warm) / max(1, total_steps - warm)
    return args.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t)))


def random_shift(x, px, g):
    """Each image moved by up to px pixels each way, edges filled with 0 (tl's --shift)."""
    n, _, h, w = x.shape
    padded = F.pad(x, (px, px, px, px))
    dy = torch.randint(0, 2 * px + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * px + 1, (n,), generator=g)
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def lab(args):
    clock = Clock()
    d = args.idx
    train_x = torch.from_numpy(read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255).unsqueeze(1)
    train_y = torch.from_numpy(read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    test_x = torch.from_numpy(read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255).unsqueeze(1)
    test_y = torch.from_numpy(read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    g = torch.Generator().manual_seed(args.seed)
    order = torch.randperm(len(train_x), generator=g)
    n_val = int(round(len(train_x) * args.val))
    val_idx, fit_idx = order[:n_val], order[n_val:]
    if args.limit:  # as tl's --limit: a seeded subset of train + validation
        n_val = int(round(args.limit * args.val))
        val_idx, fit_idx = order[:n_val], order[n_val:args.limit]
    clock.lap("ingest")

    torch.manual_seed(args.seed)
    model = lab_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    total_steps = -(-len(fit_idx) // args.batch) * args.epochs
    step = 0
    train_seconds = 0.0
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        perm = fit_idx[torch.randperm(len(fit_idx), generator=g)]
        for i in range(0, len(perm), args.batch):
            for group in opt.param_groups:
                group["lr"] = learning_rate(args, epoch, step, total_steps)
            idx = perm[i:i + args.batch]
            x = random_shift(train_x[idx], args.shift, g) if args.shift else train_x[idx]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), train_y[idx], label_smoothing=args.label_smoothing).backward()
            opt.step()
            step += 1
        train_seconds += time.perf_counter() - t0
        accuracy(model, train_x[val_idx], train_y[val_idx])  # as tl validates after each epoch
    clock.lap("train")
    test_acc = accuracy(model, test_x, test_y)
    clock.lap("evaluate")
    return {
        "wallSeconds": clock.total(),
        "phases": clock.phases,
        "trainImagesPerSecond": len(fit_idx) * args.epochs / train_seconds,
        "testAccuracy": test_acc,
        "trainImages": len(fit_idx),
    }


# ---- transfer learning on an image folder ----

def decode(path):
    # As tl ingests: EXIF rotation, RGB, "cover" resize (centre crop) to 224², Lanczos.
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        return np.asarray(ImageOps.fit(im, (224, 224), Image.LANCZOS, centering=(0.5, 0.5)), dtype=np.uint8)


def image_folder(root):
    classes = sorted(e for e in os.listdir(root) if os.path.isdir(os.path.join(root, e)))
    files, labels = [], []
    for i, c in enumerate(classes):
        for name in sorted(os.listdir(os.path.join(root, c))):
            if name.lower().endswith((".jpg", ".jpeg", ".png")):
                files.append(os.path.join(root, c, name))
                labels.append(i)
    return classes, files, np.array(labels, dtype=np.int64)


class SamePad(nn.Module):
    """TensorFlow's 'same' padding for a stride-2 3×3 convolution: one pixel right and bottom."""

    def forward(self, x):
        return F.pad(x, (0, 1, 0, 1))


def conv_bn(cin, cout, k, stride, groups=1):
    pad = [SamePad()] if stride == 2 else []
    return nn.Sequential(*pad, nn.Conv2d(cin, cout, k, stride, padding=0 if stride == 2 else k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01), nn.ReLU6())


BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def mobilenet_v1(alpha=0.25):
    c = lambda n: int(n * alpha)
    layers = [conv_bn(3, c(32), 3, 2)]
    names = ["conv1"]
    cin = c(32)
    for i, (filters, stride) in enumerate(BLOCKS, 1):
        layers += [conv_bn(cin, cin, 3, stride, groups=cin), conv_bn(cin, c(filters), 1, 1)]
        names += [f"conv_dw_{i}", f"conv_pw_{i}"]
        cin = c(filters)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()), names, cin


def load_tfjs_weights(model_dir):
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    out = {}
    for group in manifest:
        data = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            out[w["name"]] = np.frombuffer(data, np.float32, n, offset).reshape(w["shape"])
            offset += 4 * n
    return out


def set_weights(body, names, weights):
    """Keras kernels are HWIO (depthwise HWC1); PyTorch wants OIHW (depthwise C1HW)."""
    for block, name in zip(body, names):
        conv = next(m for m in block if isinstance(m, nn.Conv2d))
        bn = next(m for m in block if isinstance(m, nn.BatchNorm2d))
        kernel = weights.get(f"{name}/kernel")
        if kernel is None:
            kernel = weights[f"{name}/depthwise_kernel"].transpose(2, 3, 0, 1)
        else:
            kernel = kernel.transpose(3, 2, 0, 1)
        conv.weight.data = torch.from_numpy(np.ascontiguousarray(kernel))
        for attr, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"), ("running_var", "moving_variance")):
            getattr(bn, attr).data = torch.from_numpy(weights[f"{name}_bn/{key}"].copy())


def to_input(pixels):
    # tl's 'minus1to1' scaling: x / 127.5 - 1, NHWC uint8 → NCHW float.
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def features_of(body, pixels, batch):
    body.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(pixels), batch):
            out.append(body(to_input(pixels[i:i + batch])))
    return torch.cat(out)


def fit_logistic_regression(train_f, train_y, val_f, val_y, classes, grid=(1e-4, 1e-3, 1e-2, 1e-1, 1.0)):
    """Standardised features, one softmax regression per L2 strength (L-BFGS), best on validation."""
    mean, std = train_f.mean(0), train_f.std(0) + 1e-6
    xt, xv = (train_f - mean) / std, (val_f - mean) / std
    best = None
    for l2 in grid:
        lin = nn.Linear(xt.shape[1], classes)
        nn.init.zeros_(lin.weight)
        nn.init.zeros_(lin.bias)
        opt = torch.optim.LBFGS(lin.parameters(), max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(lin(xt), train_y) + l2 * lin.weight.pow(2).sum() / 2
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            acc = (lin(xv).argmax(1) == val_y).float().mean().item()
        if best is None or acc > best[0]:
            best = (acc, l2, lin)
    return best, mean, std


def weight_layers(body):
    return [m for m in body.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]


def apply_stage(body, head, stage):
    """As tl's applyStage: the head always trains; 'head' freezes the body, {topLayers: k} unfreezes its top k weight layers."""
    layers = weight_layers(body)
    unfreeze = stage["unfreeze"]
    k = 0 if unfreeze == "head" else len(layers) if unfreeze == "all" else unfreeze["topLayers"]
    trainable = set(layers[len(layers) - k:]) if k else set()
    for m in layers:
        for p in m.parameters():
            p.requires_grad = m in trainable
    for p in head.parameters():
        p.requires_grad = True
    return trainable


def set_train_mode(body, trainable):
    body.train()
    for m in body.modules():
        if isinstance(m, nn.BatchNorm2d) and m not in trainable:
            m.eval()  # frozen BN keeps its pretrained statistics, as in tl


def transfer(args):
    clock = Clock()
    classes, train_files, train_y = image_folder(os.path.join(args.data, "train"))
    _, test_files, test_y = image_folder(os.path.join(args.data, "val"))
    with multiprocessing.get_context("fork").Pool(CORES) as pool:
        train_px = np.stack(pool.map(decode, train_files, chunksize=8))
        test_px = np.stack(pool.map(decode, test_files, chunksize=8))
    clock.lap("ingest")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(train_files))
    n_val = int(round(len(order) * args.val))
    val_idx, fit_idx = order[:n_val], order[n_val:]
    ty = torch.from_numpy(train_y)

    torch.manual_seed(args.seed)
    body, names, dim = mobilenet_v1()
    weights_loaded = False
    if args.model:
        set_weights(body, names, load_tfjs_weights(args.model))
        weights_loaded = True
    t0 = time.perf_counter()
    all_f = features_of(body, train_px, args.batch)
    test_f = features_of(body, test_px, args.batch)
    feature_seconds = time.perf_counter() - t0
    clock.lap("features")
    (val_acc, l2, lin), mean, std = fit_logistic_regression(all_f[fit_idx], ty[fit_idx], all_f[val_idx], ty[val_idx], len(classes))
    with torch.no_grad():
        features_test_acc = (lin((test_f - mean) / std).argmax(1) == torch.from_numpy(test_y)).float().mean().item()
    clock.lap("head")

    # As tl with both methods: fine-tuning starts from the LR head, its standardisation folded in.
    head = nn.Linear(dim, len(classes))
    with torch.no_grad():
        head.weight.copy_(lin.weight / std)
        head.bias.copy_(lin.bias - (lin.weight * (mean / std)).sum(1))
    model = nn.Sequential(body, head)
    trained = 0
    train_seconds = 0.0
    for stage in json.loads(args.stages):
        trainable = apply_stage(body, head, stage)
        opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=stage["learningRate"])
        for _ in range(stage["epochs"]):
            s0 = time.perf_counter()
            set_train_mode(body, trainable)
            head.train()
            perm = rng.permutation(fit_idx)
            for i in range(0, len(perm), args.batch):
                idx = perm[i:i + args.batch]
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(to_input(train_px[idx])), ty[idx]).backward()
                opt.step()
                trained += len(idx)
            train_seconds += time.perf_counter() - s0
    clock.lap("finetune")
    model.eval()
    with torch.no_grad():
        logits = torch.cat([model(to_input(test_px[i:i + args.batch])) for i in range(0, len(test_px), args.batch)])
    finetune_test_acc = (logits.argmax(1) == torch.from_numpy(test_y)).float().mean().item()
    clock.lap("evaluate")
    return {
        "wallSeconds": clock.total(),
        "phases": clock.phases,
        "weightsLoaded": weights_loaded,
        "images": {"train": len(train_files), "test": len(test_files)},
        "ingestImagesPerSecond": (len(train_files) + len(test_files)) / clock.phases["ingest"],
        "featureImagesPerSecond": (len(train_files) + len(test_files)) / feature_seconds,
        "fineTuneImagesPerSecond": trained / train_seconds if train_seconds else 0,
        "features": {"testAccuracy": features_test_acc, "validationAccuracy": val_acc, "l2": l2},
        "finetune": {"testAccuracy": finetune_test_acc},
    }


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="job", required=True)
    lab_parser = add_lab_parser(sub)
    lab_parser.add_argument("--lr-schedule", choices=["exponential", "warmup-cosine"], default="exponential")
    lab_parser.add_argument("--shift", type=int, default=0)
    lab_parser.add_argument("--label-smoothing", type=float, default=0.0)
    t = sub.add_parser("transfer")
    t.add_argument("--data", required=True)
    t.add_argument("--model", default="")
    t.add_argument("--stages", required=True)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--val", type=float, default=0.2)
    t.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    result = lab(args) if args.job == "lab" else transfer(args)
    result.update({"python": sys.version.split()[0], "torch": torch.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
