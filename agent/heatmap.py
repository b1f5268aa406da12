"""A picture of when slots appeared: weekday × hour (Munich time), the hours the agent polls densely
outlined. Rendered headless with matplotlib's Agg backend into PNG bytes (``/patterns`` in the bot)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display here, ever; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from .patterns import ReleasePattern  # noqa: E402

WEEKDAYS = {"de": ["Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"], "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}
TITLES = {"de": ("Wann Termine erschienen", "Stunde (Münchner Zeit)", "Termine"),
          "en": ("When slots appeared", "hour (Munich time)", "slots")}


def heatmap_png(pattern: ReleasePattern, title: str = "", lang: str = "en") -> bytes:
    grid = [[pattern.counts.get(day * 24 + hour, 0) for hour in range(24)] for day in range(7)]
    heading, xlabel, unit = TITLES["de" if lang == "de" else "en"]
    figure, axes = plt.subplots(figsize=(9, 3.6), dpi=100)
    try:
        image = axes.imshow(grid, aspect="auto", cmap="Blues", vmin=0)
        axes.set_yticks(range(7), WEEKDAYS["de" if lang == "de" else "en"])
        axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
        axes.set_xlabel(xlabel)
        axes.set_title(f"{heading}{': ' + title if title else ''} (n={pattern.observations})")
        for hour in pattern.hot:  # dense polling: the hot hour and the hour before it
            for h in (hour, (hour - 1) % 168):
                axes.add_patch(Rectangle((h % 24 - 0.5, h // 24 - 0.5), 1, 1, fill=False, edgecolor="#d62728",
                                         linewidth=1.6))
        figure.colorbar(image, ax=axes, label=unit, fraction=0.03)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(figure)
