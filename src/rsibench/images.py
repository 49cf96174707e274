"""Sandbox images: build from ``sandboxes/<name>/``, tag by content hash, record digests.

Builds work air-gapped. The Debian base is pulled when a registry answers and otherwise
bootstrapped from a Debian mirror with debootstrap and imported; Python wheels are downloaded on
the host (honouring ``PIP_FIND_LINKS``, so a local CPU torch wheel wins over a CUDA build) into
the build context, and the build itself runs with no network.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import yaml

from rsibench import engine
from rsibench.suite import available_images, content_hash

Log = Callable[[str], None]
LABEL = "org.rsibench.image"
WHEEL_PYTHON = "3.11"  # the image's /usr/bin/python3 (Debian bookworm)


class ImageError(RuntimeError):
    """An image could not be built or found; the message names the image and the fix."""


@dataclass(frozen=True)
class ImageInfo:
    name: str
    tag: str
    built: bool
    image_id: str | None
    size_mb: float | None


def _quiet(_: str) -> None:
    pass


def _base_recipe(root: Path) -> dict:
    path = root / "sandboxes" / "base.yaml"
    try:
        recipe = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ImageError(f"{path}: cannot read the base image recipe ({e})") from e
    for key in ("suite", "mirror", "pull", "packages"):
        if key not in recipe:
            raise ImageError(f"{path}: missing field '{key}'")
    return recipe


def base_tag(root: Path) -> str:
    digest = content_hash([root / "sandboxes" / "base.yaml"], root)[:12]
    return f"rsibench/base:{_base_recipe(root)['suite']}-{digest}"


def image_tag(root: Path, name: str) -> str:
    """``rsibench/<name>:<hash>`` over the build context and the base recipe."""
    context = root / "sandboxes" / name
    if not (context / "Dockerfile").is_file():
        raise ImageError(
            f"{context / 'Dockerfile'}: no such image; available: "
            f"{', '.join(sorted(available_images(root))) or 'none'}"
        )
    digest = hashlib.sha256((content_hash([context], root) + base_tag(root)).encode()).hexdigest()[
        :12
    ]
    return f"rsibench/{name}:{digest}"


def _exists(tag: str) -> bool:
    try:
        engine.client().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def image_id(tag: str) -> str | None:
    """The content digest (image id) recorded with every result."""
    try:
        return engine.client().images.get(tag).id
    except docker.errors.ImageNotFound:
        return None


def _pull_base(recipe: dict, tag: str, log: Log) -> bool:
    """Pull the Debian base and install the packages into it; False when no registry answers."""
    client = engine.client()
    try:
        log(f"pulling {recipe['pull']}")
        client.images.pull(recipe["pull"])
    except docker.errors.APIError as e:
        log(f"cannot pull {recipe['pull']} ({e.explanation or e}); bootstrapping from a mirror")
        return False
    script = (
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "--no-install-recommends "
        + " ".join(recipe["packages"])
        + " && rm -rf /var/lib/apt/lists/*"
    )
    container = client.containers.run(recipe["pull"], ["sh", "-c", script], detach=True)
    try:
        result = container.wait()
        if result["StatusCode"] != 0:
            tail = container.logs(tail=20).decode(errors="replace")
            raise ImageError(f"installing base packages into {recipe['pull']} failed:\n{tail}")
        repo, _, version = tag.partition(":")
        container.commit(repository=repo, tag=version)
    finally:
        container.remove(force=True)
    return True


def _bootstrap_base(recipe: dict, tag: str, log: Log) -> None:
    """debootstrap a minimal Debian with the packages and ``docker import`` it."""
    if shutil.which("debootstrap") is None:
        raise ImageError(
            "no registry is reachable and debootstrap is not installed, so the base image "
            f"{tag} cannot be made: `sudo apt-get install debootstrap`, then run again"
        )
    if os.geteuid() != 0:
        raise ImageError(f"bootstrapping the base image {tag} with debootstrap needs root")
    client = engine.client()
    with tempfile.TemporaryDirectory(prefix="rsibench-base-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            "--include=" + ",".join(recipe["packages"]),
            recipe["suite"],
            str(rootfs),
            recipe["mirror"],
        ]
        log(f"bootstrapping {tag} from {recipe['mirror']} (about a minute)")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-15:])
            raise ImageError(f"debootstrap of {recipe['suite']} failed:\n{tail}")
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(archive), "."], check=True
        )
        repo, _, version = tag.partition(":")
        log(f"importing {tag}")
        client.api.import_image_from_file(
            str(archive), repository=repo, tag=version, changes=['CMD ["/bin/bash"]']
        )
    if not _exists(tag):
        raise ImageError(f"docker import did not produce {tag}")


def ensure_base(root: Path, log: Log = _quiet) -> str:
    tag = base_tag(root)
    if _exists(tag):
        return tag
    recipe = _base_recipe(root)
    if not _pull_base(recipe, tag, log):
        _bootstrap_base(recipe, tag, log)
    return tag


def _wheel_cache(requirements: Path) -> Path:
    key = hashlib.sha256(requirements.read_bytes() + platform.machine().encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "rsibench" / "wheels" / key


def _download_wheels(requirements: Path, log: Log) -> Path:
    """Wheels for the image's Python, fetched once on the host and cached."""
    dest = _wheel_cache(requirements)
    if (dest / ".complete").exists():
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    arch = platform.machine()
    platforms = [f"manylinux_2_{n}_{arch}" for n in (17, 27, 28, 31, 34, 35)] + [
        f"manylinux2014_{arch}"
    ]
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--only-binary=:all:",
        "--python-version",
        WHEEL_PYTHON,
        "--implementation",
        "cp",
        "-d",
        str(dest),
        "-r",
        str(requirements),
    ]
    for p in platforms:
        cmd += ["--platform", p]
    log(f"downloading wheels for {requirements}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-10:])
        raise ImageError(
            f"{requirements}: pip could not download the wheels:\n{tail}\n"
            "Set PIP_FIND_LINKS to a wheelhouse or make the package index reachable."
        )
    (dest / ".complete").touch()
    return dest


def build(root: Path, name: str, log: Log = _quiet, force: bool = False) -> str:
    """Build ``sandboxes/<name>`` unless an image of the same content hash exists; its tag."""
    tag = image_tag(root, name)
    if _exists(tag) and not force:
        return tag
    base = ensure_base(root, log)
    src = root / "sandboxes" / name
    with tempfile.TemporaryDirectory(prefix=f"rsibench-{name}-") as tmp:
        ctx = Path(tmp) / "context"
        shutil.copytree(src, ctx)
        wheels = ctx / "wheels"
        if (src / "requirements.txt").is_file():
            shutil.copytree(_download_wheels(src / "requirements.txt", log), wheels)
        else:
            wheels.mkdir()
        log(f"building {tag}")
        lines: list[str] = []
        try:
            for chunk in engine.client().api.build(
                path=str(ctx),
                tag=tag,
                buildargs={"BASE_IMAGE": base},
                rm=True,
                forcerm=True,
                decode=True,
                network_mode="none",
                labels={LABEL: name},
            ):
                if "error" in chunk:
                    lines.append(chunk["error"])
                    raise ImageError(
                        f"building {src / 'Dockerfile'} failed:\n" + "".join(lines[-20:])
                    )
                if text := chunk.get("stream"):
                    lines.append(text)
                    if text.startswith("Step "):
                        log(text.strip())
        except docker.errors.APIError as e:
            raise ImageError(f"building {src / 'Dockerfile'} failed: {e}") from e
    return tag


def ensure(root: Path, names: Iterable[str], log: Log = _quiet) -> dict[str, str]:
    """Build whatever of ``names`` is missing; name -> tag."""
    return {n: build(root, n, log) for n in sorted(set(names))}


def list_images(root: Path) -> list[ImageInfo]:
    out = []
    for name in sorted(available_images(root)):
        tag = image_tag(root, name)
        try:
            img = engine.client().images.get(tag)
            out.append(ImageInfo(name, tag, True, img.id, img.attrs["Size"] / 1e6))
        except docker.errors.ImageNotFound:
            out.append(ImageInfo(name, tag, False, None, None))
    return out
