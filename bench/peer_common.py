"""What the peer scripts share: the bench's timing protocol, the IDX reader and the lab job's
options (the same recipe flags for the PyTorch and the Keras peer)."""
import gzip
import os
import statistics
import time

import numpy as np

WARMUP = int(os.environ.get("TL_BENCH_WARMUP", "2"))
REPEATS = int(os.environ.get("TL_BENCH_REPEATS", "5"))
MIN_SECONDS = float(os.environ.get("TL_BENCH_MIN_SECONDS", "1.5"))


def measure(step, images_per_step):
    """TL_BENCH_WARMUP steps, then TL_BENCH_REPEATS repeats of at least TL_BENCH_MIN_SECONDS; images/s per repeat."""
    for _ in range(WARMUP):
        step()
    samples, steps = [], []
    for _ in range(REPEATS):
        n, start = 0, time.perf_counter()
        while True:
            step()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= MIN_SECONDS:
                break
        samples.append(n * images_per_step / elapsed)
        steps.append(n)
    return {"median": statistics.median(samples), "samples": samples, "stepsPerRepeat": steps}


def read_idx(path):
    """A gzipped IDX file (Fashion-MNIST's format) as a uint8 array of its shape."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def add_lab_parser(subparsers):
    """The `lab` job: train the lab CNN on the IDX files in --idx, with tl's recipe flags."""
    a = subparsers.add_parser("lab")
    a.add_argument("--idx", required=True)
    a.add_argument("--epochs", type=int, default=1)
    a.add_argument("--batch", type=int, default=64)
    a.add_argument("--lr", type=float, default=1e-3)
    a.add_argument("--decay", type=float, default=0.9)
    a.add_argument("--val", type=float, default=0.05)
    a.add_argument("--seed", type=int, default=42)
    a.add_argument("--limit", type=int, default=0)
    return a
