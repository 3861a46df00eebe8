"""``rnnkit caption``: train, evaluate, export (built by rnnkit), caption and compose."""

import json
from pathlib import Path

import click
import numpy as np

from apps.caption import config as cfg
from apps.caption import strips
from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.errors import InputError
from rnnkit.files import check_writable, write_bytes
from rnnkit.options import add_options, input_errors, server_options

APP = rapp.App.from_package(
    __package__,
    help="Image captioning: a CNN encoder and an attention RNN decoder, beam search in the "
    "SavedModel. --data: digits (strips of handwritten MNIST digits, the default), "
    "coco:PATH, flickr:PATH or tfds:coco_captions.",
    evaluate_options=[
        click.Option(
            ["--beam"], type=click.IntRange(min=1), help="Beam width (default: the run's)."
        ),
        click.Option(["--data"], help="Score on another captioned image set (coco:PATH, ...)."),
    ],
    assets=("config.json",),  # export.CONFIG_FILE
    signatures=("serving_default", "greedy"),
    no_tensorflow=("compose",),
)
group = rapp.app_group(APP)


def _read_image(path: Path) -> bytes:
    import tensorflow as tf

    try:
        contents = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}") from None
    if not contents:
        raise InputError(f"{path} is empty")
    try:
        tf.io.decode_image(contents, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError):
        raise InputError(
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
@add_options(server_options())
def caption(source, images, beam, as_json, plot, **server):
    """Caption IMAGES with a run (RUN_DIR) or a SavedModel (or its TF Serving base path)."""
    import tensorflow as tf

    from apps.caption import export as caption_export
    from apps.caption import features
    from apps.caption.data import load_vocabulary

    with input_errors():
        if plot is not None:
            check_writable(plot, make_parents=True)
        contents = [_read_image(p) for p in images]
        opened = runs.open_model(APP, source, **server)
        if opened.run is None:
            config = caption_export.saved_config(opened.path)
            name = "greedy" if beam == 1 else "serving_default"
            if beam not in (None, 1, config.model.beam):
                click.echo(
                    f"note: this SavedModel's beam search has width {config.model.beam} "
                    f"(or greedy, --beam 1); --beam {beam} is ignored",
                    err=True,
                )
            out = opened.signatures[name](image=tf.constant(contents))
        else:
            run = opened.run
            config = run.config
            module = caption_export.Captioner(
                run.model, load_vocabulary(run.path), config, beam or config.model.beam
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
        from apps.caption import plots

        pixels = [features.decode_image(c, config.model).numpy() for c in contents]
        figure = plots.attention_figure(pixels, rows, out["attention"].numpy())
        plot.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(plot, plots.png(figure))
    if as_json:
        click.echo(json.dumps({"captions": rows}, indent=2))
    else:
        for row in rows:
            shown = row["caption"] or "(empty)"  # the model may end a caption at once
            click.echo(f"{row['image']}: {shown}  (log p {row['score']:.3f})")
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
    with input_errors():
        if not (digits.isascii() and digits.isdigit()):
            raise InputError(f"DIGITS must be digits 0-9. Received: {digits!r}")
        check_writable(out, make_parents=True)
        try:
            style = cfg.StripStyle() if gap is None else cfg.StripStyle(gap=gap)
        except ValueError as e:
            raise InputError(f"--gap: {e}") from None
        rng = np.random.default_rng(seed)
        indices = strips.split_indices(split)
        strip = strips.compose(indices, rng, style, digits=[int(d) for d in digits])
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, strips.png_bytes(strip.image))
    click.echo(f"{out} ({strip.image.shape[1]}x{strip.image.shape[0]}): {strip.caption}")
