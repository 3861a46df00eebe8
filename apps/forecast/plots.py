"""forecast's figures: the history and the forecast fan."""

from __future__ import annotations

import numpy as np


def fan_figure(info, history_times, history, future_times, out, actual=None, title=""):
    """A matplotlib figure, one panel per target: history, forecast mean, quantile fan."""
    from matplotlib.figure import Figure

    n = info.n_targets
    figure = Figure(figsize=(8, 1.0 + 2.5 * n), dpi=80)
    q = np.asarray(info.quantiles)
    for t, axes in enumerate(
        np.atleast_1d(figure.subplots(n, 1, sharex=True, squeeze=False)[:, 0])
    ):
        axes.plot(history_times, history[:, t], color="black", lw=1, label="history")
        quantiles = out["quantiles"][:, :, t]
        for i in range(len(q) // 2):
            j = len(q) - 1 - i
            axes.fill_between(
                future_times,
                quantiles[:, i],
                quantiles[:, j],
                color="tab:blue",
                alpha=0.15 + 0.1 * i,
                lw=0,
                label=f"{q[i]:g}-{q[j]:g}",
            )
        axes.plot(future_times, out["mean"][:, t], color="tab:blue", lw=1.5, label="forecast")
        if actual is not None:
            axes.plot(future_times, actual[:, t], color="tab:red", lw=1, label="actual")
        axes.set_ylabel(info.targets[t])
        if t == 0:
            axes.set_title(title or info.name)
            axes.legend(loc="upper left", fontsize="small")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure
