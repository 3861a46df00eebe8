"""``rnnkit translate``: train, evaluate, export (built by rnnkit) and text."""

import json
from pathlib import Path

import click

from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.errors import InputError
from rnnkit.files import check_writable, write_bytes
from rnnkit.options import add_options, input_errors, server_options, text_lines

APP = rapp.App.from_package(
    __package__,
    help="Sentence translation: a bidirectional RNN encoder and an attention decoder, beam "
    "search in the SavedModel. --data: embedded (German-English sentences from the Ding "
    "dictionary, the default; --direction de-en or en-de) or tsv:PATH "
    "(source<TAB>target a line).",
    evaluate_options=[
        click.Option(
            ["--beam"], type=click.IntRange(min=1), help="Beam width (default: the run's)."
        ),
        click.Option(
            ["--data"],
            help="Score on a file of pairs instead (tsv:PATH), or a prepared TFDS set's "
            "test split (tfds:NAME).",
        ),
    ],
    assets=("source_vocab.json", "target_vocab.json"),  # features.SOURCE_VOCAB, TARGET_VOCAB
    signatures=("serving_default", "greedy"),
)
group = rapp.app_group(APP)


@group.command(name="text")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("sentences", nargs=-1)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Sentences to translate, one a line (- for standard input).",
)
@click.option("--beam", type=click.IntRange(min=1), help="Beam width; 1 is greedy.")
@click.option(
    "--n-best",
    type=click.IntRange(min=1),
    help="Show the N best translations of each sentence (at most the beam width).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG: each sentence's attention matrix (source words across, target words down).",
)
@add_options(server_options())
def text(source, sentences, file, beam, n_best, as_json, plot, **server):
    """Translate SENTENCES with a run (RUN_DIR) or a SavedModel (or its TF Serving base path)."""
    import tensorflow as tf

    from apps.translate import decoding
    from apps.translate.features import load_vocabularies

    with input_errors():
        if n_best is not None and n_best > 1 and beam == 1:
            raise InputError("--n-best needs a beam: leave out --beam 1")
        if plot is not None:
            check_writable(plot, make_parents=True)
        texts = text_lines(sentences, file, "SENTENCES")
        opened = runs.open_model(APP, source, **server)
        if opened.run is None:
            signature = opened.signatures["greedy" if beam == 1 else "serving_default"]
            found = decoding.rows(signature(text=tf.constant(texts)))
            width = len(found[0].get("n_best", [None]))
            if beam not in (None, 1, width):
                click.echo(
                    f"note: this SavedModel's beam search has width {width} (or greedy, "
                    f"--beam 1); --beam {beam} is ignored",
                    err=True,
                )
        else:
            run = opened.run
            width = max(beam or run.config.model.beam, n_best or 1)
            translator = decoding.Translator(
                run.model,
                *load_vocabularies(run.path),
                width,
                run.config.model.length_penalty,
            )
            found = translator.rows(texts)
        if n_best is not None and n_best > width:
            raise InputError(f"--n-best {n_best} is more than this model's beam width, {width}")
    if plot is not None:
        from apps.translate import plots

        plot.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(plot, plots.png(plots.attention_figure(found)))
    rows = [
        {
            "source": s,
            "translation": row["translation"],
            "score": round(row["score"], 4),
            "copied": row["copied"],
            **({"n_best": row["n_best"][:n_best]} if n_best else {}),
        }
        for s, row in zip(texts, found)
    ]
    if as_json:
        click.echo(json.dumps({"translations": rows}, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            click.echo(f"{row['source']}\n  -> {row['translation'] or '(empty)'}")
            for k, other in enumerate(row.get("n_best", [])[1:], start=2):
                click.echo(
                    f"  {k}. {other['translation'] or '(empty)'}  (log p {other['score']:.2f})"
                )
    if plot is not None:
        click.echo(f"Plot: {plot}", err=True)
