"""minigrad.datasets: the embedded digits and the verified MNIST IDX loader."""
from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad.datasets import digits, mnist
from minigrad.errors import SerializationError

# the folders mnist.load_data() searches, then shared/ beside the clone (where CI puts it)
MNIST_SEARCH = mnist.search_path(also=[Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"])
MNIST_DIR = mnist.find(MNIST_SEARCH)
needs_mnist = pytest.mark.skipif(
    MNIST_DIR is None,
    reason="the four official MNIST .gz files are in none of: " + ", ".join(map(str, MNIST_SEARCH)),
)
DIGITS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# content checksum recorded in minigrad/datasets/README.md
DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_digits_embedded_data_is_the_recorded_one() -> None:
    images, labels = digits.load_all()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert np.bincount(labels).tolist() == DIGITS_COUNTS
    assert hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest() == DIGITS_SHA256


def test_digits_default_split_shapes_and_dtypes() -> None:
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1438, 8, 8) and y_train.shape == (1438,)
    assert x_test.shape == (359, 8, 8) and y_test.shape == (359,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8 and array.flags.writeable
    assert set(y_train.tolist()) == set(y_test.tolist()) == set(range(10))


def test_digits_split_is_deterministic_and_seed_dependent() -> None:
    (a, la), (b, lb) = digits.load_data(seed=3)
    (c, lc), (d, ld) = digits.load_data(seed=3)
    (e, _), _ = digits.load_data(seed=4)
    assert np.array_equal(a, c) and np.array_equal(la, lc)
    assert np.array_equal(b, d) and np.array_equal(lb, ld)
    assert not np.array_equal(a, e)


def _rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each image with its label as one row, rows sorted: a multiset fingerprint of a set."""
    rows = np.concatenate([x.reshape(len(x), -1), y[:, None]], axis=1)
    return rows[np.lexsort(rows.T[::-1])]


@given(test_fraction=st.floats(0.05, 0.95), seed=st.integers(0, 2**32))
def test_digits_split_is_a_stratified_partition(test_fraction: float, seed: int) -> None:
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_fraction, seed)
    expected_test = [int(round(n * test_fraction)) for n in DIGITS_COUNTS]
    assert np.bincount(y_test, minlength=10).tolist() == expected_test
    assert np.bincount(y_train, minlength=10).tolist() == [
        n - t for n, t in zip(DIGITS_COUNTS, expected_test)
    ]
    together = _rows(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))
    assert np.array_equal(together, _rows(*digits.load_all()))


def test_digits_split_is_shuffled_across_classes() -> None:
    (_, y_train), (_, y_test) = digits.load_data()
    assert np.any(np.diff(y_train.astype(int)) < 0) and np.any(np.diff(y_test.astype(int)) < 0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"test_fraction": 0.0}, ValueError, r"load_data: expected test_fraction to be a float in \(0, 1\), received 0.0"),
        ({"test_fraction": 1.0}, ValueError, r"in \(0, 1\), received 1.0"),
        ({"test_fraction": -0.5}, ValueError, r"received -0.5"),
        ({"test_fraction": 0.001}, ValueError, r"puts 0 of the 178 images of digit 0"),
        ({"test_fraction": 0.999}, ValueError, r"puts 178 of the 178 images of digit 0"),
        ({"test_fraction": "0.2"}, TypeError, r"expected test_fraction to be a float in \(0, 1\), received '0.2'"),
        ({"test_fraction": True}, TypeError, r"received True"),
        ({"seed": -1}, ValueError, r"expected seed to be a non-negative int, received -1"),
        ({"seed": 1.5}, TypeError, r"expected seed to be a non-negative int, received 1.5"),
        ({"seed": True}, TypeError, r"expected seed to be a non-negative int, received True"),
    ],
)
def test_digits_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        digits.load_data(**kwargs)


@pytest.fixture(scope="module")
def real_mnist() -> mnist.Split:
    return mnist.load_data(MNIST_DIR)


@pytest.mark.slow  # reads all 70,000 images
@needs_mnist
def test_mnist_real_files_match_the_published_facts(real_mnist: mnist.Split) -> None:
    (x_train, y_train), (x_test, y_test) = real_mnist
    assert x_train.shape == (60_000, 28, 28) and y_train.shape == (60_000,)
    assert x_test.shape == (10_000, 28, 28) and y_test.shape == (10_000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8 and array.flags.writeable
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert x_train.mean() / 255 == pytest.approx(0.1306604763, rel=1e-9)
    assert x_train.std() / 255 == pytest.approx(0.3081078039, rel=1e-9)
    assert x_test.mean() / 255 == pytest.approx(0.1325146058, rel=1e-9)
    assert x_train.max() == 255 and x_train.min() == 0


@needs_mnist
def test_mnist_folder_from_environment(monkeypatch: pytest.MonkeyPatch,
                                       real_mnist: mnist.Split) -> None:
    monkeypatch.setenv(mnist.ENV_VAR, str(MNIST_DIR))
    (x_train, _), (_, y_test) = mnist.load_data()
    assert np.array_equal(x_train, real_mnist[0][0]) and np.array_equal(y_test, real_mnist[1][1])


def test_mnist_folder_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    assert mnist.data_dir() == tmp_path / ".cache" / "minigrad" / "mnist"
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "env"))
    assert mnist.data_dir() == tmp_path / "env"
    assert mnist.data_dir(tmp_path / "arg") == tmp_path / "arg"  # the argument wins


def _fake_mnist(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in mnist.FILES:
        (folder / name).write_bytes(b"")
    return folder


def test_mnist_search_path_reads_the_first_folder_that_holds_the_files(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "env"))
    cache, shared = tmp_path / ".cache" / "minigrad" / "mnist", tmp_path / "shared"
    assert mnist.search_path(also=[shared]) == [tmp_path / "env", cache, shared]
    assert mnist.search_path(tmp_path / "arg", also=[shared]) == [tmp_path / "arg", shared]
    assert mnist.find(mnist.search_path(also=[shared])) is None
    _fake_mnist(shared)
    assert mnist.find(mnist.search_path(also=[shared])) == shared
    assert mnist.data_dir() == tmp_path / "env"  # none holds the files: downloads go to the first
    _fake_mnist(cache)
    assert mnist.data_dir() == cache  # $MINIGRAD_DATA is empty, the user cache has them
    _fake_mnist(tmp_path / "env")
    assert mnist.data_dir() == tmp_path / "env"


def test_mnist_tests_say_where_they_looked() -> None:
    reason = needs_mnist.kwargs["reason"]
    assert all(str(folder) in reason for folder in MNIST_SEARCH)
    assert str(mnist.DEFAULT_DIR.expanduser()) in reason and "shared" in reason


def test_mnist_bad_path_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, received 3"):
        mnist.load_data(3)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        mnist.load_data(tmp_path / "file")


def _copy_of_mnist(folder: Path) -> Path:
    """A folder of links to the real files, so a test can replace one of them cheaply."""
    folder.mkdir()
    for name in mnist.FILES:
        (folder / name).symlink_to(MNIST_DIR / name)
    return folder


@needs_mnist
def test_mnist_truncated_file_is_refused(tmp_path: Path) -> None:
    folder = _copy_of_mnist(tmp_path / "mnist")
    name = "train-labels-idx1-ubyte.gz"
    (folder / name).unlink()
    (folder / name).write_bytes((MNIST_DIR / name).read_bytes()[:10_000])
    with pytest.raises(SerializationError, match=rf"{name} has 10,000 bytes, expected 28,881: "
                                                 r"it is truncated"):
        mnist.load_data(folder)


@needs_mnist
def test_mnist_tampered_file_is_refused(tmp_path: Path) -> None:
    folder = _copy_of_mnist(tmp_path / "mnist")
    name = "t10k-labels-idx1-ubyte.gz"
    data = bytearray((MNIST_DIR / name).read_bytes())
    data[2_000] ^= 0xFF
    (folder / name).unlink()
    (folder / name).write_bytes(bytes(data))
    with pytest.raises(SerializationError,
                       match=rf"{name} has sha256 [0-9a-f]{{64}}, expected f7ae60f9.*modified"):
        mnist.load_data(folder)


def _idx(path: Path, header: tuple[int, ...], payload: bytes, *, cut: int = 0) -> Path:
    data = gzip.compress(struct.pack(f">{len(header)}I", *header) + payload)
    path.write_bytes(data[: len(data) - cut])
    return path


def test_read_idx_parses_images_and_labels(tmp_path: Path) -> None:
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    images = mnist.read_idx(_idx(tmp_path / "i.gz", (2051, 2, 3, 4), pixels.tobytes()))
    labels = mnist.read_idx(_idx(tmp_path / "l.gz", (2049, 3), bytes([7, 0, 9])))
    assert np.array_equal(images, pixels) and images.dtype == np.uint8
    assert labels.tolist() == [7, 0, 9]


@pytest.mark.parametrize(
    "header, payload, cut, match",
    [
        ((2050, 3), b"abc", 0, r"magic number 2050, expected 2049 \(labels\) or 2051"),
        ((2049, 4), b"abc", 0, r"ends after 3 of the 4 bytes of the \(4,\) uint8 values"),
        ((2049, 2), b"abc", 0, r"data continues after the \(2,\) values"),
        ((2051, 5), b"", 0, r"ends after 0 of the 8 bytes of the header"),
        ((2051, 1 << 20, 1 << 12, 1 << 12), b"", 0, r"header announces shape .* more than"),
        ((2049, 3), b"abc", 6, r"not a complete gzip stream"),
    ],
)
def test_read_idx_refuses_malformed_files(tmp_path: Path, header: tuple[int, ...],
                                          payload: bytes, cut: int, match: str) -> None:
    with pytest.raises(SerializationError, match=match):
        mnist.read_idx(_idx(tmp_path / "bad.gz", header, payload, cut=cut))


def _no_network(url: str, dest: Path) -> None:
    raise OSError(f"network disabled in tests ({url})")


def test_mnist_missing_files_say_what_to_put_where(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setattr(mnist, "_download_one", _no_network)
    folder = tmp_path / "empty"
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data(folder)
    message = str(info.value)
    assert f"Put these files in {folder}: " in message and "network disabled" in message
    assert all(name in message for name in mnist.FILES)
    assert mnist.ENV_VAR in message


@needs_mnist
def test_mnist_missing_file_message_names_only_the_missing_ones(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(mnist, "_download_one", _no_network)
    folder = _copy_of_mnist(tmp_path / "mnist")
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError,
                       match=rf"Put these files in {folder}: t10k-images-idx3-ubyte.gz \("):
        mnist.load_data(folder)


def _mirror(folder: Path, *, tamper: bool) -> str:
    """A file:// mirror holding the two label files (optionally with one byte changed)."""
    folder.mkdir()
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        data = bytearray((MNIST_DIR / name).read_bytes())
        data[-20] ^= 0xFF if tamper else 0
        (folder / name).write_bytes(bytes(data))
    return folder.as_uri() + "/"


def _cache_with_images_only(folder: Path) -> Path:
    folder = _copy_of_mnist(folder)
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).unlink()
    return folder


@needs_mnist
def test_mnist_downloads_missing_files_verified_and_atomically(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, real_mnist: mnist.Split) -> None:
    bad, good = _mirror(tmp_path / "bad", tamper=True), _mirror(tmp_path / "good", tamper=False)
    monkeypatch.setattr(mnist, "MIRRORS", (bad, good))  # the tampered copy is refused, then skipped
    cache = _cache_with_images_only(tmp_path / "cache")
    (_, y_train), (_, y_test) = mnist.load_data(cache)
    assert np.array_equal(y_train, real_mnist[0][1]) and np.array_equal(y_test, real_mnist[1][1])
    assert sorted(p.name for p in cache.iterdir()) == sorted(mnist.FILES)  # no temp files left


@needs_mnist
def test_mnist_download_with_bad_checksum_leaves_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(mnist, "MIRRORS", (_mirror(tmp_path / "bad", tamper=True),))
    cache = _cache_with_images_only(tmp_path / "cache")
    missing = r"Put these files in .*: train-labels-idx1-ubyte.gz, t10k-labels-idx1-ubyte.gz \("
    refused = r".*Download errors: .*expected 28,881 bytes with sha256 3552534a"
    with pytest.raises(FileNotFoundError, match=missing + refused):
        mnist.load_data(cache)
    assert sorted(p.name for p in cache.iterdir()) == [  # no partial or temp file left
        "t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"]
