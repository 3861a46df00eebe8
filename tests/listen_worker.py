"""A worker for ``rnnkit launch`` that reports where its gRPC server listens.

It starts the distributed runtime as training does (``MultiWorkerMirroredStrategy``
from ``TF_CONFIG``), runs one collective so both workers are up, then prints
one JSON line: its port and the local addresses listening on it, read from
``/proc/net/tcp`` and ``/proc/net/tcp6``.
"""

import ipaddress
import json
import os

import tensorflow as tf


def listening(port: int) -> list[str]:
    found = []
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A: LISTEN
                continue
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(bytes.fromhex(address[i : i + 8])[::-1] for i in range(0, size * 2, 8))
            found.append(str(ipaddress.ip_address(raw)))
    return found


config = json.loads(os.environ["TF_CONFIG"])
port = int(config["cluster"]["worker"][config["task"]["index"]].rpartition(":")[2])
strategy = tf.distribute.MultiWorkerMirroredStrategy()
total = strategy.reduce("SUM", strategy.run(lambda: tf.constant(1.0)), axis=None)
print(json.dumps({"port": port, "listening": listening(port), "workers": float(total)}))
