"""Train a small CNN on the embedded 8x8 digits (or the reference Keras CNN on MNIST) and plot it.

`minigrad demo` needs no download: it trains on the UCI handwritten digits shipped inside minigrad,
prints the model summary, one line per epoch and the test accuracy, and writes a training-history
plot, a feature-map plot and a receptive-field picture to --output (plots need matplotlib: pip install "minigrad-cython[viz]").

`minigrad demo --dataset mnist --data-dir DIR` trains the reference CNN of the Keras Conv2D material
(RMSprop, categorical cross-entropy, 5 epochs of batch 64 on the 60,000 training images; Keras
reaches about 0.9908 test accuracy) and also prints the receptive field of every layer.
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from minigrad.cli._table import format_table

DEFAULT_OUTPUT = Path("minigrad-demo-output")
REFERENCE_ACCURACY = 0.9908  # Keras, 5 epochs of batch 64 (REFERENCE.md)
DIGITS_TARGET = 0.97
VIZ_HINT = 'pip install "minigrad-cython[viz]"'


@dataclass(frozen=True)
class Recipe:
    """What one --dataset trains by default."""

    epochs: int
    batch_size: int
    description: str


RECIPES = {
    "digits": Recipe(10, 32, "UCI handwritten digits shipped with minigrad"),
    "mnist": Recipe(5, 64, "MNIST"),
}


class UsageError(Exception):
    """A bad command-line argument: reported on stderr with exit status 2."""


@dataclass
class Data:
    """Images scaled to [0, 1] as (N, H, W, 1) float32 and one-hot labels (N, 10) float32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    description: str


def _int_at_least(low: int, what: str) -> Any:
    """An argparse type: the text of an int >= low (argparse prefixes the option to the message)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"expected {what}, received {text!r}")
        return value
    return parse


_positive_int, _seed = _int_at_least(1, "a positive integer"), _int_at_least(0, "an integer >= 0")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--dataset, --data-dir, --epochs, --batch-size, --train-size, --seed, --threads, --output."""
    parser.add_argument("--dataset", choices=tuple(RECIPES), default="digits",
                        help="digits: embedded 8x8 digits, no download (default); mnist: the "
                             "reference CNN on MNIST")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="folder with the four MNIST IDX .gz files (default: $MINIGRAD_DATA, "
                             "else ~/.cache/minigrad/mnist, downloaded when the network allows)")
    parser.add_argument("--epochs", type=_positive_int, metavar="N",
                        help="training epochs (default: 10 for digits, 5 for mnist)")
    parser.add_argument("--batch-size", type=_positive_int, metavar="N",
                        help="samples per step (default: 32 for digits, 64 for mnist)")
    parser.add_argument("--train-size", type=_positive_int, metavar="N",
                        help="train on the first N training images only (default: all of them)")
    parser.add_argument("--seed", type=_seed, default=0, metavar="S",
                        help="seeds the weights, the shuffling and the digits train/test split "
                             "(default 0)")
    parser.add_argument("--threads", type=_positive_int, metavar="N",
                        help="threads for minigrad's kernels and BLAS (default: MINIGRAD_NUM_THREADS, "
                             "else 1 for digits and every usable core for mnist)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="DIR",
                        help=f"folder for the plots (default: ./{DEFAULT_OUTPUT})")


# ----- models
def digits_cnn() -> Any:
    """The demo's CNN for (8, 8, 1) images: conv, pool, conv, dropout and a dense head over 10 classes."""
    from minigrad import layers, models

    return models.Sequential([
        layers.Conv2D(32, 3, activation="relu", padding="same", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", padding="same"),
        layers.Flatten(),
        layers.Dropout(0.4),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="digits_cnn")


def reference_cnn() -> Any:
    """The reference Keras CNN for (28, 28, 1) MNIST images (REFERENCE.md: 93,322 parameters)."""
    from minigrad import layers, models

    return models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="reference_cnn")


# ----- data
def _scaled(images: np.ndarray, top: float) -> np.ndarray:
    return (images[..., None] / np.float32(top)).astype(np.float32)


def shifted_copies(images: np.ndarray) -> np.ndarray:
    """(N, H, W) images followed by their 1-pixel shifts down, up, right and left: (5N, H, W)."""
    _, h, w = images.shape
    out = [images]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        shifted = np.zeros_like(images)
        shifted[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
        out.append(shifted)
    return np.concatenate(out)


def load_digits(seed: int, train_size: int | None = None) -> Data:
    """The embedded digits split by `seed`, pixels 0..16 scaled to [0, 1], training set x5 by shifts."""
    from minigrad.datasets import digits
    from minigrad.utils import to_categorical

    (x_train, y_train), (x_test, y_test) = digits.load_data(seed=seed)
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    # 1,438 images are few for a CNN: 1-pixel shifts lift the test accuracy of the harder splits
    # from about 97.5% to 98.5% and more
    x_aug, y_aug = shifted_copies(x_train), np.tile(y_train, 5)
    return Data(_scaled(x_aug, 16.0), to_categorical(y_aug, 10), _scaled(x_test, 16.0),
                to_categorical(y_test, 10),
                f"{RECIPES['digits'].description}: {len(x_train):,} train images (x5 with 1-pixel "
                f"shifts) / {len(x_test):,} test 8x8 images (split seed {seed})")


def load_mnist(data_dir: Path | None, train_size: int | None = None) -> Data:
    """MNIST from data_dir (see mnist.load_data); UsageError when it cannot be read."""
    from minigrad.datasets import mnist
    from minigrad.errors import SerializationError
    from minigrad.utils import to_categorical

    if data_dir is not None and not data_dir.is_dir():
        what = "is not a folder" if data_dir.exists() else "does not exist"
        raise UsageError(f"--data-dir {data_dir} {what}; pass the folder that holds "
                         f"{', '.join(mnist.FILES)}")
    try:
        (x_train, y_train), (x_test, y_test) = mnist.load_data(data_dir)
    except (FileNotFoundError, NotADirectoryError, SerializationError) as exc:
        raise UsageError(f"cannot read MNIST: {exc}") from None
    x_train, y_train = x_train[:train_size], y_train[:train_size]
    folder = mnist.data_dir(data_dir)
    return Data(_scaled(x_train, 255.0), to_categorical(y_train, 10), _scaled(x_test, 255.0),
                to_categorical(y_test, 10),
                f"MNIST from {folder}: {len(x_train):,} train / {len(x_test):,} test 28x28 images")


# ----- reporting
def receptive_field_table(model: Any) -> str:
    """model.receptive_fields() as an aligned table (sizes per axis as HxW)."""
    def size(dims: tuple[int, ...] | None) -> str:
        return "-" if dims is None else "x".join(str(d) for d in dims)

    rows = [[f.layer, size(f.output_size), size(f.receptive_field), f"{f.share:.2%}",
             size(f.seen_by_target)] for f in model.receptive_fields()]
    headers = ["layer", "output", "receptive field", "share of input", "region seen by last conv"]
    return format_table(headers, rows, right=(False, True, True, True, True))


def _verbose() -> int:
    # the tqdm bar draws only on a terminal; one line per epoch keeps pipes and CI logs readable
    return 1 if sys.stdout.isatty() else 2


def _write_plots(model: Any, history: Any, data: Data, output: Path) -> list[Path]:
    """history.png, feature_maps.png and receptive_field.png in output; [] (and a hint) without
    matplotlib."""
    names = ("history.png", "feature_maps.png", "receptive_field.png")
    if importlib.util.find_spec("matplotlib") is None:
        print(f"matplotlib is not installed, so no plots were written; {VIZ_HINT} to get "
              + ", ".join(str(output / n) for n in names))
        return []
    from minigrad import viz

    output.mkdir(parents=True, exist_ok=True)
    paths = [output / name for name in names]
    label = int(data.y_test[0].argmax())
    viz.plot_history(history, path=paths[0])
    viz.plot_feature_maps(model, data.x_test[:1], None, paths[1], title=f"input: a {label}")
    viz.plot_receptive_field(model, data.x_test[0], paths[2])
    print(f"{paths[1].name}: what each conv layer computes from the first test image (a {label}); "
          f"{paths[2].name}: the input pixels one neuron of the last conv layer sees")
    return paths


# ----- the command
def run(args: argparse.Namespace) -> int:
    """Train, report and plot; exit status 2 on a bad argument."""
    try:
        return _run(args)
    except UsageError as exc:
        print(f"minigrad demo: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import minigrad

    epochs, batch_size = _check(args)
    _set_threads(args)
    started = time.perf_counter()
    if args.dataset == "mnist":
        data = load_mnist(args.data_dir, args.train_size)
    else:
        data = load_digits(args.seed, args.train_size)
    times = {"load": time.perf_counter() - started}
    minigrad.set_seed(args.seed)
    model = _compiled_model(args.dataset, math.ceil(len(data.x_train) / batch_size))
    print(f"minigrad demo: {data.description}; seed {args.seed}, "
          f"{minigrad.get_num_threads()} thread(s)\n")
    model.summary()
    if args.dataset == "mnist":
        print("\nReceptive fields (input pixels one neuron of each layer sees):")
        print(receptive_field_table(model))
    validation = (data.x_test, data.y_test) if args.dataset == "digits" else None
    print(f"\nTraining {epochs} epoch(s) of batch {batch_size}"
          + (" (val_* = the held-out test images, never trained on)" if validation else ""))
    fit_start = time.perf_counter()
    history = model.fit(data.x_train, data.y_train, batch_size=batch_size, epochs=epochs,
                        verbose=_verbose(), validation_data=validation)
    times["train"] = time.perf_counter() - fit_start
    evaluate_start = time.perf_counter()
    _, accuracy = model.evaluate(data.x_test, data.y_test, batch_size=256, verbose=0)
    times["evaluate"] = time.perf_counter() - evaluate_start
    print(f"\nTest accuracy: {accuracy:.4f} on {len(data.x_test):,} test images")
    print(f"Reference (Keras, 5 epochs of batch 64): {REFERENCE_ACCURACY:.4f}"
          if args.dataset == "mnist" else f"Target: >= {DIGITS_TARGET:.2f}")
    print(timing_line(times, epochs, len(data.x_train), len(data.x_test), validation is not None))
    paths = _write_plots(model, history, data, args.output)
    if paths:
        print(f"Plots written to {args.output.resolve()}: " + ", ".join(p.name for p in paths))
    return 0


def timing_line(times: dict[str, float], epochs: int, n_train: int, n_test: int,
                validated: bool) -> str:
    """'Time: ... s = loading ... + training ... (per epoch, images/s) + evaluation ... (images/s)'."""
    per_epoch = times["train"] / epochs
    validation = f", validation on {n_test:,} images included" if validated else ""
    return (f"Time: {sum(times.values()):.1f} s = loading {times['load']:.1f} s + training "
            f"{times['train']:.1f} s ({per_epoch:.2f} s per epoch, {n_train / per_epoch:,.0f} "
            f"images/s{validation}) + evaluation {times['evaluate']:.2f} s "
            f"({n_test / times['evaluate']:,.0f} images/s)")


def _check(args: argparse.Namespace) -> tuple[int, int]:
    """(epochs, batch size) after the checks argparse cannot make; UsageError otherwise."""
    if args.dataset != "mnist" and args.data_dir is not None:
        raise UsageError("--data-dir is only used with --dataset mnist")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"--output {args.output} exists and is not a folder")
    recipe = RECIPES[args.dataset]
    return args.epochs or recipe.epochs, args.batch_size or recipe.batch_size


def _set_threads(args: argparse.Namespace) -> None:
    import minigrad

    threads = args.threads
    if threads is None and args.dataset == "digits" and "MINIGRAD_NUM_THREADS" not in os.environ:
        # a step on 8x8 images is far less work than waking and joining a second thread costs,
        # and a thread that shares its core with another process stalls every step
        threads = 1
    if threads is not None:
        minigrad.set_num_threads(threads)


def _compiled_model(dataset: str, steps_per_epoch: int) -> Any:
    from minigrad.optimizers import Adam
    from minigrad.optimizers.schedules import ExponentialDecay

    if dataset == "mnist":
        model = reference_cnn()
        optimizer: Any = "rmsprop"  # the reference settings: Keras' RMSprop defaults
    else:
        model = digits_cnn()
        # decaying the rate by 0.8 per epoch settles the last epochs instead of letting them wobble
        optimizer = Adam(ExponentialDecay(0.002, steps_per_epoch, 0.8))
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model
