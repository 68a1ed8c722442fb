"""Build the embedded PyPI advisory snapshot of the `deps` scanner from a directory of OSV JSON.

    python tools/build_deps_snapshot.py ../shared/data/advisories/osv-pypi \
        aisec_ci/scanners/deps/data/pypi-advisories.sqlite --date 2024-10-10

Only what matching and findings need is kept (ids, aliases, a one-line
summary, severity vectors, ECOSYSTEM ranges and version lists); withdrawn
records and GIT ranges are dropped. The output is an advisory record store
(aisec_ci/scanners/deps/services/record_store.py) whose rows are written in
sorted order, so rebuilding from the same data gives the same tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aisec_ci.scanners.deps.services.record_store import write_store

SOURCE = "Python Packaging Advisory Database, https://github.com/pypa/advisory-database"
LICENSE = "CC-BY-4.0"


def compact(record: dict[str, Any]) -> dict[str, Any] | None:
    if record.get("withdrawn") or not record.get("id"):
        return None
    affected = []
    for entry in record.get("affected") or ():
        pkg = entry.get("package") or {}
        if pkg.get("ecosystem") != "PyPI":
            continue
        ranges = [
            {"type": "ECOSYSTEM", "events": r.get("events", [])}
            for r in entry.get("ranges") or ()
            if r.get("type") == "ECOSYSTEM"
        ]
        item: dict[str, Any] = {"package": {"ecosystem": "PyPI", "name": pkg.get("name", "")}}
        if ranges:
            item["ranges"] = ranges
        if entry.get("versions"):
            item["versions"] = entry["versions"]
        if entry.get("severity"):
            item["severity"] = entry["severity"]
        affected.append(item)
    if not affected:
        return None
    out: dict[str, Any] = {"id": record["id"], "affected": affected}
    for key in ("aliases", "severity", "published", "modified"):
        if record.get(key):
            out[key] = record[key]
    summary = (record.get("summary") or "").strip() or first_sentence(record.get("details") or "")
    if summary:
        out["summary"] = summary
    dbs = record.get("database_specific") or {}
    if isinstance(dbs, dict) and isinstance(dbs.get("severity"), str):
        out["database_specific"] = {"severity": dbs["severity"]}
    return out


def first_sentence(details: str, limit: int = 200) -> str:
    text = " ".join(details.split())
    cut = text.find(". ")
    if 0 < cut < limit:
        return text[: cut + 1]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def build(source: Path, output: Path, date: str) -> int:
    records = []
    for file in sorted(source.rglob("*.json")):
        record = json.loads(file.read_text(encoding="utf-8"))
        small = compact(record)
        if small is not None:
            records.append(small)
    # Plain JSON bodies: the wheel compresses the file, and each run reads them without inflating.
    return write_store(output, records, {"date": date, "source": SOURCE, "license": LICENSE}, compress=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="directory of OSV JSON records")
    parser.add_argument("output", type=Path, help="record store (SQLite) to write")
    parser.add_argument("--date", required=True, help="date of the source data (YYYY-MM-DD), shown in reports")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        print(f"{args.source}: not a directory", file=sys.stderr)
        return 2
    args.output.parent.mkdir(parents=True, exist_ok=True)
    count = build(args.source, args.output, args.date)
    print(f"wrote {args.output} ({count} records, {args.output.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
