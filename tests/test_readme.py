"""The README's opening example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs(capsys):
    text = README.read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1)
    exec(compile(example, str(README), "exec"), {})
    printed = capsys.readouterr().out
    r2 = float(re.search(r"test R2 (-?[\d.]+)", printed).group(1))
    assert r2 > 0.8


def test_readme_commands_match_ci():
    text = README.read_text(encoding="utf-8")
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in text and "make test" in ci
    assert "make demo" in text
