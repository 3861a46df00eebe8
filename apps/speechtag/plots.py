"""speechtag's pictures: a spectrogram with its tiers, and the phone confusion matrix."""

import numpy as np

from apps.speechtag import data, metrics
from apps.speechtag.data import TIERS, LabelSet, Utterance
from apps.speechtag.features import log_mel


def tiers_figure(audio, tiers, labels, title=""):
    """Spectrogram with tiers below it: ``tiers`` is ``{name: [(start_s, end_s, label)]}``."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 2.2 + 0.45 * len(tiers)), dpi=80)
    rows = 1 + len(tiers)
    grid = figure.add_gridspec(rows, 1, height_ratios=[4] + [1] * len(tiers))
    axes = figure.add_subplot(grid[0])
    spectrum = log_mel(np.asarray(audio, np.float32)[None], 64)[0].numpy().T
    seconds = len(audio) / data.SAMPLE_RATE
    axes.imshow(spectrum, origin="lower", aspect="auto", extent=[0, seconds, 0, 64], cmap="magma")
    axes.set_ylabel("mel band")
    axes.set_title(title)
    for k, (name, segs) in enumerate(tiers.items(), 1):
        tier_axes = figure.add_subplot(grid[k], sharex=axes)
        tier_axes.set_yticks([])
        tier_axes.set_ylabel(name, rotation=0, ha="right", va="center", fontsize="small")
        for start, end, label in segs:
            if label == data.SILENCE:
                continue
            tier_axes.axvspan(start, end, color=f"C{k}", alpha=0.25)
            tier_axes.axvline(start, color="black", lw=0.5)
            tier_axes.text(
                (start + end) / 2,
                0.5,
                label,
                ha="center",
                va="center",
                fontsize="x-small",
                clip_on=True,
            )
    axes.set_xlim(0, seconds)
    # One time axis, in seconds, under the last tier; the panels above share it.
    panels = figure.get_axes()
    for panel in panels[:-1]:
        panel.tick_params(labelbottom=False)
    panels[-1].set_xlabel("time (s)")
    figure.tight_layout()
    return figure


def segments_in_seconds(segs, names):
    return [(s["start"], s["end"], s["label"]) for s in metrics.segment_times(segs, names)]


def utterance_figure(utterance: Utterance, predicted: dict, labels: LabelSet, title=""):
    """The spectrogram, the predicted tiers, then the reference tiers."""
    tiers = {}
    for tier in TIERS:
        tiers[f"{tier} (predicted)"] = segments_in_seconds(predicted[tier], labels.tier(tier))
    for tier in TIERS:
        tiers[f"{tier} (reference)"] = [
            (s / data.SAMPLE_RATE, e / data.SAMPLE_RATE, label)
            for s, e, label in utterance.tiers[tier]
        ]
    return tiers_figure(utterance.audio, tiers, labels, title)


def confusion_figure(predicted, reference, names, title="phone confusion (row: reference)"):
    from matplotlib.figure import Figure

    n = len(names)
    matrix = np.zeros([n, n])
    np.add.at(matrix, (np.asarray(reference), np.asarray(predicted)), 1)
    matrix /= np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(7, 6), dpi=80)
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(n), names, rotation=90, fontsize="x-small")
    axes.set_yticks(range(n), names, fontsize="x-small")
    axes.set_title(title)
    figure.tight_layout()
    return figure
