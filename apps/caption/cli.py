"""``rnnkit caption``: train, evaluate, export (built by rnnkit), caption and compose."""

import json
from pathlib import Path

import click
import numpy as np
import tensorflow as tf

from apps.caption import config as cfg
from apps.caption import export as caption_export
from apps.caption import strips, tasks
from apps.caption.model import build_model
from rnnkit import app as rapp
from rnnkit.files import write_bytes

SCORES = (
    ("bleu1", "BLEU-1"),
    ("bleu4", "BLEU-4"),
    ("cider_d", "CIDEr-D"),
    ("exact_match", "exact"),
)


def _evaluate(run, options):
    return tasks.evaluate(run.config, run.model, run.path, options)


def _report(report):
    lines = [
        f"{report['images']} images ({report['references']} references) of {report['data']}: "
        f"{report['evaluated_on']}; beam width {report['beam']}",
        f"{'model':<28}" + "".join(f"{title:>9}" for _, title in SCORES),
    ]
    for name, found in report["models"].items():
        row = "".join(
            f"{100 * found[key]:>8.1f}%" if key == "exact_match" else f"{found[key]:>9.3f}"
            for key, _ in SCORES
        )
        lines.append(f"{name:<28}{row}")
    return "\n".join(lines)


def _build_model(config, run_dir):
    return build_model(config.model, len(tasks.load_vocabulary(run_dir)), seed=config.seed)


APP = rapp.App(
    name="caption",
    help=(
        "Image captioning: a CNN encoder and an attention RNN decoder, beam search in the "
        "SavedModel. --data: digits (strips of handwritten MNIST digits, the default), "
        "coco:PATH, flickr:PATH or tfds:coco_captions."
    ),
    presets=cfg.PRESETS,
    default_preset="quick",
    make_task=tasks.make_task,
    build_model=_build_model,
    evaluate=_evaluate,
    format_report=_report,
    export=caption_export.export,
    train_options=[
        click.Option(["--cell"], type=click.Choice(cfg.CELLS), help="Decoder cell."),
        click.Option(["--units"], type=click.IntRange(min=1), help="Decoder cell units."),
        click.Option(["--dropout"], type=rapp.DROPOUT_RATE, help="Decoder dropout."),
        click.Option(
            ["--encoder"], type=click.Choice(cfg.ENCODERS), help="cnn (from scratch) or a backbone."
        ),
        click.Option(["--height"], type=click.IntRange(min=8), help="Model input height."),
        click.Option(["--width"], type=click.IntRange(min=8), help="Model input width."),
        click.Option(["--channels"], type=click.IntRange(1, 3), help="Grey (1) or RGB (3) input."),
        click.Option(
            ["--encoder-weights"],
            type=click.Path(exists=True, dir_okay=False),
            help="ImageNet weights (.h5 / .weights.h5) for the backbone; never downloaded.",
        ),
        click.Option(
            ["--fine-tune/--frozen"], default=None, help="Train the backbone too (or keep it)."
        ),
        click.Option(
            ["--row-encoder/--no-row-encoder"],
            default=None,
            help="A bidirectional LSTM along each row of the encoder's grid.",
        ),
        click.Option(
            ["--attention-penalty"],
            type=click.FloatRange(min=0),
            help="Weight of the doubly stochastic attention penalty.",
        ),
        click.Option(
            ["--tied-embeddings/--untied-embeddings"],
            default=None,
            help="Predict words with the (transposed) embedding matrix.",
        ),
        click.Option(
            ["--data-dir"],
            type=click.Path(file_okay=False),
            help="tfds: where the prepared data set is.",
        ),
        click.Option(["--strips"], type=click.IntRange(min=1), help="digits: strips per epoch."),
        click.Option(
            ["--augment/--no-augment"],
            default=None,
            help="digits: draw the training strips with wider ranges than the test strips.",
        ),
        click.Option(["--min-count"], type=click.IntRange(min=1), help="Rarer words are <unk>."),
        click.Option(["--max-length"], type=click.IntRange(min=1), help="Caption tokens kept."),
    ],
    option_fields={
        "cell": "model.cell",
        "units": "model.units",
        "dropout": "model.dropout",
        "encoder": "model.encoder",
        "encoder_weights": "model.encoder_weights",
        "height": "model.height",
        "width": "model.width",
        "channels": "model.channels",
        "fine_tune": "model.fine_tune",
        "row_encoder": "model.row_encoder",
        "attention_penalty": "model.attention_penalty",
        "tied_embeddings": "model.tied_embeddings",
        "data_dir": "data.data_dir",
        "strips": "data.strips",
        "augment": "data.augment",
        "min_count": "data.min_count",
        "max_length": "data.max_length",
    },
    evaluate_options=[
        click.Option(
            ["--beam"], type=click.IntRange(min=1), help="Beam width (default: the run's)."
        ),
        click.Option(["--data"], help="Score on another captioned image set (coco:PATH, ...)."),
    ],
)
group = rapp.app_group(APP)


def _read_image(path: Path) -> bytes:
    try:
        contents = path.read_bytes()
    except OSError as e:
        raise rapp.InputError(f"cannot read {path}: {e.strerror}") from None
    if not contents:
        raise rapp.InputError(f"{path} is empty")
    try:
        tf.io.decode_image(contents, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
        raise rapp.InputError(
            f"{path} is not a PNG, JPEG, GIF or BMP image TensorFlow can decode, or it is cut short"
        ) from None
    return contents


@group.command(name="caption")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--beam", type=click.IntRange(min=1), help="Beam width; 1 is greedy.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG: each image with one attention map per word.",
)
@rapp.add_options(rapp.server_options())
def caption(source, images, beam, as_json, plot, **server):
    """Caption IMAGES with a run (RUN_DIR) or a SavedModel (or its TF Serving base path)."""
    with rapp.input_errors():
        contents = [_read_image(p) for p in images]
        path, is_saved_model = rapp.locate(source)
        rapp.need_saved_model(is_saved_model, source, server.get("server"))
        if is_saved_model:
            signatures = rapp.serving_signatures(path, APP.name, **server)
            config = caption_export.saved_config(path)
            name = "greedy" if beam == 1 else "serving_default"
            if beam not in (None, 1, config.model.beam):
                click.echo(
                    f"note: this SavedModel's beam search has width {config.model.beam} "
                    f"(or greedy, --beam 1); --beam {beam} is ignored",
                    err=True,
                )
            out = signatures[name](image=tf.constant(contents))
        else:
            run = rapp.load_run(APP, path)
            config = run.config
            module = caption_export.Captioner(
                run.model, tasks.load_vocabulary(run.path), config, beam or config.model.beam
            )
            out = (module.greedy if beam == 1 else module.serve)(tf.constant(contents))
    rows = []
    for i, image in enumerate(images):
        n = int(out["length"][i])
        rows.append(
            {
                "image": str(image),
                "caption": out["caption"][i].numpy().decode(),
                "score": float(out["score"][i]),
                "tokens": out["tokens"][i, :n].numpy().tolist(),
            }
        )
    if plot is not None:
        from apps.caption import data, plots

        pixels = [data.decode_image(c, config.model).numpy() for c in contents]
        figure = plots.attention_figure(pixels, rows, out["attention"].numpy())
        plot.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(plot, plots.png(figure))
    if as_json:
        click.echo(json.dumps({"captions": rows}, indent=2))
    else:
        for row in rows:
            click.echo(f"{row['image']}: {row['caption']}  (log p {row['score']:.3f})")
        if plot is not None:
            click.echo(f"Plot: {plot}", err=True)


@group.command(name="compose")
@click.argument("digits")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--split",
    type=click.Choice(strips.SPLITS),
    default="test",
    show_default=True,
    help="Whose digit images to use (test: never seen in training).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--gap", type=(int, int), help="Pixels between digits: LOW HIGH.")
def compose(digits, out, split, seed, gap):
    """Draw DIGITS (such as 652) as a strip PNG, as the embedded data draws them."""
    with rapp.input_errors():
        if not digits.isdigit():
            raise rapp.InputError(f"DIGITS must be digits 0-9. Received: {digits!r}")
        style = cfg.StripStyle() if gap is None else cfg.StripStyle(gap=gap)
        rng = np.random.default_rng(seed)
        indices = strips.split_indices(split)
        strip = strips.compose(indices, rng, style, digits=[int(d) for d in digits])
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, caption_export.png_bytes(strip.image))
    click.echo(f"{out} ({strip.image.shape[1]}x{strip.image.shape[0]}): {strip.caption}")
