#!/usr/bin/env python3
"""Rebuild newsletter/checks/data/caniemail.json from the caniemail npm package.

The clients check reads a trimmed copy of caniemail's support tables at run time, so no
Node is needed to send. This script fetches the package with ``npm pack``, keeps what the
check uses (each CSS and HTML feature's slug, title and category, and one verdict per
platform of the four client families the check covers, taken from the platform's newest
tested version) and writes it with the package's licence beside it.

    python scripts/refresh_caniemail.py            # rewrite the data file and licence
    python scripts/refresh_caniemail.py --check    # rebuild in a temporary directory and
                                                   # compare; exit 1 when they differ
    python scripts/refresh_caniemail.py --version 2.1.0

Exit status: 0 done or identical, 1 differs, 2 the package is not what was expected,
3 the package could not be fetched (npm missing or the registry unreachable).
Standard library only: it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "caniemail"
VERSION = "2.0.2"
REPO = Path(__file__).resolve().parent.parent
DATA_DIR = REPO / "newsletter" / "checks" / "data"
DATA_FILE = "caniemail.json"
LICENCE_FILE = "caniemail-LICENSE"

CLIENTS: dict[str, tuple[str, dict[str, str]]] = {
    "gmail": (
        "Gmail",
        {
            "desktop-webmail": "webmail",
            "mobile-webmail": "mobile webmail",
            "ios": "iPhone app",
            "android": "Android app",
        },
    ),
    "outlook": ("Outlook for Windows", {"windows": "desktop app"}),
    "apple-mail": ("Apple Mail", {"macos": "Mac", "ios": "iPhone"}),
    "yahoo": (
        "Yahoo Mail",
        {"desktop-webmail": "webmail", "ios": "iPhone app", "android": "Android app"},
    ),
}
"""The client families the check covers: caniemail's family key, the name people know,
and the platforms counted (caniemail's key and a plain label). Outlook counts only the
Windows desktop app, the one that renders with Word."""

CATEGORIES = ("css", "html")
CANT_FETCH = 3


class PackageError(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=VERSION, help=f"package version ({VERSION})")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="where the files live")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        try:
            tarball, integrity = npm_pack(args.version, Path(work))
            data, licence = build(tarball, args.version, integrity)
        except FileNotFoundError:
            print("npm is not installed: cannot fetch the package", file=sys.stderr)
            return CANT_FETCH
        except subprocess.CalledProcessError as exc:
            print(f"npm pack {PACKAGE}@{args.version} failed:\n{exc.stderr}", file=sys.stderr)
            return CANT_FETCH
        except PackageError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    if args.check:
        return compare(data, licence, args.data_dir)
    return write(data, licence, args.data_dir)


def npm_pack(version: str, into: Path) -> tuple[Path, str]:
    """The package's tarball, fetched into ``into``, and its integrity hash."""
    done = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(into)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    packed = json.loads(done.stdout)[0]
    return into / packed["filename"], packed["integrity"]


def build(tarball: Path, version: str, integrity: str) -> tuple[str, str]:
    """The trimmed data file's text and the licence text, from the package tarball."""
    with tarfile.open(tarball) as archive:
        manifest = json.loads(_member(archive, "package/package.json"))
        source = json.loads(_member(archive, "package/data/caniemail.json"))
        licence = _member(archive, "package/LICENSE")
    if manifest.get("version") != version or manifest.get("license") != "MIT":
        raise PackageError(
            f"{PACKAGE}@{version}: expected that version under the MIT licence, got "
            f"{manifest.get('version')} under {manifest.get('license')}"
        )
    note = {
        "package": PACKAGE,
        "version": version,
        "integrity": integrity,
        "date": source["last_update_date"],
        "licence": f"MIT, see {LICENCE_FILE}",
        "rebuild": "python scripts/refresh_caniemail.py",
        "verdicts": "each platform's newest tested version: y yes, a partial, n no, u unknown",
    }
    clients = {key: {"name": name, "platforms": kept} for key, (name, kept) in CLIENTS.items()}
    features = {
        entry["slug"]: _trimmed(entry)
        for entry in sorted(source["data"], key=lambda entry: entry["slug"])
        if entry["category"] in CATEGORIES
    }
    return _dump(note, clients, features), licence


def _member(archive: tarfile.TarFile, name: str) -> str:
    handle = archive.extractfile(name)
    if handle is None:
        raise PackageError(f"{name} is missing from the package")
    return handle.read().decode("utf-8")


def _trimmed(entry: dict[str, Any]) -> dict[str, Any]:
    support: dict[str, dict[str, str]] = {}
    for family, (_name, platforms) in CLIENTS.items():
        tested = entry["stats"].get(family, {})
        verdicts = {
            platform: _verdict(tested[platform]) for platform in platforms if tested.get(platform)
        }
        if verdicts:
            support[family] = verdicts
    return {"title": entry["title"].strip(), "category": entry["category"], "support": support}


_DATE = re.compile(r"\d{4}(-\d\d)?")
_NUMBER = re.compile(r"\d+(\.\d+)*")


def _verdict(versions: dict[str, str]) -> str:
    """The verdict letter of the newest version: by date or version number when all of a
    platform's versions are written one way, otherwise the last listed (caniemail lists
    them oldest first)."""
    names = list(versions)
    if all(_DATE.fullmatch(name) for name in names):
        newest = max(names)
    elif all(_NUMBER.fullmatch(name) for name in names):
        newest = max(names, key=lambda name: [int(part) for part in name.split(".")])
    else:
        newest = names[-1]
    return versions[newest].strip()[:1]


def _dump(note: dict[str, str], clients: dict[str, Any], features: dict[str, Any]) -> str:
    """One feature a line, so a refresh shows as a readable diff."""
    lines = [
        "{",
        f'"source": {json.dumps(note, ensure_ascii=False)},',
        f'"clients": {json.dumps(clients, ensure_ascii=False)},',
        '"features": {',
    ]
    rows = [
        f"{json.dumps(slug)}: {json.dumps(feature, ensure_ascii=False)}"
        for slug, feature in features.items()
    ]
    lines.append(",\n".join(rows))
    lines += ["}", "}", ""]
    return "\n".join(lines)


def write(data: str, licence: str, into: Path) -> int:
    into.mkdir(parents=True, exist_ok=True)
    (into / DATA_FILE).write_text(data, encoding="utf-8")
    (into / LICENCE_FILE).write_text(licence, encoding="utf-8")
    print(f"wrote {into / DATA_FILE} and {into / LICENCE_FILE}")
    return 0


def compare(data: str, licence: str, held: Path) -> int:
    stale = [
        name
        for name, text in ((DATA_FILE, data), (LICENCE_FILE, licence))
        if not (held / name).is_file() or (held / name).read_text(encoding="utf-8") != text
    ]
    if stale:
        print(
            f"{', '.join(stale)} differ from what the package gives: "
            "run python scripts/refresh_caniemail.py",
            file=sys.stderr,
        )
        return 1
    print(f"{DATA_FILE} and {LICENCE_FILE} match {PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
