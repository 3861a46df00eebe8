"""``rnnkit translate``: train, evaluate, export (built by rnnkit) and text."""

import json
import sys
from pathlib import Path

import click

from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.errors import InputError
from rnnkit.options import add_options, input_errors, server_options

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
        click.Option(["--data"], help="Score on a file of pairs instead (tsv:PATH)."),
    ],
    assets=("source_vocab.json", "target_vocab.json"),  # features.SOURCE_VOCAB, TARGET_VOCAB
    signatures=("serving_default", "greedy"),
)
group = rapp.app_group(APP)


def _sentences(sentences, file) -> list[str]:
    if file is not None:
        stream = sys.stdin if str(file) == "-" else None
        if stream is None:
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise InputError(f"cannot read {file}: {e}") from None
        else:
            text = stream.read()
        sentences = [*sentences, *(line.strip() for line in text.splitlines())]
    found = [s for s in sentences if s.strip()]
    if not found:
        raise InputError("give SENTENCES, or --file PATH (- for standard input), one a line")
    return found


@group.command(name="text")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("sentences", nargs=-1)
@click.option(
    "--file",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Sentences to translate, one a line (- for standard input).",
)
@click.option("--beam", type=click.IntRange(min=1), help="Beam width; 1 is greedy.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@add_options(server_options())
def text(source, sentences, file, beam, as_json, **server):
    """Translate SENTENCES with a run (RUN_DIR) or a SavedModel (or its TF Serving base path)."""
    import tensorflow as tf

    from apps.translate.decoding import Translator
    from apps.translate.features import SOURCE_VOCAB, TARGET_VOCAB, Vocabulary

    with input_errors():
        texts = _sentences(sentences, file)
        opened = runs.open_model(APP, source, **server)
        if opened.run is None:
            name = "greedy" if beam == 1 else "serving_default"
            signature = opened.signatures[name]
            out = signature(text=tf.constant(texts))
            found = {
                "translation": [t.decode("utf-8") for t in out["translation"].numpy()],
                "score": out["score"].numpy().tolist(),
                "copied": out["copied"].numpy().tolist(),
            }
        else:
            run = opened.run
            source_vocab = Vocabulary.load(run.path / SOURCE_VOCAB)
            target_vocab = Vocabulary.load(run.path / TARGET_VOCAB)
            width = beam or run.config.model.beam
            translator = Translator(
                run.model, source_vocab, target_vocab, width, run.config.model.length_penalty
            )
            found = translator(texts)
    rows = [
        {"source": s, "translation": t, "score": round(float(p), 4), "copied": int(c)}
        for s, t, p, c in zip(texts, found["translation"], found["score"], found["copied"])
    ]
    if as_json:
        click.echo(json.dumps({"translations": rows}, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['source']}\n  -> {row['translation'] or '(empty)'}")
