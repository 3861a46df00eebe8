"""translate's picture: where each target word looked in its source (the attention matrix)."""

from __future__ import annotations

import numpy as np

from rnnkit.figures import image, png  # noqa: F401 (re-exported for the CLI and the task)


def attention_figure(rows, title_width: int = 70):
    """One panel per translation (``decoding.rows`` entries): the source words across, the
    target words down, each cell the attention weight (dark: none, bright: all)."""
    from matplotlib.figure import Figure

    sizes = [(max(len(r["source_words"]), 1), max(len(r["words"]), 1)) for r in rows]
    width = max(3.0, 0.45 * max(s for s, _ in sizes) + 1.8)
    heights = [0.35 * t + 1.4 for _, t in sizes]
    figure = Figure(figsize=(width, sum(heights)), dpi=90)
    grid = figure.add_gridspec(len(rows), 1, height_ratios=heights)
    for k, row in enumerate(rows):
        axes = figure.add_subplot(grid[k])
        weights = np.asarray(row["attention"], np.float32).reshape(
            len(row["words"]), len(row["source_words"])
        )
        if weights.size == 0:  # nothing written: an empty matrix has nothing to draw
            weights = np.zeros((1, max(len(row["source_words"]), 1)), np.float32)
        axes.imshow(weights, cmap="magma", vmin=0.0, vmax=1.0, aspect="auto")
        axes.set_xticks(range(len(row["source_words"])), row["source_words"], rotation=60)
        axes.set_yticks(range(len(row["words"])), row["words"])
        axes.tick_params(labelsize="small", length=0)
        axes.xaxis.tick_top()
        axes.set_xlabel(row["translation"][:title_width] or "(empty)", fontsize="small")
    figure.tight_layout()
    return figure
