"""The UCI optical handwritten digits (1,797 8x8 images, pixels 0..16), shipped inside the package.

Origin, licence and checksum: README.md beside this file.
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from minigrad import validation

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
    test_fraction = validation.real(test_fraction, "digits.load_data", "test_fraction", low=0, high=1,
                                    low_open=True, high_open=True)
    seed = validation.integer(seed, "digits.load_data", "seed", low=0)
    images, labels = load_all()
    rng = np.random.default_rng(seed)
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
