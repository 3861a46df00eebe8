"""caption's training job, with validation BLEU and attention pictures each epoch.

Training (teacher forcing): each example's loss is the mean cross-entropy of
its caption's tokens (the closing ``<end>`` included, padding not), plus
Show, Attend and Tell's doubly stochastic penalty ``lambda * sum_n (1 -
sum_t alpha_tn) ** 2 / grid`` (off by default), which asks every grid cell
to be looked at about once over the caption.
"""

from __future__ import annotations

import concurrent.futures
from pathlib import Path

import numpy as np
import tensorflow as tf

from apps.caption import data, decoding, features, metrics, plots
from apps.caption.config import CaptionConfig
from apps.caption.data import VOCAB_FILE, Vocabulary
from apps.caption.export import Captioner
from apps.caption.model import build_model
from rnnkit.training import Task

SHOWN = 3  # validation images drawn in TensorBoard each epoch


def per_example_loss(model: Captioner, inputs, tokens, training, attention_penalty=0.0):
    out = model(inputs, training=training)
    target = tokens[:, 1:]
    mask = tf.cast(target > 0, tf.float32)
    crossentropy = tf.keras.losses.sparse_categorical_crossentropy(
        target, out["logits"], from_logits=True
    )
    loss = tf.reduce_sum(crossentropy * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)
    if attention_penalty:
        looked = tf.reduce_sum(out["attention"] * mask[..., None], axis=1)  # [batch, grid]
        loss += attention_penalty * tf.reduce_mean(tf.square(1.0 - looked), axis=1)
    return loss


class Decoder:
    """Batched greedy or beam decoding of images (model inputs) as one traced graph."""

    def __init__(
        self,
        model: Captioner,
        vocab: Vocabulary,
        max_length: int,
        beam: int = 1,
        alpha: float = 0.6,
    ):
        self.vocab = vocab
        self._decode = tf.function(
            lambda images: decoding.decode(model, images, vocab.tokens, max_length, beam, alpha),
            reduce_retracing=True,
        )

    def __call__(self, pixels: np.ndarray, batch_size: int = 64) -> dict[str, list]:
        """``{"caption": [str], "tokens": [array], "score": [float], "attention": [array]}``."""
        found = {"caption": [], "tokens": [], "score": [], "attention": []}
        for start in range(0, len(pixels), batch_size):
            out = self._decode(tf.constant(pixels[start : start + batch_size]))
            length = out["length"].numpy()
            for i, n in enumerate(length):
                found["caption"].append(out["caption"][i].numpy().decode())
                found["tokens"].append(out["tokens"][i, :n].numpy())
                found["score"].append(float(out["score"][i]))
                found["attention"].append(out["attention"][i, :n].numpy())
        return found


class EpochStrips:
    """The digit strips of each training epoch as ``(pixels, index, tokens)``,
    the next epoch's composed in a background thread while this one trains
    (8,000 strips take about 9 s of one core: a quarter of a quick epoch).

    Each epoch's strips depend on its number only, so they are the same
    whichever thread makes them and whenever.
    """

    def __init__(self, config: CaptionConfig, vocab: Vocabulary):
        self.config, self.vocab = config, vocab
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="strips")
        self._made: dict[int, concurrent.futures.Future] = {}

    def _make(self, epoch: int) -> tuple:
        examples = data.train_examples(self.config.data, epoch)
        index, tokens = data.pairs(examples, self.vocab, self.config.data)
        return features.images(examples, self.config.model), index, tokens

    def __call__(self, epoch: int) -> tuple:
        if epoch not in self._made:
            self._made = {epoch: self._pool.submit(self._make, epoch)}
        made = self._made[epoch].result()
        # Kept: this epoch (asked again to count its batches) and the next one.
        after = epoch + 1
        self._made = {e: f for e, f in self._made.items() if e in (epoch, after)}
        if after < self.config.train.epochs and after not in self._made:
            self._made[after] = self._pool.submit(self._make, after)
        return made


def make_task(config: CaptionConfig, run_dir: Path) -> Task:
    """Loads the data, saves the vocabulary into ``run_dir`` and returns the task."""
    m = config.model
    if m.encoder != "cnn":
        _check_backbone(m)
    parts = data.load(config.data)
    references = [r for e in parts["train"] for r in e.references]
    vocab = Vocabulary.build(references, config.data.min_count)
    vocab.save(run_dir / VOCAB_FILE)  # atomic; every worker writes the same file
    validation = parts["validation"]
    val_pixels = features.images(validation, m)
    val_index, val_tokens = data.pairs(validation, vocab, config.data)
    digits = config.data.source == "digits"
    # Other sources train on the same images, read from files, every epoch.
    fixed = (
        None
        if digits
        else (data.inputs(parts["train"], m), *data.pairs(parts["train"], vocab, config.data))
    )
    batch_size = config.train.batch_size
    epoch_strips = EpochStrips(config, vocab) if digits else None

    def loss(model, batch, training):
        inputs, tokens = batch
        return per_example_loss(model, inputs, tokens, training, m.attention_penalty)

    def train_data(epoch):
        seed = config.seed * 1000 + epoch
        if not digits:
            return data.dataset(*fixed, batch_size, m, shuffle_seed=seed)
        pixels, index, tokens = epoch_strips(epoch)
        return data.dataset(pixels, index, tokens, batch_size, m, shuffle_seed=seed)

    def val_data():
        return data.dataset(val_pixels, val_index, val_tokens, batch_size, m)

    shown = {}

    decoders = {}  # one traced decoder per model, not one per epoch

    def validation_metrics(model):
        if id(model) not in decoders:
            decoders.clear()
            decoders[id(model)] = Decoder(model, vocab, config.data.max_length)
        found = decoders[id(model)](val_pixels)
        shown.update(found)
        scored = metrics.bleu(found["caption"], [e.references for e in validation])
        return {"bleu4": scored["bleu4"]}

    def samples(model, epoch):
        if not shown:
            return {}
        rows = [
            {"image": f"reference: {e.references[0]}", "caption": caption}
            for e, caption in zip(validation[:SHOWN], shown["caption"])
        ]
        width = max(len(a) for a in shown["attention"][:SHOWN])
        attention = np.stack(
            [np.pad(a, ((0, width - len(a)), (0, 0))) for a in shown["attention"][:SHOWN]]
        )
        figure = plots.attention_figure(val_pixels[:SHOWN], rows, attention)
        return {"captions/validation": plots.image(figure)}

    build = lambda: build_model(m, len(vocab), seed=config.seed)
    return Task(
        build, loss, train_data, val_data, samples=samples, validation_metrics=validation_metrics
    )


def _check_backbone(m) -> None:
    """Builds the backbone once: a weights file that does not fit is a usage error."""
    import click

    from apps.caption.model import backbone_encoder
    from rnnkit.errors import InputError

    try:
        backbone_encoder(m.encoder, m.height, m.width, m.encoder_weights, m.fine_tune)
    except ValueError as e:
        raise InputError(str(e)) from None
    if not m.encoder_weights:
        click.echo(
            f"note: the {m.encoder} backbone starts untrained (no --encoder-weights; "
            "rnnkit never downloads weights)",
            err=True,
        )
