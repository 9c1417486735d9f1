"""PNG charts for the reports, drawn with matplotlib (Agg, no display) in the bundled CJK font.

The font is the project's own file (reports/fonts), registered with matplotlib's font manager
and named explicitly, so Chinese product and vendor names never fall back to a font without
their glyphs, whatever the machine has installed.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# month labels such as 2026-11 are categories on purpose; matplotlib says so at INFO each time
logging.getLogger("matplotlib.category").setLevel(logging.WARNING)

FONT_FILE = Path(__file__).resolve().parent / "fonts" / "DroidSansFallbackFull.ttf"


@cache
def font_family() -> str:
    """The bundled font's family name, registered with matplotlib once."""
    font_manager.fontManager.addfont(str(FONT_FILE))
    return font_manager.FontProperties(fname=str(FONT_FILE)).get_name()


def _figure(title: str) -> tuple[Figure, Axes]:
    # Latin letters and digits come from matplotlib's own DejaVu Sans: the CJK font has none
    matplotlib.rcParams["font.family"] = [font_family(), "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the font has no U+2212
    figure = Figure(figsize=(9, 5), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def stacked_bars(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], y_label: str
) -> bytes:
    """One bar per category, stacked by series (complaints per month, by product)."""
    figure, axes = _figure(title)
    bottom = [0.0] * len(categories)
    for name, values in series.items():
        axes.bar(categories, values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel(y_label)
    # they are counts: no 0.2 of a complaint on the axis
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if series:
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(figure)


def rate_bars(
    title: str, labels: Sequence[str], rates: Sequence[float | None], y_label: str
) -> bytes:
    """One bar per label, a rate between 0 and 100 %; a missing rate is drawn as no bar."""
    figure, axes = _figure(title)
    values = [(r or 0.0) * 100 for r in rates]
    bars = axes.bar(labels, values)
    axes.bar_label(bars, labels=["-" if r is None else f"{r:.0%}" for r in rates])
    axes.set_ylim(0, 110)
    axes.set_ylabel(y_label)
    return _png(figure)


def lines(
    title: str,
    x: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    y_label: str,
    *,
    limit: float | None = None,
    limit_label: str = "",
) -> bytes:
    """One line per series over x (vendor scores over six months; completion per day)."""
    figure, axes = _figure(title)
    for name, values in series.items():
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        axes.plot([x[i] for i, _ in points], [v for _, v in points], marker="o", label=name)
    if limit is not None:
        axes.axhline(limit, color="red", linestyle="--", label=limit_label)
    axes.set_ylabel(y_label)
    if len(x) > 12:
        axes.tick_params(axis="x", labelrotation=90, labelsize="small")
    if series or limit is not None:
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _png(figure)


def bars_against_limits(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    limits: Sequence[float | None],
    y_label: str,
    *,
    limit_label: str,
) -> bytes:
    """One bar per label (a customer's exchange ratio, in %) and its own limit drawn across it
    as a dashed marker; a bar over its limit is drawn red. A missing value is no bar, a missing
    limit no marker."""
    figure, axes = _figure(title)
    positions = list(range(len(labels)))
    heights = [v or 0.0 for v in values]
    pairs = list(zip(values, limits, strict=True))
    over = [v is not None and lim is not None and v > lim for v, lim in pairs]
    bars = axes.bar(positions, heights, color=["tab:red" if o else "tab:blue" for o in over])
    axes.bar_label(bars, labels=["-" if v is None else f"{v:.2f}%" for v in values])
    marked = [(x, lim) for x, lim in zip(positions, limits, strict=True) if lim is not None]
    if marked:
        axes.hlines(
            [lim for _, lim in marked],
            [x - 0.4 for x, _ in marked],
            [x + 0.4 for x, _ in marked],
            colors="black",
            linestyles="--",
            linewidth=2,
            label=limit_label,
        )
        axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    axes.set_xticks(positions, labels)
    if len(labels) > 6:
        axes.tick_params(axis="x", labelrotation=60, labelsize="small")
    top = max([*heights, *(lim for _, lim in marked), 1.0])
    axes.set_ylim(0, top * 1.2)
    axes.set_ylabel(y_label)
    return _png(figure)
