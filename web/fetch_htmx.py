"""Fetch the pinned htmx release into ``web/static/vendor/htmx.min.js`` and verify it.

htmx is published on the npm registry (package ``htmx.org``), not on PyPI. This runs
``npm pack htmx.org@VERSION`` in a temporary directory, extracts ``package/dist/htmx.min.js`` from
the tarball and writes it only when its SHA-256 is the pinned one. ``--check`` verifies the file
already in place. Exit status: 0 done, 1 checksum or download problem, 2 npm missing.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "htmx.org"
VERSION = "2.0.11"
SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
MEMBER = "package/dist/htmx.min.js"
TARGET = Path(__file__).resolve().parent / "static" / "vendor" / "htmx.min.js"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verified(path: Path = TARGET) -> bool:
    return path.is_file() and sha256(path.read_bytes()) == SHA256


def fetch(target: Path = TARGET, npm: str | None = None) -> bytes:
    """The pinned ``htmx.min.js``, downloaded with npm and checked; raises on any mismatch."""
    npm = npm or shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="htmx-") as tmp:
        subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent"],
            cwd=tmp,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tarballs = sorted(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            raise RuntimeError(f"npm pack left {len(tarballs)} tarballs, expected one")
        with tarfile.open(tarballs[0], "r:gz") as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise RuntimeError(f"{MEMBER} is not in {tarballs[0].name}")
            data = member.read()
    digest = sha256(data)
    if digest != SHA256:
        raise ValueError(
            f"{PACKAGE}@{VERSION} {MEMBER}: sha256 {digest}, expected {SHA256}; nothing written"
        )
    return data


def write(data: bytes, target: Path = TARGET) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".js.partial")
    partial.write_bytes(data)
    partial.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the file in place")
    parser.add_argument("--force", action="store_true", help="fetch even if the file is valid")
    args = parser.parse_args(argv)
    if args.check:
        ok = verified()
        print(f"{TARGET}: {'ok' if ok else 'missing or wrong checksum'}")
        return 0 if ok else 1
    if verified() and not args.force:
        print(f"{TARGET}: already {PACKAGE} {VERSION} (sha256 ok)")
        return 0
    try:
        data = fetch()
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (subprocess.CalledProcessError, RuntimeError, ValueError, tarfile.TarError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    write(data)
    print(f"{TARGET}: {PACKAGE} {VERSION} written (sha256 {SHA256[:12]}…)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
