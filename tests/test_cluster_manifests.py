"""docs/cluster: the manifests parse, and the TF_CONFIG each pod gets is one rnnkit accepts."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rnnkit import strategies

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cluster"


def _documents(name):
    return {d["kind"]: d for d in yaml.safe_load_all((DOCS / name).read_text())}


def _train_command_parses(args):
    """The pod's rnnkit command line parses with rnnkit's own CLI (nothing runs)."""
    from rnnkit.cli import cli

    assert args[0] == "rnnkit"
    ctx = cli.make_context("rnnkit", list(args[1:]), resilient_parsing=False)
    app = cli.get_command(ctx, args[1])
    command = app.get_command(ctx, args[2])
    params = command.make_context(args[2], list(args[3:]), parent=ctx).params
    return params


def _resolved(tf_config, monkeypatch):
    """TensorFlow's own reading of TF_CONFIG, as MultiWorkerMirroredStrategy does it."""
    monkeypatch.setenv("TF_CONFIG", tf_config)
    import tensorflow as tf

    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    return resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id


def test_the_tfjob_gives_every_pod_a_tf_config_rnnkit_accepts(monkeypatch):
    docs = _documents("tfjob.yaml")
    job, claim = docs["TFJob"], docs["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    replicas = job["spec"]["tfReplicaSpecs"]
    assert set(replicas) == {"Chief", "Worker"}
    name, namespace = job["metadata"]["name"], "default"

    # As the training operator writes it: lowercase task types, one DNS name
    # per replica, the port of the `tensorflow` container's `tfjob-port`.
    cluster = {}
    for kind, spec in replicas.items():
        assert spec["restartPolicy"] in ("ExitCode", "OnFailure")
        (container,) = [
            c for c in spec["template"]["spec"]["containers"] if c["name"] == "tensorflow"
        ]
        port = next(p["containerPort"] for p in container["ports"] if p["name"] == "tfjob-port")
        cluster[kind.lower()] = [
            f"{name}-{kind.lower()}-{i}.{namespace}.svc:{port}" for i in range(spec["replicas"])
        ]
        # The run directory is on the shared volume; the command parses.
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
        params = _train_command_parses(container["command"])
        run_dir = str(params["run_dir"])
        assert any(
            run_dir.startswith(mounts[v] + "/")
            and volumes[v]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
            for v in mounts
        )
        assert params["resume"] is None  # auto under TF_CONFIG
    total = sum(len(v) for v in cluster.values())
    assert total == 3
    for kind, addresses in cluster.items():
        for index in range(len(addresses)):
            text = json.dumps(
                {"cluster": cluster, "task": {"type": kind, "index": index}, "environment": "cloud"}
            )
            task = strategies.read_tf_config(text)
            assert (task.task_type, task.index, task.tasks) == (kind, index, 3)
            assert task.chief == (kind == "chief")
            spec, task_type, task_id = _resolved(text, monkeypatch)
            assert (spec, task_type, task_id) == (cluster, kind, index)

    board = docs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert board[0] == "tensorboard"
    assert board[board.index("--logdir") + 1] == run_dir + "/tb"


def test_the_indexed_job_builds_each_pods_tf_config(monkeypatch):
    docs = _documents("indexed-job.yaml")
    job, service = docs["Job"], docs["Service"]
    spec = job["spec"]
    pod = spec["template"]["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"]
    assert pod["restartPolicy"] == "OnFailure"
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"job-name": job["metadata"]["name"]}
    assert pod["subdomain"] == service["metadata"]["name"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert int(env["WORKERS"]) == spec["completions"]
    params = _train_command_parses(container["args"])
    assert str(params["run_dir"]).startswith("/shared/")

    # Run the pod's own shell with its completion index; print the TF_CONFIG it exports.
    show = [sys.executable, "-c", "import os; print(os.environ['TF_CONFIG'])"]
    port = service["spec"]["ports"][0]["port"]
    for index in range(spec["completions"]):
        out = subprocess.run(
            [*container["command"], *show],
            env={**os.environ, **env, "JOB_COMPLETION_INDEX": str(index)},
            capture_output=True,
            text=True,
            check=True,
        )
        text = out.stdout.strip()
        task = strategies.read_tf_config(text)
        assert (task.task_type, task.index, task.tasks) == ("worker", index, 3)
        assert task.chief == (index == 0)
        cluster, task_type, task_id = _resolved(text, monkeypatch)
        assert cluster == {
            "worker": [f"{job['metadata']['name']}-{i}.{pod['subdomain']}:{port}" for i in range(3)]
        }


def test_the_dockerfile_copies_what_exists_and_installs_pinned():
    text = (DOCS / "Dockerfile").read_text()
    root = DOCS.parent.parent
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _ = line.split()
        for source in sources:
            assert (root / source).exists(), source
    assert re.search(r"pip install .*-c constraints\.txt", text)
    assert "python -m rnnkit.kernels.native" in text


@pytest.mark.parametrize(
    "tf_config, message",
    [
        ("{not json", "TF_CONFIG is not JSON"),
        ('{"cluster": {"ps": ["a:1"], "worker": ["b:1"]}, "task": {"type": "worker"}}', "ps"),
        (
            '{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
            "index 2",
        ),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}', "'chief'"),
        ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
    ],
)
def test_a_tf_config_rnnkit_cannot_train_with_is_refused(tf_config, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        strategies.read_tf_config(tf_config)
    assert strategies.read_tf_config("") is None
    assert strategies.read_tf_config('{"task": {}}') is None


@pytest.mark.parametrize(
    "manifest, label",
    [("tfjob.yaml", "training.kubeflow.org/job-name"), ("indexed-job.yaml", "job-name")],
)
def test_only_the_jobs_own_pods_reach_its_grpc_port(manifest, label):
    """The label each controller puts on the job's pods selects them, and only they may connect."""
    docs = _documents(manifest)
    job = docs.get("TFJob") or docs["Job"]
    policy = docs["NetworkPolicy"]["spec"]
    own = {label: job["metadata"]["name"]}
    assert policy["podSelector"]["matchLabels"] == own
    assert policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": own}}]
    assert [p["port"] for p in rule["ports"]] == [2222]
