"""``rnnkit speechtag``: train, evaluate, export (built by rnnkit), tag and synth."""

import json
import tempfile
from pathlib import Path

import click
import numpy as np

from apps.speechtag import data, label_files, metrics, synth
from apps.speechtag.data import TIERS
from rnnkit import app as rapp
from rnnkit import figures, runs
from rnnkit.errors import InputError
from rnnkit.files import check_writable, write_all
from rnnkit.options import add_options, input_errors, server_options

APP = rapp.App.from_package(
    __package__,
    help="Frame-level tagging of speech: a phone and a word tag every 10 ms. --data: espeak "
    "(digit strings synthesized with eSpeak NG, the default) or dir:PATH (WAV files with "
    "TextGrid or .PHN/.WRD labels).",
    evaluate_options=[
        click.Option(
            ["--data"], help="Score on another labelled folder (dir:PATH) with the same tiers."
        ),
        click.Option(
            ["--split"],
            type=click.Choice(["test", "klatt", "female"]),
            default="test",
            show_default=True,
            help="Which held-out part of the generated corpus to score: the test voices, or "
            "a voice family held out whole (every Klatt-synthesizer voice; every female voice).",
        ),
    ],
    assets=("tagset.json",),  # features.TAGSET_FILE
    no_tensorflow=("synth",),
)

group = rapp.app_group(APP)


def _open(source: Path, **server):
    """``(tag_fn, tagset)`` of a run or a SavedModel (here or on TF Serving).

    ``tag_fn(waveform, length) -> (log_probs by tier, frames)``.
    """
    import tensorflow as tf

    from apps.speechtag import decoding
    from apps.speechtag.features import TagSet

    opened = runs.open_model(APP, source, **server)
    tagset = TagSet.load(opened.assets)
    if opened.run is not None:
        model = opened.run.model
        return (
            lambda waveform, length: decoding.log_probs(
                model, {"waveform": tf.constant(waveform), "length": tf.constant(length)}
            )
        ), tagset
    signature = opened.signatures["serving_default"]

    def tag_saved(waveform, length):
        out = signature(waveform=tf.constant(waveform), length=tf.constant(length))
        return {
            "phones": np.log(np.maximum(out["phone_probs"].numpy(), 1e-30)),
            "words": np.log(np.maximum(out["word_probs"].numpy(), 1e-30)),
            "phones_start": out["phone_start_probability"].numpy(),
            "words_start": out["word_start_probability"].numpy(),
        }, out["frames"].numpy()

    return tag_saved, tagset


def _reference(wav: Path):
    """The labelled utterance when tiers lie beside the WAV, else None."""
    has_labels = wav.with_suffix(".TextGrid").exists() or wav.with_suffix(".WRD").exists()
    return label_files.read_labelled(wav) if has_labels else None


def _plot_path(plot: Path, wav: Path, count: int) -> Path:
    return plot if count == 1 else plot.with_name(f"{plot.stem}-{wav.stem}.png")


def textgrid_bytes(tiers: dict, duration: float) -> bytes:
    """A Praat TextGrid (long format) with one interval tier per entry, as bytes: the
    command writes it with its other outputs (``rnnkit.files.write_all``)."""
    from praatio import textgrid

    grid = textgrid.Textgrid()
    for name, segs in tiers.items():
        entries = [
            (s["start"], min(s["end"], duration), s["label"])
            for s in segs
            if s["label"] != data.SILENCE and s["start"] < min(s["end"], duration)
        ]
        grid.addTier(textgrid.IntervalTier(name, entries, 0, duration))
    # praatio writes only to a file name: one in a private folder.
    with tempfile.TemporaryDirectory(prefix="rnnkit-textgrid-") as private:
        path = Path(private) / "grid.TextGrid"
        grid.save(str(path), format="long_textgrid", includeBlankSpaces=True)
        return path.read_bytes()


@group.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--tier", type=click.Choice(["words", "phones"]), default="words", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the segments as JSON.")
@click.option(
    "--textgrid",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for one Praat TextGrid per file (both tiers).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG: spectrogram with the predicted tiers (and the reference ones when labels lie "
    "beside the WAV); NAME-<file>.png for several files.",
)
@add_options(server_options())
def tag(source, files, tier, as_json, textgrid, plot, **server):
    """Tag WAV FILES with a run or an exported SavedModel (SOURCE): segments per file.

    Each segment: start and end in seconds, the label, and the mean
    probability of that label over its frames. Frame tags are smoothed
    (Viterbi with a penalty for each change), so one-frame flickers do not
    become segments.
    """
    from apps.speechtag import plots

    with input_errors():
        if textgrid is not None:
            check_writable(textgrid, folder=True)
        for path in files:  # every output, checked before the work
            if textgrid is not None:
                check_writable(textgrid / f"{path.stem}.TextGrid", make_parents=True)
            if plot is not None:
                check_writable(_plot_path(plot, path, len(files)))
        audio = []
        for path in files:
            if not path.is_file():
                raise InputError(f"no such file: {path}")
            samples, rate = data.read_wav(path)
            if len(samples) * data.SAMPLE_RATE // rate < data.WINDOW:
                raise InputError(f"{path} is shorter than one 25 ms frame")
            audio.append(data.resample(samples, rate))
        references = [_reference(path) for path in files] if plot is not None else None
        tag_fn, tagset = _open(source, **server)
    labels = tagset.labels
    results, outputs = [], {}
    for path, samples, k in zip(files, audio, range(len(files))):
        with input_errors():  # a server that fails: one line, exit 2
            log_probs, frames = tag_fn(samples[None], np.array([len(samples)], np.int32))
        n = int(frames[0])
        duration = len(samples) / data.SAMPLE_RATE
        found, paths = {}, {}
        for name in TIERS:
            lp = log_probs[name][0, :n]
            paths[name] = metrics.segments(*metrics.smooth(lp, log_probs[f"{name}_start"][0, :n]))
            found[name] = metrics.segment_times(paths[name], labels.tier(name), np.exp(lp))
            if found[name]:
                found[name][-1]["end"] = round(duration, 3)
        results.append({"file": str(path), "duration": round(duration, 3), "segments": found})
        if textgrid is not None:
            outputs[textgrid / f"{path.stem}.TextGrid"] = textgrid_bytes(found, duration)
        if plot is not None:
            target = _plot_path(plot, path, len(files))
            reference = references[k]
            if reference is not None:
                figure = plots.utterance_figure(reference, paths, labels, title=path.name)
            else:
                tiers = {
                    f"{t} (predicted)": plots.segments_in_seconds(paths[t], labels.tier(t))
                    for t in TIERS
                }
                figure = plots.tiers_figure(samples, tiers, labels, title=path.name)
            outputs[target] = figures.png(figure)
    if textgrid is not None:
        textgrid.mkdir(parents=True, exist_ok=True)
    write_all(outputs)  # every TextGrid and plot, or none
    for target in outputs:
        if target.suffix == ".png":
            click.echo(f"Plot: {target}", err=True)
    if as_json:
        shown = [
            {**r, "segments": [s for s in r["segments"][tier] if s["label"] != data.SILENCE]}
            for r in results
        ]
        click.echo(json.dumps({"tier": tier, "files": shown}, indent=2))
        return
    for r in results:
        segs = [s for s in r["segments"][tier] if s["label"] != data.SILENCE]
        words = " ".join(s["label"] for s in segs)
        click.echo(f"{r['file']} ({r['duration']:.2f} s): {words or '(nothing but silence)'}")
        if segs:
            click.echo(f"  {'start s':>7} {'end s':>7}  {'label':<8} probability")
        for s in segs:
            click.echo(
                f"  {s['start']:7.3f} {s['end']:7.3f}  {s['label']:<8} {s['probability']:.3f}"
            )


@group.command(name="synth")
@click.argument("text")
@click.option(
    "--voice", default="en-us", show_default=True, help="eSpeak NG voice: ACCENT[+VARIANT]."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The WAV to write; NAME.PHN and NAME.WRD (TIMIT-style labels) go beside it.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Prosody and silence.")
@click.option("--rate", type=click.IntRange(80, 450), help="Words per minute.")
def synth_command(text, voice, out, seed, rate):
    """Synthesize one labelled utterance of digit words (TEXT) with eSpeak NG."""
    with input_errors():
        check_writable(out)
        wav, labels = synth.utterance(text, voice, seed=seed, rate=rate)
    outputs = {out: wav}
    for tier, suffix in (("phones", ".PHN"), ("words", ".WRD")):
        lines = "".join(f"{s} {e} {label}\n" for s, e, label in labels[tier])
        outputs[out.with_suffix(suffix)] = lines.encode("utf-8")
    write_all(outputs)
    seconds = ", ".join(
        f"{label} {s / data.SAMPLE_RATE:.2f}-{e / data.SAMPLE_RATE:.2f}"
        for s, e, label in labels["words"]
    )
    click.echo(f"{out} (16 kHz, voice {voice}): {seconds}")
