"""`aisec-ci db update`: download osv.dev's `all.zip` of an ecosystem (PyPI by default; Go, npm,
crates.io, and the OS distributions Debian, Ubuntu and Alpine with `--ecosystem`) into the cache the
offline source reads, as `osv/<ecosystem>-all.zip`.

The download lands in a temporary file, is checked (a zip holding OSV JSON
records), and only then replaces the cached database, so a failed or
truncated download never leaves a corrupt database behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import urllib.parse
import zipfile
from collections.abc import Mapping
from pathlib import Path

import requests

from aisec_ci.scanners.deps.audit import default_cache_dir, default_database

DEFAULT_DB_URL = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
ECOSYSTEMS = ("PyPI", "Go", "npm", "crates.io", "Debian", "Ubuntu", "Alpine")
"""The ecosystems whose lock files the deps scanner reads, and the distributions whose package
databases `aisec-ci image` audits (osv.dev's names, which are its folder names; one archive holds
every release of a distribution)."""
# The largest dump (npm) is a few hundred MiB; a response this large is not one.
MAX_DOWNLOAD_BYTES = 1024 * 1024 * 1024
_CHUNK = 1024 * 1024


class DatabaseError(Exception):
    """The database could not be downloaded or is not a valid OSV archive."""


def database_url(ecosystem: str) -> str:
    """osv.dev's dump of one ecosystem."""
    return DEFAULT_DB_URL.replace("/PyPI/", f"/{urllib.parse.quote(ecosystem)}/")


def database_path(cache_dir: Path | None = None, env: Mapping[str, str] | None = None, ecosystem: str = "PyPI") -> Path:
    """Where the offline source looks for the ecosystem's database by default."""
    if cache_dir is not None:
        return cache_dir / "osv" / f"{ecosystem}-all.zip"
    return default_database(env if env is not None else os.environ, ecosystem)


def update(
    cache_dir: Path | None = None, url: str = DEFAULT_DB_URL, timeout: float = 60.0, ecosystem: str = "PyPI"
) -> Path:
    """Download the ecosystem's database and return its path; raises DatabaseError with a readable reason."""
    if ecosystem not in ECOSYSTEMS:
        raise DatabaseError(f"unknown ecosystem {ecosystem!r} (one of {', '.join(ECOSYSTEMS)})")
    cache_dir = cache_dir if cache_dir is not None else default_cache_dir(os.environ)
    target = database_path(cache_dir, ecosystem=ecosystem)
    created = _missing_dirs(target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".download-", suffix=".zip", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _download(url, out, timeout)
        records = _check(tmp, url)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        # A failed update leaves the machine as it found it: no empty cache folders.
        for directory in created:
            try:
                directory.rmdir()
            except OSError:
                break  # not empty (something else wrote there): keep it and its parents
        raise
    meta = {
        "ecosystem": ecosystem,
        "url": url,
        "downloaded": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "records": records,
    }
    target.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    # Index it now, so that the first offline scan reads only the records it needs.
    from aisec_ci.scanners.deps.services.interface import ServiceUnavailable
    from aisec_ci.scanners.deps.services.offline_db import open_store
    from aisec_ci.scanners.deps.services.record_store import RecordStore

    try:
        index, _bad = open_store(target, cache_dir)
    except ServiceUnavailable:
        pass  # _check accepted the archive; a scan will report whatever is wrong with it
    else:
        if isinstance(index, RecordStore):
            index.close()
    return target


def _missing_dirs(directory: Path) -> list[Path]:
    """The directories `mkdir(parents=True)` would create for `directory`, deepest first."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    return missing


def _download(url: str, out: object, timeout: float) -> None:
    try:
        with requests.get(url, stream=True, timeout=timeout) as resp:
            if resp.status_code != 200:
                raise DatabaseError(f"{url} answered HTTP {resp.status_code}")
            size = 0
            for chunk in resp.iter_content(_CHUNK):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise DatabaseError(f"{url} sent more than {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MiB; stopped")
                out.write(chunk)  # type: ignore[attr-defined]
    except requests.ConnectionError:
        host = urllib.parse.urlsplit(url).hostname or url
        raise DatabaseError(
            f"cannot reach {host} to download {url} (no network, or the host is blocked; "
            "copy the file by other means and name it with deps.database in .aisec.yml or AISEC_OSV_DB)"
        ) from None
    except requests.RequestException as exc:
        raise DatabaseError(f"cannot download {url} ({type(exc).__name__})") from None


def _check(path: Path, url: str) -> int:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".json")]
            if not names:
                raise DatabaseError(f"{url} is a zip without OSV JSON records")
            bad = archive.testzip()
            if bad is not None:
                raise DatabaseError(f"{url}: member {bad} is corrupt")
            sample = json.loads(archive.read(names[0]))
            if not isinstance(sample, dict) or "id" not in sample:
                raise DatabaseError(f"{url}: {names[0]} is not an OSV record")
            return len(names)
    except (zipfile.BadZipFile, EOFError) as exc:
        raise DatabaseError(f"{url} did not deliver a valid zip archive ({exc})") from None
    except ValueError as exc:
        raise DatabaseError(f"{url}: records are not JSON ({exc})") from None
