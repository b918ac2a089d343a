import sys

import numpy as np
import pandas as pd
import pytest

from sknet.datasets import (
    MACRO_VARIABLES,
    load_macrodata,
    load_unemployment_changes,
)

CHANGES_FEATURES = [
    "realgdp_growth",
    "realcons_growth",
    "realinv_growth",
    "realgovt_growth",
    "realdpi_growth",
    "m1_growth",
    "pop_growth",
    "infl",
    "tbilrate",
    "realint",
    "tbilrate_change",
]


@pytest.mark.parametrize("target", ["realgdp", "unemp", "realint"])
def test_macrodata_splits_target_from_the_other_series(target):
    macro = load_macrodata(target=target)

    assert macro.data.shape == (203, 11)
    assert macro.target.shape == (203,)
    assert macro.target_names == [target]
    assert target not in macro.feature_names
    assert sorted([*macro.feature_names, target]) == sorted(MACRO_VARIABLES)
    assert macro.frame is None


def test_macrodata_drops_year_and_quarter_and_indexes_by_quarter():
    macro = load_macrodata(as_frame=True)

    assert not {"year", "quarter"} & set(macro.frame.columns)
    assert list(macro.frame.columns) == [*macro.feature_names, "realgdp"]
    assert isinstance(macro.frame.index, pd.DatetimeIndex)
    assert macro.frame.index.name == "date"
    assert macro.frame.index[0] == pd.Timestamp("1959-01-01")
    assert macro.frame.index[-1] == pd.Timestamp("2009-07-01")
    assert macro.data.index.equals(macro.target.index)
    assert macro.dates.equals(macro.frame.index)


def test_macrodata_as_arrays_matches_frame():
    arrays = load_macrodata(target="cpi")
    frames = load_macrodata(target="cpi", as_frame=True)

    assert isinstance(arrays.data, np.ndarray)
    np.testing.assert_array_equal(arrays.data, frames.data.to_numpy())
    np.testing.assert_array_equal(arrays.target, frames.target.to_numpy())


@pytest.mark.parametrize(
    ("loader", "n_rows"), [(load_macrodata, 203), (load_unemployment_changes, 202)]
)
@pytest.mark.parametrize("as_frame", [False, True])
def test_return_x_y(loader, n_rows, as_frame):
    X, y = loader(as_frame=as_frame, return_X_y=True)

    assert X.shape == (n_rows, 11)
    assert y.shape == (n_rows,)
    assert isinstance(X, pd.DataFrame) == as_frame


def test_macrodata_rejects_unknown_target_with_a_suggestion():
    with pytest.raises(ValueError, match=r"'realgpd'.*did you mean 'realgdp'"):
        load_macrodata(target="realgpd")


def test_macrodata_descr_names_sources_and_every_variable_with_units():
    descr = load_macrodata().DESCR

    for source in ["FRED", "Bureau of Labor Statistics", "statsmodels"]:
        assert source in descr
    for name in MACRO_VARIABLES:
        assert f"- {name}:" in descr
    assert "chained 2005" in descr
    assert "percent per year" in descr


def test_unemployment_changes_shape_names_and_dates():
    changes = load_unemployment_changes(as_frame=True)

    assert changes.feature_names == CHANGES_FEATURES
    assert changes.target_names == ["unemp_change"]
    assert changes.frame.shape == (202, 12)
    assert changes.dates[0] == pd.Timestamp("1959-04-01")
    assert changes.dates[-1] == pd.Timestamp("2009-07-01")
    assert np.isfinite(changes.frame.to_numpy()).all()


def test_unemployment_changes_are_computed_from_the_levels():
    levels = load_macrodata(target="unemp", as_frame=True).frame
    changes = load_unemployment_changes(as_frame=True).frame

    expected_target = levels["unemp"].diff().iloc[1:]
    pd.testing.assert_series_equal(
        changes["unemp_change"], expected_target, check_names=False
    )
    gdp_growth = 400 * np.log(levels["realgdp"]).diff().iloc[1:]
    np.testing.assert_allclose(changes["realgdp_growth"], gdp_growth)
    np.testing.assert_allclose(
        changes["tbilrate_change"], levels["tbilrate"].diff().iloc[1:]
    )
    np.testing.assert_array_equal(changes["infl"], levels["infl"].iloc[1:])


def test_unemployment_changes_descr_states_question_and_transform():
    descr = load_unemployment_changes().DESCR

    assert "Okun's law" in descr
    assert "400 * (log x - log x of the previous quarter)" in descr
    assert "Why changes and not levels" in descr
    for name in CHANGES_FEATURES:
        assert name in descr


@pytest.mark.parametrize("loader", [load_macrodata, load_unemployment_changes])
def test_missing_statsmodels_says_how_to_install(loader, monkeypatch):
    # None in sys.modules makes the next import of that module fail.
    monkeypatch.setitem(sys.modules, "statsmodels.datasets", None)

    with pytest.raises(ImportError, match=r"pip install 'sknet\[cli\]'"):
        loader()
