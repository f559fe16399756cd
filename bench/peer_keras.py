"""The lab CNN in Keras on the TensorFlow build tl's native backend links (tensorflow-cpu
2.12.1), so a table can tell TensorFlow's own speed from what tfjs-node adds on top.

  peer_keras.py kernels                      training (batch 256, Adam) and inference (batch 1000) images/s
  peer_keras.py lab --idx DIR --epochs N     the whole job: IDX files → train → test accuracy

Same protocol as bench/peer_pytorch.py (TL_BENCH_WARMUP, TL_BENCH_REPEATS, TL_BENCH_MIN_SECONDS).
Prints one JSON document.
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from peer_common import add_lab_parser, measure, read_idx  # noqa: E402



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
    add_lab_parser(sub)
    args = ap.parse_args()
    result = {"results": kernels()} if args.job == "kernels" else lab(args)
    result.update({"python": sys.version.split()[0], "tensorflow": tf.__version__, "threads": {
        "intra": tf.config.threading.get_intra_op_parallelism_threads(), "inter": tf.config.threading.get_inter_op_parallelism_threads()}})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
