"""Fail fast, and say how to fix it, when PostgreSQL, RabbitMQ or Redis is not reachable. Tests never skip them."""

from __future__ import annotations

import os
import socket
import sys

CHECKS = {
    "PostgreSQL": (os.environ.get("TEST_PG_HOST", "127.0.0.1"), int(os.environ.get("TEST_PG_PORT", "5432")),
                   "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"),
    "RabbitMQ": (os.environ.get("TEST_AMQP_HOST", "127.0.0.1"), int(os.environ.get("TEST_AMQP_PORT", "5672")),
                 "rabbitmq-server -detached"),
    "Redis": (os.environ.get("TEST_REDIS_HOST", "127.0.0.1"), int(os.environ.get("TEST_REDIS_PORT", "6379")),
              'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'),
}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def main() -> int:
    missing = [(name, host, port, fix) for name, (host, port, fix) in CHECKS.items() if not reachable(host, port)]
    for name, host, port, fix in missing:
        print(f"{name} is not reachable at {host}:{port}. Start it with:\n    {fix}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
