"""What speechtag does with a model: train it, tag with it, score it against the baselines.

- ``TagSet``: what a trained model needs besides its weights (the tags of
  each tier, the data it came from), saved as ``RUN/tagset.json`` and in the
  SavedModel's assets.
- ``load_data``: a data source -> ``{split: [Utterance]}``.
- ``make_task``: the training job (cross-entropy of both tiers per frame,
  averaged per utterance), with validation frame accuracy and phone error
  rate, and a picture of one validation utterance in TensorBoard each epoch.
- ``predict`` / ``evaluate``: smoothed tags of the RNN and of the baselines
  (majority, frame MLP) on the same frames, and their scores.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.speechtag import baseline, data, metrics, plots, synth
from apps.speechtag.config import DataConfig, SpeechtagConfig
from apps.speechtag.data import TIERS, LabelSet, Utterance
from apps.speechtag.model import SpeechTagger, build_model, log_mel, widen_starts
from rnnkit import figures
from rnnkit.errors import InputError
from rnnkit.files import write_bytes, write_json
from rnnkit.training import Task

TAGSET_FILE = "tagset.json"
EXAMPLES_FILE = "examples.npz"
MLP_FILE = "baseline_mlp.weights.h5"
EVAL_BATCH = 16


@dataclasses.dataclass(frozen=True)
class TagSet:
    """The tags of each tier and where the data came from; JSON in ``RUN/tagset.json``."""

    phones: tuple[str, ...]
    words: tuple[str, ...]
    source: str
    sample_rate: int = data.SAMPLE_RATE
    test_voices: str = ""

    @property
    def labels(self) -> LabelSet:
        return LabelSet(phones=self.phones, words=self.words)

    def save(self, folder: str | Path) -> None:
        write_json(Path(folder) / TAGSET_FILE, dataclasses.asdict(self))

    @classmethod
    def load(cls, folder: str | Path) -> TagSet:
        path = Path(folder) / TAGSET_FILE
        if not path.is_file():
            raise InputError(f"{folder} has no {TAGSET_FILE}: not a speechtag run or SavedModel")
        raw = json.loads(path.read_text())
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def corpus_settings(config: DataConfig) -> synth.Settings:
    return synth.Settings(
        train=config.utterances,
        validation=config.validation,
        test=config.test,
        seed=config.corpus_seed,
    )


def load_data(config: DataConfig, quiet: bool = False) -> dict[str, list[Utterance]]:
    """``{"train", "validation", "test": [Utterance]}`` of the configured source."""
    source = config.source
    if source == "espeak":
        return synth.corpus(corpus_settings(config), quiet=quiet)
    if source.startswith("dir:"):
        utterances = data.read_folder(source[4:], _tier_names(config))
        if len(utterances) < 3:
            raise InputError(
                f"{source[4:]} holds {len(utterances)} labelled WAV files; training needs at "
                "least 3 (for the training, validation and test parts)"
            )
        return data.split_folder(utterances)
    raise InputError(f"unknown data source {source!r}: use espeak or dir:PATH")


def _tier_names(config: DataConfig) -> dict[str, str]:
    return {"phones": config.phone_tier, "words": config.word_tier}


def feature_statistics(utterances, n_mels, limit=400) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each log-mel band over (up to ``limit``) utterances."""
    found = [log_mel(u.audio[None], n_mels)[0].numpy() for u in utterances[:limit]]
    stacked = np.concatenate(found)
    return stacked.mean(axis=0), np.maximum(stacked.std(axis=0), 1e-3)


def per_example_loss(model, inputs, tags, training):
    """Cross-entropy of both tiers' tags and segment starts, averaged over each utterance's
    real frames."""
    out = model(inputs, training=training)
    total = 0.0
    for tier in TIERS:
        target = tags[tier]
        width = tf.shape(target)[1]
        valid = tf.cast(target >= 0, tf.float32)
        count = tf.maximum(tf.reduce_sum(valid, axis=1), 1.0)
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.maximum(target, 0), out[tier][:, :width]
        )
        starts = widen_starts(tags[f"{tier}_start"])
        bce = tf.nn.sigmoid_cross_entropy_with_logits(starts, out[f"{tier}_start"][:, :width])
        total += tf.reduce_sum((ce + bce) * valid, axis=1) / count
    return total


# -- tagging -------------------------------------------------------------------------------


def log_probs(model: SpeechTagger, batch_inputs) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per tier, tag log-probabilities ``[batch, frames, tags]`` and segment-start
    probabilities (``<tier>_start``, ``[batch, frames]``); and ``frames [batch]``."""
    out = model(batch_inputs, training=False)
    found = {t: tf.nn.log_softmax(out[t]).numpy() for t in TIERS}
    found.update({f"{t}_start": tf.sigmoid(out[f"{t}_start"]).numpy() for t in TIERS})
    return found, out["frames"].numpy()


def run_model(tag_fn, found) -> tuple[list[dict], dict]:
    """``(rows, reference)``: per utterance the model's outputs over its real frames (as
    ``log_probs`` gives them), and per tier the reference segments.

    ``tag_fn(inputs) -> (log_probs, frames)``; ``found``: ``data.examples(...)``.
    """
    rows, reference = [], {t: [] for t in TIERS}
    for inputs, tags in data.dataset(found, EVAL_BATCH):
        found, frames = tag_fn(inputs)
        for k, n in enumerate(frames):
            rows.append({name: value[k, :n] for name, value in found.items()})
        for tier in TIERS:
            starts = tags[f"{tier}_start"].numpy()
            for k, (row, n) in enumerate(zip(tags[tier].numpy(), frames)):
                reference[tier].append(metrics.segments(row[:n], starts[k, :n]))
    return rows, reference


def segment(rows, tiers=TIERS, penalty=metrics.SWITCH_PENALTY, use_starts=True) -> dict:
    """Per tier, each row's segments (``metrics.smooth``); ``use_starts=False`` ignores
    the start probabilities."""
    out = {}
    for tier in tiers:
        out[tier] = [
            metrics.segments(
                *metrics.smooth(row[tier], row[f"{tier}_start"] if use_starts else None, penalty)
            )
            for row in rows
        ]
    return out


def predict(tag_fn, found) -> tuple[dict, dict]:
    """``(predicted, reference)`` segments per tier over the examples' real frames."""
    rows, reference = run_model(tag_fn, found)
    return segment(rows), reference


def tune_decoding(rows, reference, labels) -> dict[str, dict]:
    """Per tier, the switch penalty and use of starts with the lowest error rate on
    ``rows`` (validation utterances): how a baseline gets its fairest decoding."""
    chosen = {}
    for tier in TIERS:
        best = None
        for penalty in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
            for use_starts in (True, False):
                segs = segment(rows, [tier], penalty, use_starts)
                found = metrics.score({**reference, tier: segs[tier]}, reference, labels)[tier]
                if best is None or found["error_rate"] < best[0]:
                    best = (found["error_rate"], penalty, use_starts)
        chosen[tier] = {"penalty": best[1], "use_starts": best[2]}
    return chosen


# -- training ------------------------------------------------------------------------------


def make_task(config: SpeechtagConfig, run_dir: Path) -> Task:
    """Loads the data, saves ``tagset.json`` into ``run_dir`` and returns the task."""
    parts = load_data(config.data)
    labels = LabelSet.from_utterances([u for part in parts.values() for u in part])
    tagset = TagSet(
        phones=labels.phones,
        words=labels.words,
        source=config.data.source,
        test_voices=synth.describe_split("test") if config.data.source == "espeak" else "",
    )
    tagset.save(run_dir)
    mean, std = feature_statistics(parts["train"], config.model.n_mels)
    # Real utterances for the SavedModel's warmup and self-check; written
    # atomically (every worker of a multi-worker job writes the same file).
    shown = parts["test"][:3]
    buffer = io.BytesIO()
    np.savez(
        buffer,
        **{f"audio_{i}": u.audio for i, u in enumerate(shown)},
        names=np.array([u.name for u in shown]),
    )
    write_bytes(run_dir / EXAMPLES_FILE, buffer.getvalue())
    validation = parts["validation"]
    train_examples = data.examples(parts["train"], labels)
    val_examples = data.examples(validation, labels)
    holder = {}

    def build():
        model = build_model(config.model, len(labels.phones), len(labels.words), seed=config.seed)
        model.feature_mean.assign(mean)
        model.feature_std.assign(std)
        return model

    def loss(model, batch, training):
        inputs, tags = batch
        return per_example_loss(model, inputs, tags, training)

    def train_data(epoch):
        return data.dataset(
            train_examples, config.train.batch_size, shuffle_seed=config.seed * 1000 + epoch
        )

    def val_data():
        return data.dataset(val_examples, config.train.batch_size)

    def validation_metrics(model):
        predicted, reference = predict(lambda inputs: log_probs(model, inputs), val_examples)
        holder["first"] = {t: predicted[t][0] for t in TIERS}
        found = metrics.score(predicted, reference, labels)
        return {
            "phone_accuracy": found["phones"]["frame_accuracy"],
            "per": found["phones"]["error_rate"],
            "word_accuracy": found["words"]["frame_accuracy"],
            "wer": found["words"]["error_rate"],
        }

    def samples(model, epoch):
        first = holder.get("first")
        if first is None:
            return {}
        figure = plots.utterance_figure(
            validation[0], first, labels, title=f"{validation[0].name}, epoch {epoch}"
        )
        return {"tags/validation": figures.image(figure)}

    return Task(
        build_model=build,
        loss=loss,
        train_data=train_data,
        val_data=val_data,
        validation_metrics=validation_metrics,
        samples=samples,
    )


# -- evaluation ----------------------------------------------------------------------------


def evaluate(config: SpeechtagConfig, model, run_dir: Path, options: dict) -> dict:
    """The RNN, the frame MLP and the majority tag on the test voices (or ``--data``)."""
    tagset = TagSet.load(run_dir)
    labels = tagset.labels
    if options.get("data"):
        source = options["data"]
        if not source.startswith("dir:"):
            raise InputError(f"evaluate --data takes dir:PATH; received {source!r}")
        utterances = data.read_folder(source[4:], _tier_names(config.data))
        labels.check(utterances)
        described = f"{len(utterances)} files of {source[4:]}"
    # The run's corpus is needed either way: the MLP trains on its training part
    # and its smoothing is tuned on the validation part.
    parts = load_data(config.data, quiet=True)
    if not options.get("data"):
        source = config.data.source
        utterances = parts["test"]
        described = tagset.test_voices or "the test files"
    found = data.examples(utterances, labels)
    train_examples = data.examples(parts["train"], labels)
    predicted = {}
    predicted["rnn"], reference = predict(lambda inputs: log_probs(model, inputs), found)
    mlp = baseline.load_or_train_mlp(
        run_dir / MLP_FILE,
        lambda: data.dataset(train_examples, 32),
        config.model.n_mels,
        len(labels.phones),
        len(labels.words),
        seed=config.seed,
    )
    mlp_fn = lambda inputs: baseline.mlp_log_probs(  # noqa: E731
        mlp, inputs["waveform"], inputs["length"], config.model.n_mels
    )
    # A frame classifier flickers more than the RNN: its smoothing is tuned on
    # the validation utterances, tier by tier, before it is scored.
    val_examples = data.examples(parts["validation"], labels)
    mlp_decoding = tune_decoding(*run_model(mlp_fn, val_examples), labels)
    mlp_rows, _ = run_model(mlp_fn, found)
    predicted["mlp"] = {}
    for tier, how in mlp_decoding.items():
        predicted["mlp"].update(segment(mlp_rows, [tier], how["penalty"], how["use_starts"]))
    predicted["majority"] = {
        tier: [
            [(0, r[-1][1], baseline.majority(train_examples[tier], len(labels.tier(tier))))]
            for r in reference[tier]
        ]
        for tier in TIERS
    }
    models = {name: metrics.score(p, reference, labels) for name, p in predicted.items()}
    writer = tf.summary.create_file_writer(str(run_dir / "tb" / "evaluate"))
    with writer.as_default(step=0):
        figure = plots.confusion_figure(
            np.concatenate([metrics.frame_tags(p) for p in predicted["rnn"]["phones"]]),
            np.concatenate([metrics.frame_tags(r) for r in reference["phones"]]),
            labels.phones,
        )
        tf.summary.image("phones/confusion", figures.image(figure)[None])
    writer.flush()
    return {
        "data": source,
        "evaluated_on": described,
        "utterances": len(utterances),
        "frames": int(sum(r[-1][1] for r in reference["phones"])),
        "streaming": config.model.streaming,
        "mlp_decoding": mlp_decoding,
        "models": models,
    }
