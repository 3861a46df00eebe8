"""Where training runs: ``TF_CONFIG`` read and checked, the ``tf.distribute`` strategy chosen.

``--strategy auto`` picks MultiWorkerMirroredStrategy when ``TF_CONFIG``
names several workers, MirroredStrategy when several GPUs are visible, else
the default strategy. ``read_tf_config`` needs no TensorFlow, so the CLI can
check ``TF_CONFIG`` before it imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os

STRATEGIES = ("auto", "default", "mirrored", "multiworker")


@dataclasses.dataclass(frozen=True)
class ClusterTask:
    """This process's task in the cluster that ``TF_CONFIG`` describes."""

    task_type: str
    index: int
    tasks: int  # chief and workers: the processes that train
    chief: bool


def read_tf_config(text: str | None = None) -> ClusterTask | None:
    """The task of ``TF_CONFIG`` (or ``text``), checked; None when it names no cluster.

    rnnkit trains with MultiWorkerMirroredStrategy: a ``cluster`` of
    ``worker`` tasks and at most one ``chief`` (as a Kubeflow TFJob or
    ``rnnkit launch`` writes it). Raises ``ValueError`` naming what is wrong.
    """
    text = os.environ.get("TF_CONFIG", "") if text is None else text
    if not text.strip():
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not JSON: {e}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not cluster:
        return None
    other = sorted(set(cluster) - {"chief", "worker"})
    if other:
        raise ValueError(
            f"TF_CONFIG names {', '.join(other)} tasks: rnnkit trains with chief and worker "
            "tasks only (MultiWorkerMirroredStrategy)"
        )
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            raise ValueError(f"TF_CONFIG's {job} tasks must be a list of 'host:port' addresses")
    if len(cluster.get("chief", [])) > 1:
        raise ValueError("TF_CONFIG names several chief tasks; a cluster has one")
    task = config.get("task") or {}
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type not in cluster:
        raise ValueError(f"TF_CONFIG's task type {task_type!r} is not in its cluster")
    if not isinstance(index, int) or not 0 <= index < len(cluster[task_type]):
        raise ValueError(
            f"TF_CONFIG's task index {index!r} is not one of its {len(cluster[task_type])} "
            f"{task_type} tasks"
        )
    tasks = len(cluster.get("chief", [])) + len(cluster.get("worker", []))
    chief = task_type == "chief" or (index == 0 and "chief" not in cluster)
    return ClusterTask(task_type, index, tasks, chief)


def multi_worker_tf_config() -> bool:
    """Whether ``TF_CONFIG`` names several training tasks (chief and workers)."""
    task = read_tf_config()
    return task is not None and task.tasks > 1


def make_strategy(name: str = "auto"):
    """The ``tf.distribute`` strategy for ``--strategy NAME``.

    ``auto``: multiworker when ``TF_CONFIG`` names several workers, mirrored
    when several GPUs are visible, else the default strategy. ``mirrored``
    mirrors over all GPUs, or over all logical CPU devices when there is no
    GPU.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")
    if name == "auto":
        if multi_worker_tf_config():
            name = "multiworker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    return tf.distribute.MultiWorkerMirroredStrategy()


def is_multi_worker(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    return bool(resolver is not None and resolver.cluster_spec().jobs)


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )
