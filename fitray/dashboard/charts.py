"""How the analysis looks: KPI text and one Altair (Vega-Lite) bar chart per breakdown.

The page and the static report share these, so the report shows what the page shows. Values
travel inline in each spec (no data URL to fetch), and the specs carry no ``$schema`` URL:
nothing in a rendered chart points outside the machine.
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt

from fitray.dashboard.analysis import Bar, Kpis
from fitray.dashboard.queries import DIMENSIONS, MEASURES, ChartSpec

__all__ = [
    "NO_RATINGS",
    "bar_chart",
    "chart_height_px",
    "format_count",
    "format_mean",
    "kpi_items",
    "table_rows",
    "vega_lite_spec",
]

NO_RATINGS = "no ratings"
NO_VALUES = "no values"
COLORS = {"kcal_per_hour_per_kg": "#e4572e", "rating": "#4c78a8"}
BAR_PX = 22  # height of one horizontal bar
PLOT_PX = 260  # plot height of a vertical bar chart
FRAME_PX = 110  # title and axes around the plot


def _plot_height_px(chart: ChartSpec, bars: int) -> int:
    return max(120, BAR_PX * bars) if chart.horizontal else PLOT_PX


def chart_height_px(chart: ChartSpec, bars: int) -> int:
    """Height of the whole chart (plot, title, axes): what Streamlit needs to lay it out."""
    return _plot_height_px(chart, bars) + FRAME_PX


def format_count(value: int) -> str:
    return f"{value:,}"


def format_mean(value: float | None, none_text: str = NO_VALUES, digits: int = 2) -> str:
    """A mean with fixed decimals; ``None`` (a mean over nothing) becomes words, never NaN."""
    return none_text if value is None else f"{value:,.{digits}f}"


def kpi_items(kpis: Kpis) -> list[tuple[str, str]]:
    """(label, value) of the three KPIs, labelled as the original sheet labelled them."""
    return [
        ("Total Exercises", format_count(kpis.total_exercises)),
        (
            "Avg. Calories Burned per Hour per kg",
            format_mean(kpis.avg_kcal_per_hour_per_kg),
        ),
        ("Avg. Exercise Rating", format_mean(kpis.avg_rating, NO_RATINGS)),
    ]


def table_rows(chart: ChartSpec, bars: tuple[Bar, ...]) -> list[dict[str, str]]:
    """The numbers behind a chart, as text (4 decimals) for a table a reader can check."""
    return [
        {
            DIMENSIONS[chart.dimension]: bar.label,
            MEASURES[chart.measure]: format_mean(bar.value, digits=4),
            "values": format_count(bar.count),
        }
        for bar in bars
    ]


def bar_chart(
    chart: ChartSpec, bars: tuple[Bar, ...], width: int | Literal["container"] = "container"
) -> alt.Chart:
    """Mean per category; horizontal charts sort by value, levels keep Beginner..Expert."""
    order = [bar.label for bar in bars]
    category = alt.X if not chart.horizontal else alt.Y
    amount = alt.Y if not chart.horizontal else alt.X
    data = alt.Data(values=[{"label": b.label, "value": b.value, "count": b.count} for b in bars])
    return (
        alt.Chart(data, title=chart.title, width=width, height=_plot_height_px(chart, len(bars)))
        .mark_bar(color=COLORS[chart.measure])
        .encode(
            category(
                "label:N",
                sort=order,
                title=DIMENSIONS[chart.dimension],
                axis=alt.Axis(
                    labelAngle=0 if chart.horizontal else -40, labelOverlap=False, labelLimit=160
                ),
            ),
            amount("value:Q", title=MEASURES[chart.measure], stack=None),
            tooltip=[
                alt.Tooltip("label:N", title=DIMENSIONS[chart.dimension]),
                alt.Tooltip("value:Q", title=MEASURES[chart.measure], format=".2f"),
                alt.Tooltip("count:Q", title="values"),
            ],
        )
    )


def vega_lite_spec(chart: ChartSpec, bars: tuple[Bar, ...], width: int = 460) -> dict[str, Any]:
    """The chart as a plain Vega-Lite dict at a fixed width (for files: HTML, PNG, SVG).

    Not validated against Vega-Lite's JSON schema on every call (a quarter of the page's time
    on the server-rendered page); tests validate every chart's spec once."""
    spec: dict[str, Any] = bar_chart(chart, bars, width).to_dict(validate=False)
    spec.pop("$schema", None)
    return spec
