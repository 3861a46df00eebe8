"""``rnnkit serving``: check that TF Serving will serve an export; example requests."""

import json
import shlex
import sys
from pathlib import Path

import click

from rnnkit import quiet
from rnnkit.errors import InputError
from rnnkit.files import check_writable, write_text
from rnnkit.options import input_errors


@click.group(name="serving", context_settings={"help_option_names": ["-h", "--help"]})
def group() -> None:
    """TF Serving: preflight checks and example requests."""


@group.command()
@click.argument(
    "saved_models", type=click.Path(path_type=Path), default=Path("saved_models"), required=False
)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON document.")
def check(saved_models, as_json):
    """Will `tensorflow_model_server --model_config_file=SAVED_MODELS/models.config` serve it?

    Parses models.config with TF Serving's protos and checks every version
    folder. Each served version's saved_model.pb is read first: an op outside
    rnnkit's allowlist of stock TF ops, anywhere a loader or client reaches,
    fails it before anything of it runs. A version that passes is loaded in a
    child process (time and memory limited) with the session loader (tag
    serve); its signatures are checked and its warmup records replayed. One
    line per check and a verdict; exit 0 when TF Serving will serve every
    model, 1 when not. SAVED_MODELS may also be one version folder.
    """
    quiet.import_tensorflow()
    from rnnkit.serving import check as checks_

    with input_errors():
        if not saved_models.exists():
            raise InputError(f"{saved_models} does not exist")
        if (saved_models / "saved_model.pb").exists():
            results = checks_.check_version(saved_models)
        elif saved_models.is_dir():
            results = checks_.check_models_config(saved_models)
        else:
            raise InputError(f"{saved_models} is neither a saved_models folder nor a version")
    ok = checks_.passed(results)
    if as_json:
        document = {
            "path": str(saved_models),
            "ok": ok,
            "checks": [
                {"subject": c.subject, "check": c.check, "ok": c.ok, "detail": c.detail}
                for c in results
            ],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        for c in results:
            click.echo(c.line())
        click.echo(
            "verdict: TF Serving will serve it"
            if ok
            else f"verdict: TF Serving will not serve it ({sum(c.ok is False for c in results)} "
            "failed)"
        )
    sys.exit(0 if ok else 1)


# Longer bodies go to a file: a command line of hundreds of KB fails
# ("Argument list too long") and fills the terminal.
MAX_INLINE_BODY = 4096


@group.command()
@click.argument("app")
@click.option(
    "--saved-models",
    type=click.Path(path_type=Path),
    default=Path("saved_models"),
    show_default=True,
    help="The export folder (with one folder per app).",
)
@click.option(
    "--signature", default="serving_default", show_default=True, help="The signature to call."
)
@click.option(
    "--server",
    default="http://localhost:8501",
    show_default=True,
    metavar="URL",
    help="TF Serving's REST address, for the URL and curl line.",
)
@click.option("--model-version", type=click.IntRange(min=1), help="Pin a version in the URL.")
@click.option(
    "--body-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Write the body here (default for bodies over {MAX_INLINE_BODY // 1024} KB: "
    "APP-request.json in the current folder); curl then reads it with -d @FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document: url, body, curl.")
def request(app, saved_models, signature, server, model_version, body_file, as_json):
    """An example REST predict request for APP, from its latest version's warmup data.

    Prints the URL, the JSON body (row format; bytes as {"b64": ...}; keys
    sorted) and a curl line that sends it, for calling TF Serving from any
    language. A body over a few KB (speechtag's waveforms) goes to a file, as
    a shell refuses a command line that long.
    """
    quiet.import_tensorflow()
    from rnnkit.serving import layout, rest

    with input_errors():
        version = layout.latest(saved_models / app)
        if version is None:
            raise InputError(f"no exported version of `{app}` under {saved_models}")
        if not (version / layout.WARMUP_FILE).is_file():
            raise InputError(f"{version} has no {layout.WARMUP_FILE} to build a request from")
        warmup = layout.read_warmup(version / layout.WARMUP_FILE)
        if not warmup:
            raise InputError(f"{version / layout.WARMUP_FILE} holds no warmup record")
        records = [inputs for name, inputs in warmup if name == signature]
        if not records:
            names = sorted({name for name, _ in warmup})
            raise InputError(
                f"{version} has no warmup request for `{signature}`; it has {', '.join(names)}"
            )
        body = rest.row_request(records[0], None if signature == "serving_default" else signature)
    pinned = f"/versions/{model_version}" if model_version else ""
    url = f"{server.rstrip('/')}/v1/models/{app}{pinned}:predict"
    compact = json.dumps(body, separators=(",", ":"), sort_keys=True)
    if body_file is None and len(compact) > MAX_INLINE_BODY:
        body_file = Path(f"{app}-request.json")
    data = shlex.quote(compact)
    if body_file is not None:
        with input_errors():
            check_writable(body_file)
        write_text(body_file, compact + "\n")
        data = shlex.quote(f"@{body_file}")
    curl = f"curl -s -X POST {shlex.quote(url)} -H 'Content-Type: application/json' -d {data}"
    if as_json:
        document = {"url": url, "body": body, "curl": curl}
        if body_file is not None:
            document["body_file"] = str(body_file)
        click.echo(json.dumps(document, indent=2, sort_keys=True))
        return
    click.echo(f"POST {url}")
    if body_file is None:
        click.echo(json.dumps(body, indent=2, sort_keys=True))
    else:
        click.echo(f"(the body, {len(compact) // 1024} KB, is in {body_file})")
    click.echo()
    click.echo(curl)
