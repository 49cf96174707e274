"""The connection to the Docker Engine, with one clear message when it is not there."""

from __future__ import annotations

import os
from functools import cache

import docker
from docker.errors import DockerException

MIN_API_VERSION = "1.41"  # Docker Engine 20.10, what Debian stable ships


class DockerUnavailable(RuntimeError):
    """The Docker daemon cannot be reached; the message says how to start it."""


def _how_to_start() -> str:
    if host := os.environ.get("DOCKER_HOST"):
        return (
            f"DOCKER_HOST is set to {host}: point it at a running Docker daemon, or unset it "
            "to use the local one (unix:///var/run/docker.sock)."
        )
    return (
        "Start it with `sudo systemctl start docker` (systemd), or `sudo dockerd &` "
        "(no systemd); on Debian install it first with `sudo apt-get install docker.io`. "
        "`./rsibench` and `.ci/run` do both for you when run as root."
    )


@cache
def client() -> docker.DockerClient:
    """A connected client; raises DockerUnavailable with the fix if the daemon is down or old."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        c = docker.from_env(timeout=120)
        c.ping()
        version = c.version()
    except DockerException as e:
        raise DockerUnavailable(
            f"Cannot reach the Docker daemon at {where} ({e}). " + _how_to_start()
        ) from e
    api = version.get("ApiVersion", "0")
    if tuple(map(int, api.split("."))) < tuple(map(int, MIN_API_VERSION.split("."))):
        raise DockerUnavailable(
            f"Docker Engine {version.get('Version')} (API {api}) at {where} is too old; "
            f"rsibench needs Engine 20.10 (API {MIN_API_VERSION}) or newer."
        )
    return c
