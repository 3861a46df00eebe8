"""speechtag's training job: cross-entropy of both tiers per frame, averaged per utterance.

``load_data`` turns a data source into ``{split: [Utterance]}``. Each epoch
reports the validation frame accuracy and phone error rate, and draws one
validation utterance in TensorBoard.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.speechtag import data, label_files, metrics, plots, reverb, synth, voicebank
from apps.speechtag.config import DataConfig, SpeechtagConfig
from apps.speechtag.data import TIERS, LabelSet, Utterance
from apps.speechtag.decoding import log_probs, predict
from apps.speechtag.features import EXAMPLES_FILE, TagSet, log_mel, widen_starts
from apps.speechtag.model import build_model
from rnnkit import figures
from rnnkit.errors import InputError
from rnnkit.files import write_bytes
from rnnkit.training import Task


def corpus_settings(config: DataConfig) -> synth.Settings:
    return synth.Settings(
        train=config.utterances,
        validation=config.validation,
        test=config.test,
        families=config.test,
        seed=config.corpus_seed,
        mixed=config.mixed_voices,
    )


def load_data(config: DataConfig, quiet: bool = False) -> dict[str, list[Utterance]]:
    """``{"train", "validation", "test": [Utterance]}`` of the configured source (the
    generated corpus adds a split for each held-out voice family)."""
    source = config.source
    if source == "espeak":
        return synth.corpus(corpus_settings(config), quiet=quiet)
    if source.startswith("dir:"):
        utterances = label_files.read_folder(source[4:], tier_names(config))
        if len(utterances) < 3:
            raise InputError(
                f"{source[4:]} holds {len(utterances)} labelled WAV files; training needs at "
                "least 3 (for the training, validation and test parts)"
            )
        return data.split_folder(utterances)
    raise InputError(f"unknown data source {source!r}: use espeak or dir:PATH")


def tier_names(config: DataConfig) -> dict[str, str]:
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


def perturbed(utterances, amount: float, seed: int) -> list:
    """Each utterance at ``1 - amount``, 1 or ``1 + amount`` times its speed (``seed``)."""
    rng = np.random.default_rng(seed)
    factors = 1 + amount * rng.integers(-1, 2, len(utterances))
    return [data.speed_perturbed(u, f) for u, f in zip(utterances, factors)]


def make_task(config: SpeechtagConfig, run_dir: Path) -> Task:
    """Loads the data, saves ``tagset.json`` into ``run_dir`` and returns the task."""
    parts = load_data(config.data)
    labels = LabelSet.from_utterances([u for part in parts.values() for u in part])
    tagset = TagSet(
        phones=labels.phones,
        words=labels.words,
        source=config.data.source,
        test_voices=voicebank.describe_split("test") if config.data.source == "espeak" else "",
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
    # With speed perturbation every epoch makes its own; without, they are made once.
    train_examples = None if config.data.speed_perturb else data.examples(parts["train"], labels)
    val_examples = data.examples(validation, labels)
    rooms = reverb.room_responses(seed=config.seed) if config.data.reverb else []
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
        found, seed = train_examples, config.seed * 1000 + epoch
        if config.data.speed_perturb:
            found = data.examples(
                perturbed(parts["train"], config.data.speed_perturb, seed), labels
            )
        if rooms:
            waveforms = reverb.reverberated(found["waveform"], config.data.reverb, rooms, seed)
            found = {**found, "waveform": waveforms}
        return data.dataset(found, config.train.batch_size, shuffle_seed=seed)

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
        build, loss, train_data, val_data, samples=samples, validation_metrics=validation_metrics
    )
