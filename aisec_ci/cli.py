"""Command line: `aisec-ci scan|rules|explain|baseline|merge`.

Exit codes (a contract shared with the action): 0 gate passed, 1 gate failed,
2 usage, configuration or internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from aisec_ci import __version__
from aisec_ci.cancel import Cancelled, install_handlers
from aisec_ci.errors import AisecError, UsageError
from aisec_ci.result import ScanResult
from aisec_ci.rules import PROFILES
from aisec_ci.severity import FAIL_ON_CHOICES, Severity, parse_fail_on

if TYPE_CHECKING:
    from aisec_ci.pipeline import ScanOptions

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2

FORMATS = ("text", "json", "sarif", "markdown")
EXTENSION_FORMATS = {".sarif": "sarif", ".json": "json", ".md": "markdown", ".markdown": "markdown", ".txt": "text"}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors already; keep its message but no traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        # argparse quotes the rejected value (`invalid choice: '…'`): it may be a pasted token.
        sys.stderr.write(f"aisec-ci: error: {_safe(message)}\n")
        raise SystemExit(EXIT_ERROR)


def _safe(message: str) -> str:
    """Every error line passes the redaction stage: it may quote a value a user pasted."""
    from aisec_ci.redaction import safe_message

    return safe_message(message)


def _add_output_options(
    p: argparse.ArgumentParser,
    fail_on_help: str = "lowest severity that fails the gate (default: the config's fail-on, else high)",
) -> None:
    p.add_argument(
        "--format",
        "-f",
        action="append",
        choices=FORMATS,
        dest="formats",
        help="report format; repeat with --output for several (default: text)",
    )
    p.add_argument(
        "--output",
        "-o",
        action="append",
        dest="outputs",
        metavar="FILE",
        help="file for the matching --format ('-' for stdout); the format is inferred from the extension if omitted",
    )
    p.add_argument("--fail-on", choices=FAIL_ON_CHOICES, help=fail_on_help)
    p.add_argument(
        "--min-severity",
        choices=[s.label for s in sorted(Severity, reverse=True)],
        help="lowest severity the text and markdown reports list (display only: the gate, SARIF and JSON keep all)",
    )
    p.add_argument("--category", default="aisec-ci", help="SARIF automationDetails category (default: aisec-ci)")
    p.add_argument("--no-color", action="store_true", help="no ANSI colours in the text report (NO_COLOR works too)")


def _add_scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default=".", help="directory (or file) to scan (default: .)")
    p.add_argument("--config", "-c", type=Path, help="config file (default: .aisec.yml in PATH)")
    p.add_argument("--scanners", help="comma-separated scanners to run, or 'none' (default: all, or the config's list)")
    p.add_argument("--baseline", type=Path, help="baseline file: findings in it are not reported")
    p.add_argument(
        "--profile",
        choices=PROFILES,
        help="rules to report: default (what a maintainer acts on), strict (adds hygiene), "
        "audit (everything, low confidence included); default: the config's, else default",
    )
    p.add_argument("--include", action="append", default=[], metavar="GLOB", help="only scan matching paths")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="skip matching paths")
    p.add_argument("--jobs", "-j", type=int, default=0, help="worker processes (default: CPU count)")
    p.add_argument("--shard", metavar="I/N", help="scan only shard I of N (combine the JSON reports with `merge`)")
    p.add_argument("--new-only", action="store_true", help="report only findings absent from --base")
    p.add_argument("--base", metavar="REF", help="git revision to compare against with --new-only")
    p.add_argument(
        "--history",
        metavar="RANGE",
        help="also scan git history for secrets: a revision range (main..HEAD) or 'all' (every blob once)",
    )
    p.add_argument("--sbom", type=Path, metavar="FILE", help="write a CycloneDX JSON SBOM of the dependencies found")
    p.add_argument("--no-git", action="store_true", help="walk the directory instead of asking git for the file list")
    p.add_argument("--offline", action="store_true", help="never use the network (offline vulnerability data only)")
    p.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep each file's results in DIR and reuse them while the file, aisec-ci and the settings are "
        "unchanged; reports are identical with and without it (default: $AISEC_CACHE_DIR if set, else off)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="aisec-ci", description="Security gate for AI/ML repositories.")
    parser.add_argument("--version", action="version", version=f"aisec-ci {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    scan = sub.add_parser("scan", help="scan a repository and report findings")
    _add_scan_options(scan)
    _add_output_options(scan)

    image = sub.add_parser(
        "image",
        help="scan a built image: `docker save` tarball, OCI layout (directory or tar) or root filesystem",
    )
    image.add_argument(
        "target", metavar="TARGET", help="docker save .tar, OCI image layout, or unpacked root filesystem"
    )
    image.add_argument(
        "--dockerfile",
        type=Path,
        metavar="FILE",
        help="the Dockerfile the image was built from: findings are traced to the line that installed or "
        "copied what they are about, so code scanning shows them in the repository",
    )
    image.add_argument("--config", "-c", type=Path, help="config file (default: .aisec.yml of the current repository)")
    image.add_argument(
        "--scanners",
        help="comma-separated parts to run: packages, secrets, models, config (default: all)",
    )
    image.add_argument("--baseline", type=Path, help="baseline file: findings in it are not reported")
    image.add_argument("--profile", choices=PROFILES, help="rules to report: default, strict or audit")
    image.add_argument("--sbom", type=Path, metavar="FILE", help="write a CycloneDX JSON SBOM of the image's packages")
    image.add_argument("--offline", action="store_true", help="never use the network (offline vulnerability data only)")
    image.add_argument("--quiet", "-q", action="store_true", help="no progress line on stderr")
    _add_output_options(image)
    image.set_defaults(category="aisec-ci-image")

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", "-f", choices=("text", "json", "markdown"), default="text")
    rules.add_argument("--scanner", help="only this scanner's rules")

    explain = sub.add_parser("explain", help="print a rule's help")
    explain.add_argument("rule_id", metavar="RULE-ID")

    baseline = sub.add_parser("baseline", help="manage the baseline of accepted findings")
    bsub = baseline.add_subparsers(dest="baseline_command", metavar="ACTION", parser_class=_Parser)
    create = bsub.add_parser("create", help="scan and record every current finding as accepted")
    _add_scan_options(create)
    create.add_argument(
        "--output", "-o", type=Path, dest="baseline_output", help="baseline file (default: .aisec-baseline.json)"
    )

    db = sub.add_parser("db", help="manage the offline vulnerability database")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", parser_class=_Parser)
    update = dbsub.add_parser("update", help="download OSV's advisories (PyPI by default) for offline scans")
    update.add_argument("--cache-dir", type=Path, help="where to keep it (default: the user cache directory)")
    update.add_argument(
        "--ecosystem",
        action="append",
        choices=["PyPI", "Go", "npm", "crates.io", "Debian", "Ubuntu", "Alpine"],
        help="ecosystem to download, repeatable (default: PyPI); each is kept as osv/<ecosystem>-all.zip",
    )
    update.add_argument("--url", help="download from this URL (default: osv.dev's all.zip of the ecosystem)")

    merge = sub.add_parser("merge", help="combine JSON reports of --shard runs")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json")
    _add_output_options(
        merge,
        fail_on_help="lowest severity that fails the gate (default: the shards' own fail-on, which must agree)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A scan is a short process that allocates many small objects (records, findings) and frees
    # almost none of them before it exits: the default thresholds run the cyclic collector
    # hundreds of times for nothing (a few ms of a 1,000-pin audit). mypy tunes its CLI alike.
    gc.set_threshold(100_000, 50, 50)
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(args.debug or os.environ.get("AISEC_DEBUG"))
    try:
        if args.command == "scan":
            return _cmd_scan(args)
        if args.command == "image":
            return _cmd_image(args)
        if args.command == "rules":
            return _cmd_rules(args)
        if args.command == "explain":
            return _cmd_explain(args)
        if args.command == "baseline":
            if args.baseline_command != "create":
                parser.error("baseline needs an action: create")
            return _cmd_baseline_create(args)
        if args.command == "merge":
            return _cmd_merge(args)
        if args.command == "db":
            if args.db_command != "update":
                parser.error("db needs an action: update")
            return _cmd_db_update(args)
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    except AisecError as exc:
        sys.stderr.write(f"aisec-ci: error: {_safe(str(exc))}\n")
        return exc.exit_code
    except (KeyboardInterrupt, Cancelled) as exc:
        cancel = exc if isinstance(exc, Cancelled) else Cancelled(signal.SIGINT)
        sys.stderr.write(
            f"aisec-ci: cancelled by {cancel.name}: workers stopped and temporary files removed; no report written\n"
        )
        return cancel.exit_code
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:  # the contract: internal errors are exit 2, never a bare traceback
        from aisec_ci.redaction import safe_error_text

        if debug:
            import traceback

            traceback.print_exc()
        sys.stderr.write(
            f"aisec-ci: internal error: {safe_error_text(exc)}\n"
            "aisec-ci: this is a bug; rerun with --debug for the traceback and report it\n"
        )
        return EXIT_ERROR


def run() -> NoReturn:
    """The console script (and `python -m aisec_ci`): `main`, then an immediate exit.

    Interpreter shutdown tears every module and object down one by one: about 20 ms after a
    scan, a seventh of a whole 1,000-pin audit, paid by every pre-commit run for nothing.
    `main` has written and closed every report and shut down every pool and temporary
    directory by the time it returns, so once the standard streams are flushed the process can
    end at once. (Tests call `main` itself, which returns normally.)"""
    install_handlers()
    try:
        code = main()
    except SystemExit as exc:  # argparse: --help, --version and usage errors
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            sys.stderr.write(f"{exc.code}\n")
            code = EXIT_ERROR
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (`| head`) or a closed stream: the exit code still stands.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


# --- scan ----------------------------------------------------------------


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i_text, n_text = text.split("/", 1)
        index, count = int(i_text), int(n_text)
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/N, e.g. 1/4") from None
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: I must be between 1 and N")
    return index, count


def _scan_options(args: argparse.Namespace) -> ScanOptions:
    from aisec_ci.pipeline import ScanOptions
    from aisec_ci.workspace.gitdiff import validate_revision

    # Checked before anything runs: a value starting with '-' would otherwise reach git as an option.
    for option, value in (("--base", args.base), ("--history", args.history)):
        if value is not None:
            validate_revision(value, option)
    if args.new_only and not args.base:
        raise UsageError("--new-only needs --base REF (the revision to compare against)")
    if args.base and not args.new_only:
        raise UsageError("--base is only meaningful with --new-only")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    fail_on_text = getattr(args, "fail_on", None)
    scanners = None
    if args.scanners is not None:
        # `--scanners none` runs the pipeline alone (discovery, suppression, reports): used by the benchmark.
        named = [s.strip() for s in args.scanners.split(",") if s.strip()]
        if not named:
            raise UsageError("--scanners: give a comma-separated list of scanners, or 'none' (omit it for all)")
        scanners = [s for s in named if s != "none"]
    return ScanOptions(
        root=Path(args.path),
        config_path=args.config,
        scanners=scanners,
        fail_on=parse_fail_on(fail_on_text) if fail_on_text else None,
        fail_on_set=fail_on_text is not None,
        baseline=args.baseline,
        include=args.include,
        exclude=args.exclude,
        jobs=args.jobs,
        shard=_parse_shard(args.shard),
        new_only_base=args.base if args.new_only else None,
        history=args.history,
        sbom=args.sbom,
        use_git=not args.no_git,
        offline=args.offline,
        profile=getattr(args, "profile", None),
        min_severity=Severity.parse(args.min_severity) if getattr(args, "min_severity", None) else None,
        cache_dir=_cache_dir(args),
    )


def _cache_dir(args: argparse.Namespace) -> Path | None:
    """--cache, else $AISEC_CACHE_DIR (the directory the deps scanner keeps advisory details in)."""
    if args.cache is not None:
        if not str(args.cache):
            raise UsageError("--cache needs a directory")
        return Path(args.cache)
    env = os.environ.get("AISEC_CACHE_DIR", "").strip()
    return Path(env) if env else None


def _cmd_scan(args: argparse.Namespace) -> int:
    from aisec_ci.pipeline import run_scan

    outputs = _pair_outputs(args.formats, args.outputs)
    opts = _scan_options(args)
    started = time.monotonic()
    result = run_scan(opts)
    elapsed = time.monotonic() - started
    _write_reports(result, outputs, args)
    if not args.quiet:
        cache = f" ({result.cache.describe()})" if result.cache is not None else ""
        sys.stderr.write(
            f"aisec-ci: {result.files_scanned} files scanned, {len(result.skipped)} skipped, "
            f"{len(result.findings)} findings in {elapsed:.2f}s{cache}\n"
        )
    return EXIT_PASSED if result.passed else EXIT_FAILED


def _cmd_image(args: argparse.Namespace) -> int:
    from aisec_ci.image.scan import ImageOptions, run_image_scan
    from aisec_ci.workspace.discovery import scan_root_of

    outputs = _pair_outputs(args.formats, args.outputs)
    scanners = None
    if args.scanners is not None:
        scanners = [s.strip() for s in args.scanners.split(",") if s.strip()]
        if not scanners:
            raise UsageError("--scanners: give a comma-separated list (packages, secrets, models, config)")
    opts = ImageOptions(
        target=Path(args.target),
        dockerfile=args.dockerfile,
        config_path=args.config,
        scanners=scanners,
        fail_on=parse_fail_on(args.fail_on) if args.fail_on else None,
        fail_on_set=args.fail_on is not None,
        profile=args.profile,
        offline=args.offline,
        sbom=args.sbom,
        baseline=args.baseline,
        min_severity=Severity.parse(args.min_severity) if args.min_severity else None,
        root=scan_root_of(Path.cwd(), use_git=True),
    )
    started = time.monotonic()
    result = run_image_scan(opts)
    elapsed = time.monotonic() - started
    _write_reports(result, outputs, args)
    if not args.quiet:
        layers = result.files_by_kind.get("layer", 0)
        sys.stderr.write(
            f"aisec-ci: {layers} layer(s), {result.files_scanned} files read, {len(result.skipped)} skipped, "
            f"{len(result.findings)} findings in {elapsed:.2f}s\n"
        )
    return EXIT_PASSED if result.passed else EXIT_FAILED


def _pair_outputs(formats: list[str] | None, outputs: list[str] | None) -> list[tuple[str, str]]:
    """Pair `--format` and `--output` by position; infer a missing format from
    the file extension; at most one report may go to stdout."""
    formats = list(formats or [])
    outputs = list(outputs or [])
    if len(outputs) > len(formats):
        for out in outputs[len(formats) :]:
            fmt = EXTENSION_FORMATS.get(Path(out).suffix.lower())
            if fmt is None:
                raise UsageError(f"--output {out}: add --format (cannot infer a format from the file name)")
            formats.append(fmt)
    if not formats:
        formats = ["text"]
    pairs = [(fmt, outputs[i] if i < len(outputs) else "-") for i, fmt in enumerate(formats)]
    to_stdout = [fmt for fmt, out in pairs if out == "-"]
    if len(to_stdout) > 1:
        raise UsageError("only one report can go to stdout; give --output FILE for the others")
    return pairs


def _render(fmt: str, result: ScanResult, args: argparse.Namespace, stream: TextIO | None) -> str:
    from aisec_ci.scanners.registry import catalog

    if fmt == "json":
        return result.to_json()
    # Built after the JSON branch: the catalog imports every scanner package.
    cat = catalog()
    if fmt == "sarif":
        from aisec_ci.report.sarif import render_sarif

        return render_sarif(result, cat, category=args.category)
    if fmt == "markdown":
        from aisec_ci.report.markdown import render_markdown

        # Inside GitHub Actions, link findings to the exact commit's lines.
        server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
        repo_url = f"{server.rstrip('/')}/{repo}" if server and repo else None
        return render_markdown(result, cat, repo_url=repo_url, ref=sha if repo_url else None)
    from aisec_ci.report.text import render_text, use_color

    color = (not args.no_color) and stream is not None and use_color(stream, os.environ)
    return render_text(result, cat, color=color)


def _write_reports(result: ScanResult, outputs: list[tuple[str, str]], args: argparse.Namespace) -> None:
    for fmt, dest in outputs:
        if dest == "-":
            sys.stdout.write(_render(fmt, result, args, sys.stdout))
            sys.stdout.flush()
            continue
        from aisec_ci.outputs import write_output

        text = _render(fmt, result, args, None)
        try:
            write_output(Path(dest), text)
        except OSError as exc:
            raise UsageError(f"cannot write {dest}: {exc.strerror or exc}") from None


# --- rules / explain -------------------------------------------------------


def _cmd_rules(args: argparse.Namespace) -> int:
    from aisec_ci.docs import rules_markdown
    from aisec_ci.scanners.registry import all_scanners, catalog

    rules = list(catalog())
    if args.scanner:
        scanners = all_scanners()
        if args.scanner not in scanners and args.scanner not in ("core", "image"):
            raise UsageError(f"unknown scanner {args.scanner!r} (available: core, image, {', '.join(scanners)})")
        ids = (
            {r.id for r in scanners[args.scanner].rules}
            if args.scanner in scanners
            else {r.id for r in rules if r.family == args.scanner}
        )
        rules = [r for r in rules if r.id in ids]
    if args.format == "json":
        payload = [
            {
                "id": r.id,
                "name": r.name,
                "severity": r.severity.label,
                "short_description": r.short_description,
                "enabled_by_default": r.enabled_by_default,
                "profile": r.profile,
                "confidence": r.confidence,
                "tags": list(r.tags),
                "precision": r.precision,
                "help_uri": r.help_uri,
            }
            for r in rules
        ]
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif args.format == "markdown":
        sys.stdout.write(rules_markdown(rules))
    else:
        width = max((len(r.id) for r in rules), default=10)
        sys.stdout.write(f"{'RULE':<{width}}  {'SEVERITY':<8}  {'PROFILE':<7}  {'CONF.':<6}  DESCRIPTION\n")
        for r in rules:
            off = "" if r.enabled_by_default else " (off by default)"
            columns = f"{r.id:<{width}}  {r.severity.label:<8}  {r.profile:<7}  {r.confidence:<6}"
            sys.stdout.write(f"{columns}  {r.short_description}{off}\n")
        sys.stdout.write(f"{len(rules)} rules\n")
    return EXIT_PASSED


def _cmd_explain(args: argparse.Namespace) -> int:
    from aisec_ci.scanners.registry import catalog

    cat = catalog()
    rule = cat.get(args.rule_id)
    if rule is None:
        import difflib

        close = difflib.get_close_matches(args.rule_id, [r.id for r in cat], n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (see `aisec-ci rules`)"
        raise UsageError(f"unknown rule {args.rule_id!r}{hint}")
    sys.stdout.write(rule.help_text())
    return EXIT_PASSED


# --- baseline / merge ------------------------------------------------------


def _cmd_baseline_create(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from aisec_ci.pipeline import run_scan
    from aisec_ci.suppress.baseline import write_baseline

    # Every current finding is accepted, whatever profile a later scan reports.
    opts = replace(_scan_options(args), apply_baseline=False, fail_on=None, fail_on_set=True, profile="audit")
    result = run_scan(opts)
    from aisec_ci.workspace.discovery import scan_root_of

    root = scan_root_of(opts.root, use_git=opts.use_git)
    dest = args.baseline_output or (root / ".aisec-baseline.json")
    write_baseline(dest, result.findings)
    if not args.quiet:
        sys.stderr.write(f"aisec-ci: wrote {len(result.findings)} findings to {dest}\n")
    return EXIT_PASSED


def _cmd_db_update(args: argparse.Namespace) -> int:
    from aisec_ci.scanners.deps.database import DatabaseError, database_url, update

    ecosystems = list(dict.fromkeys(args.ecosystem or ["PyPI"]))
    if args.url and len(ecosystems) > 1:
        raise UsageError("db update: --url names one archive; give one --ecosystem with it")
    for ecosystem in ecosystems:
        try:
            path = update(args.cache_dir, args.url or database_url(ecosystem), ecosystem=ecosystem)
        except DatabaseError as exc:
            raise UsageError(f"db update: {exc}") from None
        sys.stdout.write(f"{path}\n")
    return EXIT_PASSED


def _cmd_merge(args: argparse.Namespace) -> int:
    from aisec_ci.merge import load_result, merge_results

    outputs = _pair_outputs(args.formats, args.outputs)
    results = [load_result(p) for p in args.reports]
    fail_on: Severity | None = parse_fail_on(args.fail_on) if args.fail_on else None
    names = [str(p) for p in args.reports]
    merged = merge_results(results, names=names, fail_on=fail_on, fail_on_set=bool(args.fail_on))
    if args.min_severity:
        merged.min_severity = Severity.parse(args.min_severity)
    _write_reports(merged, outputs, args)
    return EXIT_PASSED if merged.passed else EXIT_FAILED
