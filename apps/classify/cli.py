"""``rnnkit classify``: train, evaluate, export (built by rnnkit) and text."""

import json
from pathlib import Path

import click

from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.files import check_writable, write_bytes
from rnnkit.options import add_options, input_errors, server_options, text_lines

APP = rapp.App.from_package(
    __package__,
    help="Text classification (many to one): a bidirectional RNN with attention pooling "
    "reads a text and names its class, and shows the words that drove it. --data: embedded "
    "(Rotten Tomatoes review snippets, positive or negative, the default), csv:PATH (any "
    "classes; --text-column, --label-column) or tfds:NAME.",
    evaluate_options=[
        click.Option(
            ["--data"],
            help="Score on a labelled file instead (csv:PATH, with the run's columns), or a "
            "prepared TFDS set's test split (tfds:NAME); labels are matched by name.",
        ),
    ],
    assets=("vocab.json", "classes.json"),  # features.VOCAB, CLASSES
    signatures=("serving_default", "explain"),
)
group = rapp.app_group(APP)


@group.command(name="text")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("texts", nargs=-1)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Texts to classify, one a line (- for standard input).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--explain",
    is_flag=True,
    help="Show each word's weight in the decision (attention pooling's weights, or gradient "
    "x input for the other poolings).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG: each text's words shaded by their weight (implies --explain).",
)
@add_options(server_options())
def text(source, texts, file, as_json, explain, plot, **server):
    """Classify TEXTS with a run (RUN_DIR) or a SavedModel (or its TF Serving base path)."""
    import tensorflow as tf

    from apps.classify import inference
    from apps.classify.features import load_run_files

    explain = explain or plot is not None
    with input_errors():
        if plot is not None:
            check_writable(plot, make_parents=True)
        found = text_lines(texts, file, "TEXTS")
        opened = runs.open_model(APP, source, **server)
        vocab, classes = load_run_files(opened.assets)
        if opened.run is None:
            signature = opened.signatures["explain" if explain else "serving_default"]
            out = signature(text=tf.constant(found))
            out = {k: getattr(v, "numpy", lambda v=v: v)() for k, v in out.items()}
            rows = inference.rows(found, out, classes)
        else:
            run = opened.run
            predictor = inference.Predictor(run.model, vocab, classes, run.config.data.max_words)
            rows = predictor.rows(found, explain)
    if plot is not None:
        from apps.classify import plots

        plot.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(plot, plots.png(plots.explanation_figure(rows)))
    if as_json:
        click.echo(json.dumps({"classes": classes, "texts": rows}, indent=2, ensure_ascii=False))
    else:
        from apps.classify.plots import marked

        for row in rows:
            p = row["probabilities"][row["label"]]
            click.echo(f"{row['label']} ({p:.2f})  {row['text']}")
            if explain:
                click.echo(f"  {marked(row)}")
    if plot is not None:
        click.echo(f"Plot: {plot}", err=True)
