"""classify's pictures: the confusion matrix, and a sentence with each word's weight."""

from __future__ import annotations

import numpy as np

from rnnkit.figures import image, png  # noqa: F401 (re-exported for the CLI and the task)


def marked(row: dict) -> str:
    """A sentence as text, each word followed by its weight in hundredths:
    ``a(3) gorgeous(41) movie(7)``."""
    return " ".join(f"{w}({round(100 * x)})" for w, x in zip(row["words"], row["weights"]))


def confusion_figure(confusion, classes):
    """The confusion matrix: true classes down, predicted across, each cell's count."""
    from matplotlib.figure import Figure

    matrix = np.asarray(confusion)
    side = max(3.0, 0.6 * len(classes) + 2.0)
    figure = Figure(figsize=(side + 0.8, side), dpi=90)
    axes = figure.add_subplot()
    shown = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(shown, ax=axes, fraction=0.046)
    axes.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    high = matrix.max() if matrix.size else 0
    for (i, j), n in np.ndenumerate(matrix):
        colour = "white" if high and n > high / 2 else "black"
        axes.text(j, i, str(n), ha="center", va="center", color=colour, fontsize="small")
    figure.tight_layout()
    return figure


def explanation_figure(rows, per_line: int = 12):
    """Each sentence as its words on coloured tiles (darker: more weight), its label and
    probability above."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    lines = [max(1, -(-len(r["words"]) // per_line)) for r in rows]
    figure = Figure(figsize=(10, sum(0.45 * n + 0.6 for n in lines)), dpi=90)
    grid = figure.add_gridspec(len(rows), 1, height_ratios=[0.45 * n + 0.6 for n in lines])
    for k, row in enumerate(rows):
        axes = figure.add_subplot(grid[k])
        axes.set_axis_off()
        axes.set_xlim(0, per_line)
        axes.set_ylim(lines[k], 0)
        top = max(row["weights"], default=0.0) or 1.0
        for j, (word, weight) in enumerate(zip(row["words"], row["weights"])):
            y, x = divmod(j, per_line)
            shade = weight / top
            tile = Rectangle((x + 0.03, y + 0.08), 0.94, 0.84)
            tile.set_color((1.0, 1 - 0.75 * shade, 1 - 0.9 * shade))
            axes.add_patch(tile)
            axes.text(x + 0.5, y + 0.5, word[:14], ha="center", va="center", fontsize="small")
        confidence = max(row["probabilities"].values())
        axes.set_title(f"{row['label']} ({confidence:.2f})", loc="left", fontsize="small")
    figure.tight_layout()
    return figure
