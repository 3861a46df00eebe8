"""docs/serving: the Kubernetes manifests parse and point at what `export` writes."""

from pathlib import Path

import yaml

from rnnkit.cli import cli
from rnnkit.serving import layout

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_deployment_serves_what_export_writes_after_the_preflight():
    text = (DOCS / "serving" / "k8s.yaml").read_text()
    documents = {d["kind"]: d for d in yaml.safe_load_all(text)}
    assert sorted(documents) == ["Deployment", "Service"]
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    [server] = pod["containers"]
    args = dict(a.lstrip("-").partition("=")[::2] for a in server["args"])
    mount = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}["shared"]
    base = Path(args["model_config_file"]).parent
    assert args["model_config_file"] == f"{base}/models.config"
    assert args["batching_parameters_file"] == f"{base}/{layout.BATCHING_FILE}"
    assert "enable_batching" in args and base.is_relative_to(mount)
    # The training job's volume (docs/cluster), where `export --out /shared/...` writes.
    [volume] = pod["volumes"]
    tfjob = (DOCS / "cluster" / "tfjob.yaml").read_text()
    assert f"claimName: {volume['persistentVolumeClaim']['claimName']}" in tfjob
    # The init container's command is rnnkit's own, on the same folder.
    [preflight] = pod["initContainers"]
    command = preflight["command"]
    assert command[:3] == ["rnnkit", "serving", "check"] and Path(command[3]) == base
    ctx = cli.make_context("rnnkit", command[1:])
    group = cli.get_command(ctx, "serving")
    check = group.get_command(ctx, "check")
    assert check.make_context("check", command[3:], parent=ctx).params["saved_models"] == base
    # The Service exposes the container's gRPC and REST ports; the probe asks for a model.
    ports = {p["name"]: p["containerPort"] for p in server["ports"]}
    assert ports == {"grpc": int(args["port"]), "rest": int(args["rest_api_port"])}
    service = documents["Service"]["spec"]
    assert {p["targetPort"] for p in service["ports"]} == set(ports)
    assert service["selector"] == documents["Deployment"]["spec"]["selector"]["matchLabels"]
    assert server["readinessProbe"]["httpGet"]["path"].startswith("/v1/models/")
