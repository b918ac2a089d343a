"""The documentation stays complete and in step with the package.

The site itself is built, with its examples run, by ``make docs``; these
tests check what a build cannot: that the API page lists every public name,
that the two tutorials run the same code, and that the docstring rewriting
for the API page reads numpydoc as intended.
"""

import importlib.util
import re
from pathlib import Path

import pytest

import sknet

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _load_docs_module(name):
    spec = importlib.util.spec_from_file_location(name, DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _executed_code(page):
    """Return the executed code of a page, without comments or figure calls."""
    text = (DOCS / page).read_text(encoding="utf-8")
    blocks = re.findall(r'```python exec="on"[^\n]*\n(.*?)```', text, re.DOTALL)
    lines = []
    for line in "\n".join(blocks).splitlines():
        code = line.split("#", 1)[0].rstrip()
        if code and not code.lstrip().startswith("show("):
            lines.append(code)
    return lines


def test_api_page_documents_every_public_name():
    api = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: (\S+)$", api, re.MULTILINE))
    expected = {f"sknet.{name}" for name in sknet.__all__} | {"sknet.datasets"}
    assert documented == expected


def test_both_tutorials_run_the_same_code():
    english = _executed_code("tutorial.md")
    japanese = _executed_code("tutorial.ja.md")
    assert english, "no executed code found in tutorial.md"
    assert english == japanese


@pytest.fixture(scope="module")
def numpydoc():
    return _load_docs_module("griffe_numpydoc")


KNOWN = {"sknet.Net", "sknet.NetRegressor", "sknet.NetRegressor.fit"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (":class:`Net`", "[`Net`][sknet.Net]"),
        (":meth:`fit`", "[`fit()`][sknet.NetRegressor.fit]"),
        (":class:`sknet.Net`", "[`sknet.Net`][sknet.Net]"),
        (
            ":func:`~sklearn.metrics.r2_score`",
            "[`r2_score()`](https://scikit-learn.org/stable/modules/generated/"
            "sklearn.metrics.r2_score.html)",
        ),
        (":class:`torch.nn.MSELoss`", "`torch.nn.MSELoss`"),
    ],
)
def test_roles_become_links_from_the_innermost_scope(numpydoc, role, expected):
    rewritten = numpydoc._rewrite(f"See {role}.", "sknet.NetRegressor.fit", KNOWN)
    assert rewritten == f"See {expected}."


def test_typed_entries_keep_their_written_type_and_default(numpydoc):
    docstring = "\n".join(
        [
            "Summary.",
            "",
            "Parameters",
            "----------",
            'loss : {"mse", "l1"} or type, default=nn.MSELoss',
            "    The loss.",
            "path : str or path-like",
            "    The file.",
            "",
            "Returns",
            "-------",
            "data : :class:`~sklearn.utils.Bunch`",
            "    With the attributes:",
            "",
            "    target : ndarray of shape (n,)",
            "        The target.",
        ]
    )
    lines = numpydoc._rewrite(docstring, "sknet.load", KNOWN).split("\n")
    # Two spaces keep the parser from reading these types as expressions.
    assert lines[4] == 'loss :  {"mse", "l1"} or type, default=nn.MSELoss'
    assert lines[6] == "path :  str or path-like"
    assert lines[11] == "data : Bunch"
    assert lines[14] == "    - `target` (ndarray of shape (n,)): The target."


def test_see_also_becomes_a_list(numpydoc):
    docstring = "\n".join(
        [
            "Summary.",
            "",
            "See Also",
            "--------",
            "Net : The default",
            "    network.",
            "sklearn.neural_network.MLPRegressor",
        ]
    )
    lines = numpydoc._rewrite(docstring, "sknet.NetRegressor", KNOWN).split("\n")
    assert lines[4] == "- [`Net`][sknet.Net]: The default network."
    assert lines[5].startswith("- [`sklearn.neural_network.MLPRegressor`](https://")
