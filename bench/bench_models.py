#!/usr/bin/env python3
"""Benchmark: the `models` scanner against picklescan, modelscan and fickling on one labelled corpus.

    python bench/bench_models.py                          # peers found on PATH
    python bench/bench_models.py --peer-bin /tmp/peers/bin --runs 7
    python bench/bench_models.py --corpus DIR              # DIR/malicious/* and DIR/benign/*

The corpus is the generated one from tests/scanners/models/model_corpus.py
(every bypass family of shared/docs/models-notes.md plus benign look-alikes in
the layouts torch, joblib and numpy really write). Nothing here loads a model:
the corpus is written as bytes and every tool runs in its own process.

Two measurements:

* Verdicts. Each peer runs once per file (so a crash on one file cannot hide
  the others), and its exit status and report are mapped to one of
  flagged / clean / error / unsupported. aisec-ci runs once on the directory,
  as a user runs it; a file is flagged when it has any finding above `info`.
* Time. Whole-process runs over the directory, tools alternating A B C D A B
  C D, median of --runs after one warm-up. fickling has no directory mode, so
  its figure is a loop of one process per file. A tool that aborts a
  directory scan on some file is timed on the corpus minus the files it
  crashed on (said in the notes).

Install peers only into a throwaway virtualenv, never beside the project:
    python3 -m venv /tmp/peers
    /tmp/peers/bin/pip install 'picklescan[7z]' modelscan h5py 'numpy<2' fickling typing_extensions
(`picklescan[7z]`: without py7zr picklescan aborts on any 7z file; `numpy<2`:
modelscan 0.8.8 fails on .npy files with numpy 2; fickling 0.1.12 imports
typing_extensions without declaring it.)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS_MODULE = REPO / "tests" / "scanners" / "models" / "model_corpus.py"
FLAGGED, CLEAN, ERROR, UNSUPPORTED = "flagged", "clean", "error", "unsupported"
PER_FILE_TIMEOUT = 120.0


@dataclass
class Verdict:
    status: str
    detail: str = ""


@dataclass
class Tool:
    name: str
    version: str
    verdicts: Callable[[Path, list[Path]], dict[Path, Verdict]]
    timed: Callable[[Path, list[Path]], None]
    """One whole run over the corpus (directory mode where the tool has one)."""
    notes: list[str] = field(default_factory=list)
    timing_files: list[Path] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    timing_root: Path | None = None


def run(cmd: Sequence[str], cwd: Path, timeout: float = PER_FILE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(list(cmd), -9, "", "timed out")


def crashed(proc: subprocess.CompletedProcess[str]) -> bool:
    # picklescan prints its traceback on stdout
    return "Traceback (most recent call last)" in proc.stderr + proc.stdout or proc.returncode < 0


# --- aisec-ci ----------------------------------------------------------------------------


def aisec_cmd(target: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "aisec_ci",
        "scan",
        str(target),
        "--scanners",
        "models",
        "--format",
        "json",
        "--output",
        str(out),
        "--fail-on",
        "none",
    ]


def aisec_verdicts(root: Path, files: list[Path]) -> dict[Path, Verdict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        proc = run(aisec_cmd(root, out), cwd=Path(tmp), timeout=600)
        if not out.exists():
            raise SystemExit(f"aisec-ci produced no report: {proc.stderr[-2000:]}")
        report = json.loads(out.read_text())
    rules: dict[str, set[str]] = {}
    for f in report["findings"]:
        if f["severity"] != "info":
            rules.setdefault(f["path"], set()).add(f["rule_id"])
    skipped = {s["path"]: s.get("reason", "") for s in report.get("skipped", [])}
    verdicts: dict[Path, Verdict] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel in rules:
            verdicts[path] = Verdict(FLAGGED, ", ".join(sorted(rules[rel])))
        elif rel in skipped:
            verdicts[path] = Verdict(UNSUPPORTED, skipped[rel])
        else:
            verdicts[path] = Verdict(CLEAN)
    return verdicts


def aisec_timed(root: Path, _files: list[Path]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run(aisec_cmd(root, Path(tmp) / "r.json"), cwd=Path(tmp), timeout=600)


# --- picklescan ----------------------------------------------------------------------------


def picklescan_verdict(exe: str, path: Path) -> Verdict:
    proc = run([exe, "-p", str(path)], cwd=path.parent)
    out = proc.stdout
    if " FOUND" in out or proc.returncode == 1:
        found = [line.split(": ", 1)[-1] for line in out.splitlines() if line.endswith(" FOUND")]
        return Verdict(FLAGGED, "; ".join(found[:3]))
    if crashed(proc):
        return Verdict(ERROR, "crashed: " + (proc.stderr + out).strip().splitlines()[-1][:160])
    if "Scanned files: 0" in out:
        return Verdict(UNSUPPORTED, "not scanned")
    if proc.returncode != 0:
        lines = (proc.stderr + out).strip().splitlines()
        return Verdict(ERROR, lines[0][:160] if lines else f"exit {proc.returncode}")
    return Verdict(CLEAN)


# --- modelscan ----------------------------------------------------------------------------


def modelscan_verdict(exe: str, path: Path) -> Verdict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ms.json"
        proc = run([exe, "scan", "-p", str(path), "-r", "json", "-o", str(out), "--show-skipped"], cwd=Path(tmp))
        if not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()
            return Verdict(ERROR, "no report: " + (tail[-1][:160] if tail else f"exit {proc.returncode}"))
        report = json.loads(out.read_text())
    if report.get("issues"):
        return Verdict(FLAGGED, "; ".join(sorted({i["description"][:80] for i in report["issues"]}))[:200])
    if report.get("errors"):
        return Verdict(ERROR, report["errors"][0]["description"][:160])
    if not report["summary"].get("scanned", {}).get("total_scanned"):
        return Verdict(UNSUPPORTED, "not scanned")
    return Verdict(CLEAN)


def modelscan_timed(exe: str) -> Callable[[Path, list[Path]], None]:
    def timed(root: Path, _files: list[Path]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            run(
                [exe, "scan", "-p", str(root), "-r", "json", "-o", str(Path(tmp) / "ms.json")],
                cwd=Path(tmp),
                timeout=600,
            )

    return timed


# --- fickling ----------------------------------------------------------------------------


def fickling_verdict(exe: str, path: Path) -> Verdict:
    with tempfile.TemporaryDirectory() as tmp:
        proc = run(
            [exe, "--check-safety", "--print-results", str(path), "--json-output", str(Path(tmp) / "f.json")],
            cwd=Path(tmp),
        )
    if proc.returncode == 1:
        return Verdict(FLAGGED, (proc.stdout.strip().splitlines() or [""])[0][:160])
    if proc.returncode == 0:
        return Verdict(CLEAN)
    if crashed(proc):
        return Verdict(ERROR, "crashed: " + proc.stderr.strip().splitlines()[-1][:160])
    first = proc.stderr.strip().splitlines()
    return Verdict(ERROR, first[0][:160] if first else f"exit {proc.returncode}")


def fickling_timed(exe: str) -> Callable[[Path, list[Path]], None]:
    def timed(_root: Path, files: list[Path]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for path in files:
                run([exe, "--check-safety", str(path), "--json-output", str(Path(tmp) / "f.json")], cwd=Path(tmp))

    return timed


# fickling's Python API, run in fickling's own interpreter: one process for the whole corpus,
# zip archives through its zip scanner (which the CLI does not use for local files).
FICKLING_API_DRIVER = """
import json, sys, zipfile
from fickling.loader import scan_file, scan_zip_archive
out = {}
for path in sys.argv[1:]:
    try:
        if zipfile.is_zipfile(path):
            res = list(scan_zip_archive(path, graceful=True).values())
        else:
            res = [scan_file(path, graceful=True)]
        errors = [e for r in res for e in r.errors]
        if any(not r.is_safe for r in res):
            out[path] = ["flagged", (errors or [r.severity.name for r in res if not r.is_safe])[0]]
        elif errors:
            out[path] = ["error", errors[0]]
        elif not res:
            out[path] = ["unsupported", "no pickle members"]
        else:
            out[path] = ["clean", ""]
    except Exception as exc:
        out[path] = ["error", "crashed: %s: %s" % (type(exc).__name__, exc)]
print(json.dumps(out))
"""


def fickling_api_run(python: list[str], files: list[Path]) -> dict[Path, Verdict]:
    with tempfile.TemporaryDirectory() as tmp:
        proc = run([*python, "-c", FICKLING_API_DRIVER, *map(str, files)], cwd=Path(tmp), timeout=600)
    try:
        raw = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()
        detail = "crashed: " + (tail[-1][:160] if tail else f"exit {proc.returncode}")
        return {p: Verdict(ERROR, detail) for p in files}
    return {p: Verdict(raw[str(p)][0], str(raw[str(p)][1])[:160]) for p in files}


def fickling_api(python: list[str]) -> tuple[Callable[..., dict[Path, Verdict]], Callable[..., None]]:
    def verdicts(_root: Path, files: list[Path]) -> dict[Path, Verdict]:
        return fickling_api_run(python, files)

    def timed(_root: Path, files: list[Path]) -> None:
        fickling_api_run(python, files)

    return verdicts, timed


# --- plumbing ----------------------------------------------------------------------------


def per_file(
    verdict: Callable[[str, Path], Verdict], exe: str, jobs: int
) -> Callable[[Path, list[Path]], dict[Path, Verdict]]:
    def verdicts(_root: Path, files: list[Path]) -> dict[Path, Verdict]:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return dict(zip(files, pool.map(lambda p: verdict(exe, p), files), strict=True))

    return verdicts


def picklescan_timed(exe: str) -> Callable[[Path, list[Path]], None]:
    def timed(root: Path, _files: list[Path]) -> None:
        run([exe, "-p", str(root)], cwd=root, timeout=600)

    return timed


def find_tool(name: str, peer_bins: Sequence[Path]) -> str | None:
    for d in peer_bins:
        candidate = d / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def interpreter(exe: str) -> list[str]:
    """The interpreter named in a console script's shebang (the tool's own virtualenv)."""
    try:
        first = Path(exe).read_bytes()[:300].split(b"\n", 1)[0]
    except OSError:
        return []
    return first[2:].decode(errors="replace").split() if first.startswith(b"#!") else []


def package_version(exe: str, dist: str) -> str:
    """Ask the tool's own interpreter, so the version is the one that runs."""
    interp = interpreter(exe)
    if not interp:
        return "?"
    proc = run([*interp, "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"], cwd=Path.cwd())
    return proc.stdout.strip() or "?"


def load_corpus_module() -> object:
    spec = importlib.util.spec_from_file_location("model_corpus", CORPUS_MODULE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {CORPUS_MODULE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def families(corpus_module: object) -> dict[str, str]:
    names: dict[str, str] = {}
    for sample in [*corpus_module.malicious(), *corpus_module.benign()]:  # type: ignore[attr-defined]
        names[f"{'malicious' if sample.malicious else 'benign'}/{sample.name}"] = sample.family
    return names


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="labelled corpus (malicious/ and benign/); default: generate one")
    ap.add_argument("--peer-bin", type=Path, action="append", default=[], help="directory holding peer tools")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool (median reported)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel per-file verdict runs (not timed)")
    ap.add_argument("--details", action="store_true", help="list every missed file and false positive")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    args = ap.parse_args(argv)

    corpus_module = load_corpus_module()
    family_of = families(corpus_module)
    tmp_root = Path(tempfile.mkdtemp(prefix="bench-models-"))
    try:
        corpus = args.corpus
        if corpus is None:
            corpus = tmp_root / "corpus"
            corpus_module.write_corpus(corpus)  # type: ignore[attr-defined]
        corpus = corpus.resolve()
        files = sorted(p for p in corpus.rglob("*") if p.is_file())
        label = {p: p.relative_to(corpus).parts[0] == "malicious" for p in files}
        n_mal = sum(label.values())
        n_ben = len(files) - n_mal
        total_bytes = sum(p.stat().st_size for p in files)

        tools = [Tool("aisec-ci", _our_version(), aisec_verdicts, aisec_timed)]
        exe = find_tool("picklescan", args.peer_bin)
        if exe:
            tools.append(
                Tool(
                    "picklescan",
                    package_version(exe, "picklescan"),
                    per_file(picklescan_verdict, exe, args.jobs),
                    picklescan_timed(exe),
                )
            )
        exe = find_tool("modelscan", args.peer_bin)
        if exe:
            tools.append(
                Tool(
                    "modelscan",
                    package_version(exe, "modelscan"),
                    per_file(modelscan_verdict, exe, args.jobs),
                    modelscan_timed(exe),
                )
            )
        exe = find_tool("fickling", args.peer_bin)
        if exe:
            tools.append(
                Tool(
                    "fickling",
                    package_version(exe, "fickling"),
                    per_file(fickling_verdict, exe, args.jobs),
                    fickling_timed(exe),
                    notes=["no directory mode: timed as one `--check-safety` process per file"],
                )
            )
            if interpreter(exe):
                api_verdicts, api_timed = fickling_api(interpreter(exe))
                tools.append(
                    Tool(
                        "fickling (API)",
                        package_version(exe, "fickling"),
                        api_verdicts,
                        api_timed,
                        notes=["Python API in one process: scan_zip_archive for zips, scan_file otherwise, graceful"],
                    )
                )
        missing = {"picklescan", "modelscan", "fickling"} - {t.name for t in tools}
        if missing:
            print(f"not found (use --peer-bin): {', '.join(sorted(missing))}", file=sys.stderr)

        results: dict[str, dict[Path, Verdict]] = {}
        for tool in tools:
            print(f"verdicts: {tool.name} ...", file=sys.stderr)
            results[tool.name] = tool.verdicts(corpus, files)
            crashed_on = [p for p, v in results[tool.name].items() if v.detail.startswith("crashed")]
            tool.timing_files = [p for p in files if p not in crashed_on]
            if crashed_on and not tool.name.startswith("fickling"):
                timing_dir = tmp_root / f"timing-{tool.name}"
                for p in tool.timing_files:
                    dest = timing_dir / p.relative_to(corpus)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(p, dest)
                tool.notes.append(
                    f"timed without the {len(crashed_on)} file(s) it crashes on "
                    f"({', '.join(p.name for p in crashed_on[:3])}): a crash aborts its directory scan"
                )
                tool.timing_root = timing_dir

        for tool in tools:  # warm-up: page cache, interpreter bytecode caches
            tool.timed(tool.timing_root or corpus, tool.timing_files)
        for _ in range(args.runs):
            for tool in tools:
                started = time.perf_counter()
                tool.timed(tool.timing_root or corpus, tool.timing_files)
                tool.times.append(time.perf_counter() - started)

        rows = []
        for tool in tools:
            v = results[tool.name]
            mal = [p for p in files if label[p]]
            ben = [p for p in files if not label[p]]
            hit = sum(v[p].status == FLAGGED for p in mal)
            fp = sum(v[p].status == FLAGGED for p in ben)
            err_mal = sum(v[p].status in (ERROR, UNSUPPORTED) for p in mal)
            err_ben = sum(v[p].status in (ERROR, UNSUPPORTED) for p in ben)
            crash = sum(v[p].detail.startswith("crashed") for p in files)
            closed_hit = sum(v[p].status in (FLAGGED, ERROR) for p in mal)
            closed_fp = sum(v[p].status in (FLAGGED, ERROR) for p in ben)
            t = median(tool.times)
            n = len(tool.timing_files)
            size = sum(p.stat().st_size for p in tool.timing_files)
            rows.append(
                {
                    "tool": tool.name,
                    "version": tool.version,
                    "recall": hit / n_mal,
                    "detected": hit,
                    "false_positives": fp,
                    "not_scanned_malicious": err_mal,
                    "not_scanned_benign": err_ben,
                    "crashes": crash,
                    "fail_closed_recall": closed_hit / n_mal,
                    "fail_closed_false_positives": closed_fp,
                    "median_s": t,
                    "timed_files": n,
                    "files_per_s": n / t,
                    "mb_per_s": size / t / 1e6,
                    "notes": tool.notes,
                    "missed": sorted(p.relative_to(corpus).as_posix() for p in mal if v[p].status != FLAGGED),
                    "false_positive_files": sorted(
                        p.relative_to(corpus).as_posix() for p in ben if v[p].status == FLAGGED
                    ),
                }
            )
        ours = rows[0]["median_s"]
        print()
        print(
            f"corpus: {len(files)} files ({n_mal} malicious, {n_ben} benign, {total_bytes / 1e6:.2f} MB); "
            f"{args.runs} timed runs per tool, median; {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
            f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        )
        print()
        header = (
            "| tool | version | recall | false positives | not scanned (mal/benign) | crashes "
            "| fail-closed recall / FP | median wall s | files/s | MB/s | time vs aisec-ci |"
        )
        print(header)
        print("|" + "---|" * header.count(" | ") + "---|")
        for r in rows:
            print(
                f"| {r['tool']} | {r['version']} | {r['recall']:.2f} ({r['detected']}/{n_mal}) | "
                f"{r['false_positives']}/{n_ben} | {r['not_scanned_malicious']}/{r['not_scanned_benign']} | "
                f"{r['crashes']} | {r['fail_closed_recall']:.2f} / {r['fail_closed_false_positives']} | "
                f"{r['median_s']:.2f} | {r['files_per_s']:.0f} | {r['mb_per_s']:.2f} | {r['median_s'] / ours:.1f}x |"
            )
        for r in rows:
            for note in r["notes"]:
                print(f"- {r['tool']}: {note}")
        print()
        _family_table(rows, results, files, label, corpus, family_of)
        if args.details:
            for r in rows:
                print(f"\n## {r['tool']}")
                v = results[r["tool"]]
                for rel in r["missed"]:
                    d = v[corpus / rel]
                    print(f"  missed {rel} [{family_of.get(rel, '?')}]: {d.status} {d.detail}")
                for rel in r["false_positive_files"]:
                    print(f"  false positive {rel}: {v[corpus / rel].detail}")
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    return 0


def _family_table(
    rows: list[dict[str, object]],
    results: dict[str, dict[Path, Verdict]],
    files: list[Path],
    label: dict[Path, bool],
    corpus: Path,
    family_of: dict[str, str],
) -> None:
    names = [str(r["tool"]) for r in rows]
    for title, malicious in (("malicious family: detected", True), ("benign family: false positives", False)):
        groups: dict[str, list[Path]] = {}
        for p in files:
            if label[p] == malicious:
                groups.setdefault(family_of.get(p.relative_to(corpus).as_posix(), "?"), []).append(p)
        print(f"| {title} | files | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        for fam in sorted(groups):
            ps = groups[fam]
            cells = [f"{sum(results[n][p].status == FLAGGED for p in ps)}/{len(ps)}" for n in names]
            print(f"| {fam} | {len(ps)} | " + " | ".join(cells) + " |")
        print()


def _our_version() -> str:
    proc = run([sys.executable, "-m", "aisec_ci", "--version"], cwd=REPO)
    return (proc.stdout.strip().split() or ["?"])[-1]


if __name__ == "__main__":
    sys.exit(main())
