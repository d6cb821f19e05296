"""The UCI optical handwritten digits (1,797 8x8 images, pixels 0..16), shipped inside the package.

Origin, licence and checksum: README.md beside this file.
"""
from __future__ import annotations

import numbers
from importlib import resources

import numpy as np

NUM_CLASSES = 10
_FILE = "digits.npz"

Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def load_all() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images (N, 8, 8) uint8 in 0..16 and labels (N,) uint8 in 0..9, in file order."""
    with resources.files(__package__).joinpath(_FILE).open("rb") as f:
        with np.load(f, allow_pickle=False) as npz:
            return npz["images"], npz["labels"]


def load_data(test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Stratified split ((x_train, y_train), (x_test, y_test)), uint8 like keras.datasets loaders.

    Each class contributes round(count * test_fraction) images to the test set; both sets are
    shuffled. The same (test_fraction, seed) always gives the same split.
    """
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"digits.load_data: test_fraction must be a float, received "
                        f"{type(test_fraction).__name__}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"digits.load_data: test_fraction must be in (0, 1), received {test_fraction}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"digits.load_data: seed must be an int, received {seed!r}")
    if seed < 0:
        raise ValueError(f"digits.load_data: seed must be >= 0, received {seed}")
    images, labels = load_all()
    rng = np.random.default_rng(int(seed))
    train_idx, test_idx = [], []
    for digit in range(NUM_CLASSES):
        members = rng.permutation(np.flatnonzero(labels == digit))
        n_test = int(round(len(members) * test_fraction))
        if not 0 < n_test < len(members):
            raise ValueError(
                f"digits.load_data: test_fraction={test_fraction} puts {n_test} of the "
                f"{len(members)} images of digit {digit} in the test set; both sets need each digit"
            )
        test_idx.append(members[:n_test])
        train_idx.append(members[n_test:])
    # shuffle across classes so that taking the first k rows is not class-ordered
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return (images[train], labels[train]), (images[test], labels[test])
