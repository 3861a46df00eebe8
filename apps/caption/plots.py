"""caption's pictures: an image with one attention map per generated word."""

from __future__ import annotations

import math

import numpy as np

from rnnkit.figures import image, png  # noqa: F401 (re-exported for the CLI and the task)


def grid_shape(cells: int, height: int, width: int) -> tuple[int, int]:
    """The (rows, columns) of an encoder grid of ``cells`` over a ``height`` x ``width`` input."""
    rows = max(1, round(math.sqrt(cells * height / width)))
    if cells % rows:
        raise ValueError(f"cannot lay {cells} grid cells over a {height}x{width} image")
    return rows, cells // rows


def attention_figure(pixels, rows, attention, title_width: int = 60):
    """``pixels``: the model inputs ``[n, h, w, c]``; ``rows``: dicts with ``image``,
    ``caption``, ``tokens``; ``attention``: ``[n, steps, grid]``.

    One row of panels per image: the input, then the attention of each word
    (and of ``<end>``) over it.
    """
    from matplotlib.figure import Figure

    pixels = np.asarray(pixels)
    n, height, width = pixels.shape[:3]
    grid = grid_shape(attention.shape[-1], height, width)
    words = [row["caption"].split() + ["<end>"] for row in rows]
    columns = 1 + max(len(w) for w in words)
    aspect = width / height
    figure = Figure(figsize=(min(2.0 * aspect, 4) * columns / 2 + 0.5, 1.3 * n + 0.3), dpi=90)
    for i in range(n):
        shown = pixels[i, ..., 0] if pixels.shape[-1] == 1 else pixels[i]
        axes = figure.add_subplot(n, columns, i * columns + 1)
        axes.imshow(shown, cmap="gray", vmin=0, vmax=1)
        axes.set_title(str(rows[i]["image"])[-title_width:], fontsize="x-small")
        axes.axis("off")
        for t, word in enumerate(words[i]):
            if t >= attention.shape[1]:
                break
            heat = attention[i, t].reshape(grid)
            axes = figure.add_subplot(n, columns, i * columns + t + 2)
            axes.imshow(shown, cmap="gray", vmin=0, vmax=1)
            axes.imshow(
                heat,
                cmap="inferno",
                alpha=0.6,
                extent=(-0.5, width - 0.5, height - 0.5, -0.5),
                interpolation="bilinear",
            )
            axes.set_title(word, fontsize="small")
            axes.axis("off")
    figure.tight_layout()
    return figure
