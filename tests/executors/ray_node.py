"""``ray start ...`` for the tests' local cluster, kept on the loopback address.

Ray replaces ``--node-ip-address=127.0.0.1`` with the machine's routable address
(``ray._private.services.resolve_ip_for_localhost``) so that other machines can reach the
node; the tests' cluster must stay on 127.0.0.1, so that one function is replaced here.
Run as ``python ray_node.py start --head --node-ip-address=127.0.0.1 ... --block``.
"""

import sys

import ray._private.services as services

services.resolve_ip_for_localhost = lambda host: host

from ray.scripts.scripts import main  # noqa: E402

sys.argv = ["ray", *sys.argv[1:]]
main()
