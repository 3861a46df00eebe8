"""Keep local workers' gRPC servers on loopback.

TensorFlow's distributed runtime (the gRPC server that
``MultiWorkerMirroredStrategy`` starts from ``TF_CONFIG``) is
unauthenticated, and its ``grpc_server_lib.cc`` listens on ``0.0.0.0:PORT``
(gRPC makes that ``[::]``, dual-stack) whatever host ``TF_CONFIG`` names:
``ServerDef`` has no field for the address. For ``rnnkit launch``'s local
workers, a small ``LD_PRELOAD`` library rewrites a wildcard ``bind()`` to the
loopback address (IPv4 ``127.0.0.1``; on an IPv6 socket the v4-mapped
``::ffff:127.0.0.1``), so the runtime is reachable from this machine only.
It is compiled from the C below into a private temporary folder when a
launch starts (``cc`` takes a tenth of a second). Cluster jobs cannot use
it: their workers must be reachable from each other; a NetworkPolicy keeps
them inside the job (docs/cluster.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real_bind;
  if (!real_bind) real_bind = (bind_fn)dlsym(RTLD_NEXT, "bind");
  if (addr && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in a;
    memcpy(&a, addr, sizeof a);
    if (a.sin_addr.s_addr == htonl(INADDR_ANY)) {
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      return real_bind(fd, (const struct sockaddr *)&a, sizeof a);
    }
  } else if (addr && addr->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 a;
    memcpy(&a, addr, sizeof a);
    if (IN6_IS_ADDR_UNSPECIFIED(&a.sin6_addr)) {
      /* ::ffff:127.0.0.1: a dual-stack socket that takes IPv4 loopback only */
      static const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0xff, 0xff, 127, 0, 0, 1};
      memcpy(&a.sin6_addr, mapped, sizeof mapped);
      return real_bind(fd, (const struct sockaddr *)&a, sizeof a);
    }
  }
  return real_bind(fd, addr, len);
}
"""

HOST = "127.0.0.1"


def build(folder: str | os.PathLike) -> Path | None:
    """The compiled library in ``folder`` (a private temporary folder), or None without a
    C compiler."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        return None
    folder = Path(folder)
    (folder / "loopback.c").write_text(SOURCE)
    library = folder / "loopback.so"
    done = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(folder / "loopback.c")]
        + ["-ldl"],
        capture_output=True,
        text=True,
        check=False,
    )
    return library if done.returncode == 0 else None


def environment(env: dict[str, str], library: Path) -> dict[str, str]:
    """``env`` with ``library`` preloaded ahead of any library already there."""
    preload = [str(library)] + [p for p in env.get("LD_PRELOAD", "").split(":") if p]
    return {**env, "LD_PRELOAD": ":".join(preload)}
