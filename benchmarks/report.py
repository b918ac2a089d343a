"""The one table the benchmarks print."""

import operator
from dataclasses import dataclass

COMPARISONS = {"<=": operator.le, ">=": operator.ge}


@dataclass
class Row:
    """NetRegressor's figure for one measure, beside one contender's.

    ``ratio`` is always NetRegressor's value divided by the contender's:
    below 1 is better for times, instructions and memory, above 1 for
    samples per second. ``target`` is a ``(comparison, threshold)`` on the
    ratio, or None for figures shown for information.
    """

    scenario: str
    measure: str
    unit: str
    value: float
    other: str
    other_value: float
    target: tuple[str, float] | None = None

    @property
    def ratio(self):
        return self.value / self.other_value

    @property
    def met(self):
        if self.target is None:
            return None
        comparison, threshold = self.target
        return COMPARISONS[comparison](self.ratio, threshold)


HEADER = (
    "scenario",
    "measure",
    "sknet",
    "compared with",
    "its value",
    "ratio",
    "target",
    "met",
)


def format_table(rows):
    """Return the rows as a plain-text table with aligned columns."""
    cells = [HEADER]
    previous = None
    for row in rows:
        scenario = row.scenario if row.scenario != previous else ""
        previous = row.scenario
        cells.append(
            (
                scenario,
                row.measure,
                format_value(row.value, row.unit),
                row.other,
                format_value(row.other_value, row.unit),
                f"{row.ratio:.3g}",
                "" if row.target is None else f"{row.target[0]} {row.target[1]:g}",
                {None: "", True: "yes", False: "NO"}[row.met],
            )
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    lines = [_join(cells[0], widths), _join(["-" * width for width in widths], widths)]
    lines += [_join(line, widths) for line in cells[1:]]
    return "\n".join(lines)


def _join(cells, widths):
    padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
    return "  ".join(padded).rstrip()


def format_value(value, unit):
    if unit == "s":
        return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"
    if unit == "instructions":
        return f"{value / 1e6:.3g} M"
    if unit == "samples/s" and value >= 1e6:
        return f"{value / 1e6:.3g} M/s"
    if unit == "samples/s":
        return f"{value / 1e3:.3g} k/s"
    if unit == "MiB":
        return f"{value:.0f} MiB"
    return f"{value:g}"
