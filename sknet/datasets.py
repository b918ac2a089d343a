"""Example data: US quarterly macroeconomic series, read from statsmodels.

Nothing here downloads anything. The numbers ship with the ``statsmodels``
package, which the ``cli`` extra installs (``pip install 'sknet[cli]'``).
"""

import textwrap

from sklearn.utils import Bunch

from ._params import did_you_mean

# Every series of the table, with what it measures and its unit.
MACRO_VARIABLES = {
    "realgdp": "real gross domestic product; billions of chained 2005 US "
    "dollars, seasonally adjusted annual rate",
    "realcons": "real personal consumption expenditures; billions of chained "
    "2005 US dollars, seasonally adjusted annual rate",
    "realinv": "real gross private domestic investment; billions of chained "
    "2005 US dollars, seasonally adjusted annual rate",
    "realgovt": "real federal consumption expenditures and gross investment; "
    "billions of chained 2005 US dollars, seasonally adjusted annual rate",
    "realdpi": "real disposable personal income; billions of chained 2005 US "
    "dollars, seasonally adjusted annual rate",
    "cpi": "consumer price index for all urban consumers, all items, at the "
    "end of the quarter; index 1982-84 = 100, seasonally adjusted",
    "m1": "M1 money stock at the end of the quarter; billions of US dollars, "
    "seasonally adjusted",
    "tbilrate": "3-month Treasury bill rate, secondary market, mean of the "
    "quarter's monthly averages; percent per year",
    "unemp": "civilian unemployment rate; percent of the labour force, "
    "seasonally adjusted",
    "pop": "total population at the end of the quarter, including armed "
    "forces overseas; millions of people",
    "infl": "inflation, 400 * (log cpi - log cpi of the previous quarter); "
    "percent per year",
    "realint": "real interest rate, tbilrate - infl; percent per year",
}

# Series that grow over time and enter the changes table as annualised growth.
_GROWTH_SERIES = ("realgdp", "realcons", "realinv", "realgovt", "realdpi", "m1", "pop")
# Series that are already rates and enter it as they are.
_RATE_SERIES = ("infl", "tbilrate", "realint")

_SOURCE = """\
Source
------
Federal Reserve Economic Data (FRED), Federal Reserve Bank of St. Louis, and,
for the unemployment rate, the US Bureau of Labor Statistics (BLS); accessed
in December 2009 and compiled by Skipper Seabold for statsmodels
(statsmodels.datasets.macrodata). Public domain. sknet reads the copy that
ships with the installed statsmodels package and never downloads it.
"""


def load_macrodata(
    *, target: str = "realgdp", as_frame: bool = False, return_X_y: bool = False
):
    """Load US quarterly macroeconomic data, 1959Q1 to 2009Q3 (203 quarters).

    Twelve series from FRED and the BLS, as compiled by statsmodels: real
    GDP and its components, prices, money, interest rates, unemployment and
    population. One column is the target and the other eleven are the
    features; ``DESCR`` lists every series with its unit.

    Most of these series are levels that trend upwards, so a model fitted on
    the early quarters is asked to extrapolate on the late ones. For a
    question whose test period looks like its training period, see
    :func:`load_unemployment_changes`.

    Parameters
    ----------
    target : str, default="realgdp"
        The series to predict: one of ``realgdp``, ``realcons``, ``realinv``,
        ``realgovt``, ``realdpi``, ``cpi``, ``m1``, ``tbilrate``, ``unemp``,
        ``pop``, ``infl`` or ``realint``.
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a Series and
        ``frame`` a DataFrame holding both, all indexed by quarter.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray or DataFrame of shape (203, 11)
            The features, in the order of ``feature_names``.
        target : ndarray or Series of shape (203,)
            The target series.
        frame : DataFrame of shape (203, 12) or None
            Features and target together; None unless ``as_frame=True``.
        feature_names : list of str
            The eleven feature columns.
        target_names : list of str
            ``[target]``.
        dates : DatetimeIndex of shape (203,)
            The first day of each quarter, named ``date``. With
            ``as_frame=True`` it is also the index of ``data``, ``target``
            and ``frame``.
        DESCR : str
            Description of the data: source, period and every series with
            its unit.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Raises
    ------
    ImportError
        If statsmodels is not installed.
    ValueError
        If ``target`` is not one of the twelve series.

    See Also
    --------
    load_unemployment_changes : A stationary question built from these series.

    Examples
    --------
    >>> from sknet.datasets import load_macrodata
    >>> macro = load_macrodata(target="unemp", as_frame=True)
    >>> macro.data.shape
    (203, 11)
    >>> macro.target.index[[0, -1]].strftime("%Y-%m-%d").tolist()
    ['1959-01-01', '2009-07-01']
    """
    if target not in MACRO_VARIABLES:
        raise ValueError(
            f"target={target!r} is not a series of the table"
            f"{did_you_mean(str(target), list(MACRO_VARIABLES))}; choose one of "
            f"{list(MACRO_VARIABLES)}."
        )
    table = _read_macrodata()
    features = [name for name in MACRO_VARIABLES if name != target]
    descr = _macrodata_descr(target)
    return _bunch(table, features, target, descr, as_frame, return_X_y)


def load_unemployment_changes(*, as_frame: bool = False, return_X_y: bool = False):
    """Load quarterly changes in US unemployment and same-quarter macro growth.

    The question is Okun's law: how much does the unemployment rate move in a
    quarter in which output, spending, money and interest rates move as they
    did? The target is the change in the unemployment rate from the previous
    quarter, in percentage points. The eleven features describe the same
    quarter and are built from :func:`load_macrodata` so that none of them
    trends:

    - ``<name>_growth``: annualised log growth, ``400 * (log x_t - log
      x_{t-1})`` in percent per year, for ``realgdp``, ``realcons``,
      ``realinv``, ``realgovt``, ``realdpi``, ``m1`` and ``pop``;
    - ``infl``, ``tbilrate`` and ``realint`` as they are, in percent per
      year;
    - ``tbilrate_change``: the change in ``tbilrate`` from the previous
      quarter, in percentage points.

    The first quarter, which has no previous quarter, is dropped, leaving 202
    quarters from 1959Q2 to 2009Q3.

    Parameters
    ----------
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame, ``target`` a Series and
        ``frame`` a DataFrame holding both, all indexed by quarter.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray or DataFrame of shape (202, 11)
            The features, in the order of ``feature_names``.
        target : ndarray or Series of shape (202,)
            The change in the unemployment rate, named ``unemp_change``.
        frame : DataFrame of shape (202, 12) or None
            Features and target together; None unless ``as_frame=True``.
        feature_names : list of str
            The eleven feature columns.
        target_names : list of str
            ``["unemp_change"]``.
        dates : DatetimeIndex of shape (202,)
            The first day of each quarter, named ``date``. With
            ``as_frame=True`` it is also the index of ``data``, ``target``
            and ``frame``.
        DESCR : str
            The question, the transformation and the source.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` described above.

    Raises
    ------
    ImportError
        If statsmodels is not installed.

    See Also
    --------
    load_macrodata : The series in levels.

    Notes
    -----
    Levels such as real GDP rise through the whole period. Split in time
    order, the test quarters then lie outside the range the model was
    trained on, and a network, unlike a linear model, does not extrapolate a
    trend. Quarterly changes and growth rates stay in one range over the
    decades, so the last years are a fair test of what was learnt from the
    earlier ones.

    Examples
    --------
    >>> from sknet.datasets import load_unemployment_changes
    >>> X, y = load_unemployment_changes(return_X_y=True)
    >>> X.shape, y.shape
    ((202, 11), (202,))
    """
    import numpy as np

    levels = _read_macrodata()
    table = levels[list(_RATE_SERIES)].copy()
    for name in _GROWTH_SERIES:
        table[f"{name}_growth"] = 400 * np.log(levels[name]).diff()
    table["tbilrate_change"] = levels["tbilrate"].diff()
    table["unemp_change"] = levels["unemp"].diff()
    table = table.iloc[1:]

    features = [f"{name}_growth" for name in _GROWTH_SERIES]
    features += [*_RATE_SERIES, "tbilrate_change"]
    return _bunch(table, features, "unemp_change", _CHANGES_DESCR, as_frame, return_X_y)


def _read_macrodata():
    """Return the statsmodels table indexed by the first day of each quarter."""
    try:
        from statsmodels.datasets import macrodata
    except ImportError as error:
        raise ImportError(
            "The macroeconomic data ship with statsmodels, which is not "
            "installed. Install it with: pip install 'sknet[cli]'"
        ) from error
    import pandas as pd

    table = macrodata.load_pandas().data
    first_month = 3 * table["quarter"].astype(int) - 2
    starts = {"year": table["year"].astype(int), "month": first_month, "day": 1}
    table.index = pd.DatetimeIndex(pd.to_datetime(starts), freq="QS", name="date")
    return table[list(MACRO_VARIABLES)]


def _bunch(table, features, target, descr, as_frame, return_X_y):
    frame = table[[*features, target]]
    data, y = frame[features], frame[target]
    if not as_frame:
        data, y, frame = data.to_numpy(), y.to_numpy(), None
    if return_X_y:
        return data, y
    return Bunch(
        data=data,
        target=y,
        frame=frame,
        feature_names=list(features),
        target_names=[target],
        dates=table.index,
        DESCR=descr,
    )


def _variable_lines(names):
    return "\n".join(
        textwrap.fill(f"- {name}: {MACRO_VARIABLES[name]}", subsequent_indent="  ")
        for name in names
    )


def _macrodata_descr(target):
    features = [name for name in MACRO_VARIABLES if name != target]
    return f"""\
US quarterly macroeconomic data, 1959Q1-2009Q3
==============================================

203 quarters, indexed by the first day of each quarter. The target is
{target}; the other eleven series are the features.

Target
------
{_variable_lines([target])}

Features
--------
{_variable_lines(features)}

{_SOURCE}"""


_CHANGES_DESCR = f"""\
Quarterly changes in US unemployment (Okun's law), 1959Q2-2009Q3
================================================================

Question: how much does the US unemployment rate change in a quarter, given
how output, spending, income, money, population, prices and interest rates
moved in that same quarter? Okun's law says unemployment falls when output
grows faster than its trend and rises when it grows slower.

202 quarters, indexed by the first day of each quarter. Every column is
computed from the US quarterly macroeconomic data (see load_macrodata). The
growth rates and changes need the previous quarter, so the first quarter,
1959Q1, is dropped.

Target
------
- unemp_change: unemp - unemp of the previous quarter; percentage points.

Features
--------
- realgdp_growth, realcons_growth, realinv_growth, realgovt_growth,
  realdpi_growth, m1_growth, pop_growth: annualised log growth of the series,
  400 * (log x - log x of the previous quarter); percent per year.
- infl, tbilrate, realint: as in the original table; percent per year.
- tbilrate_change: tbilrate - tbilrate of the previous quarter; percentage
  points.

Why changes and not levels
--------------------------
The levels (real GDP, consumption, money, population) rise through all fifty
years. Split in time order, the last quarters then lie beyond anything seen
in training and a neural network, which does not extrapolate a trend, fits
them poorly. Growth rates and changes stay within one range over the decades,
so the most recent years are a fair test of what the earlier ones taught.

The original series
-------------------
{_variable_lines(MACRO_VARIABLES)}

{_SOURCE}"""
