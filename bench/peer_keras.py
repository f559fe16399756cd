"""The lab CNN in Keras on the TensorFlow build tl's native backend links (tensorflow-cpu
2.12.1), so a table can tell TensorFlow's own speed from what tfjs-node adds on top.

  peer_keras.py kernels                      training (batch 256, Adam) and inference (batch 1000) images/s
  peer_keras.py lab --idx DIR --epochs N     the whole job: IDX files → train → test accuracy

Same protocol as bench/peer_pytorch.py (TL_BENCH_WARMUP, TL_BENCH_REPEATS, TL_BENCH_MIN_SECONDS).
Prints one JSON document.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

WARMUP = int(os.environ.get("TL_BENCH_WARMUP", "2"))
REPEATS = int(os.environ.get("TL_BENCH_REPEATS", "5"))
MIN_SECONDS = float(os.environ.get("TL_BENCH_MIN_SECONDS", "1.5"))


def measure(step, images_per_step):
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


def lab_cnn(seed=42):
    tf.keras.utils.set_random_seed(seed)
    L = tf.keras.layers
    return tf.keras.Sequential([
        L.Input((28, 28, 1)),
        L.Conv2D(16, 5, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPool2D(2),
        L.Conv2D(32, 5, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPool2D(2),
        L.Flatten(), L.Dense(10, activation="softmax"),
    ])


def compiled(lr=1e-3):
    model = lab_cnn()
    model.compile(optimizer=tf.keras.optimizers.Adam(lr), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def kernels():
    rng = np.random.default_rng(1)
    model = compiled()
    x = rng.random((256, 28, 28, 1), dtype=np.float32)
    y = tf.keras.utils.to_categorical(rng.integers(0, 10, 256), 10)
    train = measure(lambda: model.train_on_batch(x, y), 256)
    xi = tf.constant(rng.random((1000, 28, 28, 1), dtype=np.float32))
    infer_fn = tf.function(lambda t: model(t, training=False))
    infer = measure(lambda: infer_fn(xi).numpy(), 1000)
    return {"labCnnTrain": train, "labCnnInfer": infer}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def lab(args):
    start = time.perf_counter()
    d = args.idx
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32)[..., None] / 255
    y = tf.keras.utils.to_categorical(read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")), 10)
    tx = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32)[..., None] / 255
    ty = tf.keras.utils.to_categorical(read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")), 10)
    order = np.random.default_rng(args.seed).permutation(len(x))
    n_val = int(round(len(x) * args.val))
    val, fit = order[:n_val], order[n_val:]
    if args.limit:  # as tl's --limit: a seeded subset of train + validation
        n_val = int(round(args.limit * args.val))
        val, fit = order[:n_val], order[n_val:args.limit]
    ingest = time.perf_counter() - start
    model = compiled(args.lr)
    decay = tf.keras.callbacks.LearningRateScheduler(lambda epoch: args.lr * args.decay ** epoch)
    t0 = time.perf_counter()
    model.fit(x[fit], y[fit], batch_size=args.batch, epochs=args.epochs, validation_data=(x[val], y[val]), callbacks=[decay], verbose=0)
    train = time.perf_counter() - t0
    t1 = time.perf_counter()
    _, acc = model.evaluate(tx, ty, batch_size=1000, verbose=0)
    evaluate = time.perf_counter() - t1
    return {
        "wallSeconds": time.perf_counter() - start,
        "phases": {"ingest": ingest, "train": train, "evaluate": evaluate},
        "trainImagesPerSecond": len(fit) * args.epochs / train,
        "testAccuracy": float(acc),
    }


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="job", required=True)
    sub.add_parser("kernels")
    a = sub.add_parser("lab")
    a.add_argument("--idx", required=True)
    a.add_argument("--epochs", type=int, default=1)
    a.add_argument("--batch", type=int, default=64)
    a.add_argument("--lr", type=float, default=1e-3)
    a.add_argument("--decay", type=float, default=0.9)
    a.add_argument("--val", type=float, default=0.05)
    a.add_argument("--seed", type=int, default=42)
    a.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    result = {"results": kernels()} if args.job == "kernels" else lab(args)
    result.update({"python": sys.version.split()[0], "tensorflow": tf.__version__, "threads": {
        "intra": tf.config.threading.get_intra_op_parallelism_threads(), "inter": tf.config.threading.get_inter_op_parallelism_threads()}})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
