"""``rnnkit textgen``: train, evaluate, export (built by rnnkit) and generate."""

from pathlib import Path

import click

from apps.textgen.config import MAX_NEW_CHARS
from rnnkit import app as rapp
from rnnkit import runs
from rnnkit.options import add_options, input_errors, server_options

APP = rapp.App.from_package(
    __package__,
    help="Character-level text generation. --data: embedded (Shakespeare, the default), "
    "file:PATH (a UTF-8 text file or folder), tfds:tiny_shakespeare (with --data-dir).",
    assets=("vocab.json",),  # data.VOCAB_FILE
    signatures=("serving_default", "prime", "step"),
)

group = rapp.app_group(APP)


def _open(source: Path, **server):
    """``(generate, prime, step, vocab)`` of a run or a SavedModel (here or on TF Serving)."""
    from apps.textgen import export as textgen_export
    from apps.textgen.data import Vocab

    opened = runs.open_model(APP, source, **server)
    vocab = Vocab.load(opened.assets)
    if opened.run is None:
        sigs = opened.signatures
        return sigs["serving_default"], sigs["prime"], sigs["step"], vocab
    generator = textgen_export.Generator(opened.run.model, vocab)
    return generator.generate, generator.prime, generator.step, vocab


@group.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--prompt", default="", help="Text to continue (default: a new speech).")
@click.option("--length", type=click.IntRange(1, MAX_NEW_CHARS), default=300, show_default=True)
@click.option(
    "--temperature", type=click.FloatRange(min=0), default=0.8, show_default=True, help="0: greedy."
)
@click.option(
    "--top-k", type=click.IntRange(min=0), default=0, help="Keep the K likeliest (0: all)."
)
@click.option("--top-p", type=click.FloatRange(0, 1), default=1.0, help="Nucleus mass (1: all).")
@click.option("--beam", type=click.IntRange(min=1), default=1, help="Beam width (>1: beam search).")
@click.option("--seed", type=int, default=0, show_default=True)
@add_options(server_options())
def generate(source, prompt, length, temperature, top_k, top_p, beam, seed, **server):
    """Continue PROMPT with a run's model or an exported SavedModel (SOURCE).

    The state is carried one step per new character; the same seed gives the
    same text. With --beam W the W-beam most likely continuation is printed
    (sampling options are ignored).
    """
    import tensorflow as tf

    from apps.textgen import decoding
    from apps.textgen import export as textgen_export

    with input_errors():
        generate_fn, prime, step, vocab = _open(source, **server)
    with input_errors():  # a server that fails mid-way: one line, exit 2
        if beam > 1:
            ids = decoding.beam_search(prime, step, prompt, beam, length)
            click.echo(prompt + vocab.decode(ids))
            return
        request = textgen_export.generate_request(
            [prompt],
            max_new_chars=length,
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            seed=seed,
        )
        out = generate_fn(**{k: tf.constant(v) for k, v in request.items()})
    click.echo(out["text"][0].numpy().decode("utf-8"))
