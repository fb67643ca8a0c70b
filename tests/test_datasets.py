"""Data sources: the ``file`` source reads a user's array and names the file in every error."""

import numpy as np
import pytest

from deatf_gan.config import config_from_dict
from deatf_gan.datasets import load_dataset
from deatf_gan.errors import ConfigError, DataError


def _load(path, **params):
    return load_dataset("file", {"path": str(path), **params})


def test_npy_two_columns_round_trip(tmp_path):
    data = np.random.default_rng(0).normal(size=(50, 2))
    np.save(tmp_path / "points.npy", data)
    dataset = _load(tmp_path / "points.npy")
    assert dataset.samples.dtype == np.float32 and dataset.dim == 2
    np.testing.assert_allclose(dataset.samples, data, rtol=1e-6)
    assert dataset.standardize and dataset.output_activation == "linear"


def test_one_dimensional_npy_is_one_feature(tmp_path):
    np.save(tmp_path / "values.npy", np.arange(10, dtype=np.int64))
    assert _load(tmp_path / "values.npy").samples.shape == (10, 1)


def test_csv_with_header_and_options(tmp_path):
    (tmp_path / "data.csv").write_text("x,y\n0.5,-0.25\n-1,1\n\n0,0.75\n")
    dataset = _load(tmp_path / "data.csv", standardize=False, output_activation="tanh")
    np.testing.assert_allclose(dataset.samples, [[0.5, -0.25], [-1, 1], [0, 0.75]])
    assert not dataset.standardize and dataset.output_activation == "tanh"


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("text.csv", "1,2\n3,abc\n", "line 2, column 2: not a number ('abc')"),
        ("nan.csv", "1,2\nnan,4\n", "line 2, column 1: NaN or inf"),
        ("inf.csv", "x\n1\ninf\n", "line 3, column 1: NaN or inf"),
        ("ragged.csv", "1,2\n3\n", "line 2 has 1 columns, expected 2"),
        ("empty.csv", "", "holds no samples"),
        ("header_only.csv", "x,y\n", "holds no samples"),
        ("one_row.csv", "1,2\n", "at least 2 rows"),
        ("data.txt", "1\n2\n", "unknown data file extension '.txt'"),
    ],
)
def test_bad_text_files_name_the_file_and_place(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DataError) as caught:
        _load(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([[1.0, 2.0], [np.inf, 3.0]]), "NaN or inf at array row 2, column 1"),
        (np.zeros((4, 2, 2)), "expected a 1-D or 2-D array, got shape (4, 2, 2)"),
        (np.zeros((0, 3)), "holds no samples"),
        (np.array([["a", "b"], ["c", "d"]]), "expected an integer or float array"),
    ],
)
def test_bad_npy_arrays_name_the_file(tmp_path, array, expected):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(DataError) as caught:
        _load(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)


def test_unreadable_files(tmp_path):
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81")
    for name in ("empty.npy", "binary.csv", "missing.csv"):
        with pytest.raises(DataError, match=str(tmp_path / name)):
            _load(tmp_path / name)


def test_tanh_needs_data_in_range(tmp_path):
    np.save(tmp_path / "wide.npy", np.array([0.0, 2.5, -1.0]))
    with pytest.raises(DataError, match=r"tanh needs data in \[-1, 1\]"):
        _load(tmp_path / "wide.npy", output_activation="tanh")


def test_config_checks_the_data_file(tmp_path):
    np.save(tmp_path / "ok.npy", np.ones((5, 1)))
    config = config_from_dict({"data": {"name": "file", "params": {"path": str(tmp_path / "ok.npy")}}})
    assert config.data.params["path"] == str(tmp_path / "ok.npy")
    for params in ({"path": str(tmp_path / "gone.npy")}, {}):
        with pytest.raises(ConfigError, match="data.params.path"):
            config_from_dict({"data": {"name": "file", "params": params}})


def test_mixtures_have_their_modes_and_spread():
    ring, grid = load_dataset("ring8"), load_dataset("grid25")
    assert ring.kind == grid.kind == "mixture" and ring.dim == grid.dim == 2
    np.testing.assert_allclose(np.linalg.norm(ring.centres, axis=1), 2.0, rtol=1e-6)
    assert sorted(set(grid.centres[:, 0].tolist())) == [-4, -2, 0, 2, 4] and len(grid.centres) == 25
    for dataset, stddev in ((ring, 0.02), (grid, 0.05)):
        nearest = np.linalg.norm(dataset.samples[:, None] - dataset.centres[None], axis=2)
        assert dataset.mode_stddev == stddev
        assert np.all(nearest.min(axis=1) < 6 * stddev)  # every sample sits on a mode
        counts = np.bincount(nearest.argmin(axis=1), minlength=len(dataset.centres))
        assert counts.min() > 0.7 * counts.mean()  # equal weights
    assert not np.array_equal(load_dataset("ring8", seed=1).samples, ring.samples)


@pytest.mark.parametrize(
    "name, params, expected",
    [
        ("ring8", {"stddev": -1}, "data.params.stddev: must be > 0 (got -1)"),
        ("grid25", {"spacing": float("inf")}, "data.params.spacing: must be a finite number (got inf)"),
        ("gaussian_1d", {"samples": 1}, "data.params.samples: must be >= 2 (got 1)"),
        ("ring8", {"modes": True}, "data.params.modes: must be an integer (got True)"),
        ("file", {"path": "x.csv", "standardize": "yes"}, "data.params.standardize: must be true or false"),
    ],
)
def test_a_bad_data_parameter_is_named_before_any_data_is_made(name, params, expected):
    with pytest.raises(ConfigError) as error:
        load_dataset(name, params)
    assert expected in str(error.value)


def test_digits_ship_with_scikit_learn():
    digits = load_dataset("digits")
    assert digits.samples.shape == (1797, 64) and digits.kind == "digits"
    assert digits.samples.min() == -1.0 and digits.samples.max() == 1.0
    assert digits.output_activation == "tanh" and not digits.standardize
