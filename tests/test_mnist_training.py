"""The reference Keras CNN learns real MNIST: `minigrad demo --dataset mnist`, shortened to one epoch
of batch 16 on the first 20,000 training images, still reaches 96% on the 10,000 test images."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Iterator

import pytest

import minigrad
from minigrad.cli import main
from minigrad.datasets import mnist

# the folders mnist.load_data() searches, then shared/ beside the clone (where CI puts it)
MNIST_SEARCH = mnist.search_path(also=[Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"])
MNIST_DIR = mnist.find(MNIST_SEARCH)
needs_mnist = pytest.mark.skipif(
    MNIST_DIR is None,
    reason="the four official MNIST .gz files are in none of: " + ", ".join(map(str, MNIST_SEARCH)),
)


@pytest.fixture
def keep_threads() -> Iterator[None]:
    before = minigrad.get_num_threads()
    yield
    minigrad.set_num_threads(before)


@pytest.mark.slow  # 1,250 training steps
@needs_mnist
def test_reference_cnn_learns_mnist_in_one_short_epoch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_threads: None) -> None:
    # 1,250 RMSprop steps: seeds 0, 1, 2 reached 0.9772, 0.9767, 0.9699 (chance is 0.10); batch 64
    # would give 313 steps and about 0.95. One thread: the same numbers whatever the machine runs.
    argv = ["demo", "--dataset", "mnist", "--data-dir", str(MNIST_DIR), "--epochs", "1",
            "--batch-size", "16", "--train-size", "20000", "--seed", "0", "--threads", "1",
            "--output", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "20,000 train / 10,000 test 28x28 images" in out
    assert 'Model: "reference_cnn"' in out and "Total params: 93,322" in out
    # the receptive-field table: the last conv layer sees 18x18 input pixels, 41.33% of 784
    assert re.search(r"^input\s+28x28\s+1x1\s+0\.13%\s+18x18$", out, re.MULTILINE), out
    assert re.search(r"\s3x3\s+18x18\s+41\.33%\s+1x1$", out, re.MULTILINE), out
    assert re.search(r"^Epoch 1/1 .*loss: \d\.\d{4} - accuracy: 0\.\d{4}$", out, re.MULTILINE), out
    found = re.search(r"^Test accuracy: (\d\.\d{4}) on 10,000 test images$", out, re.MULTILINE)
    assert found is not None, out
    assert float(found.group(1)) >= 0.96
    assert "Reference (Keras, 5 epochs of batch 64): 0.9908" in out
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "history.png").is_file() and (tmp_path / "feature_maps.png").is_file()
