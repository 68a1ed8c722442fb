"""The action from start to exit code: plan, git, scan, reports, publishing, gate.

The exit code is the gate's (0 passed, 1 failed, 2 usage/config/internal
error), exactly as the CLI's. Publishing happens after the gate is known and
can only add warnings: a token that cannot write, a rate limit or an outage
of the API never turns the step red, and never turns it green either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from aisec_ci.action import commands
from aisec_ci.action.diff_lines import FileDiff, diff_from_git
from aisec_ci.action.env import RunPlan, build_plan, upload_target
from aisec_ci.action.github_api import GitHubClient, RetryPolicy
from aisec_ci.action.markdown_body import action_markdown, existing_findings
from aisec_ci.action.publish_comment import marker, publish_comment
from aisec_ci.action.publish_review import publish_review, review_footer
from aisec_ci.action.publish_sarif import PollSchedule, checkout_uri, upload_sarif
from aisec_ci.action.publish_summary import (
    annotation_commands,
    append_file,
    format_outputs,
    summary_budget,
)
from aisec_ci.cancel import Cancelled, install_handlers
from aisec_ci.errors import AisecError
from aisec_ci.outputs import write_output
from aisec_ci.redaction import safe_message
from aisec_ci.report.hidden import shown_findings
from aisec_ci.result import ScanResult
from aisec_ci.severity import Severity
from aisec_ci.workspace.files import SkippedFile
from aisec_ci.workspace.gitdiff import GitError, run_git

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
FETCH_TIMEOUT = 180


def _float_env(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        return float(environ.get(name, "") or default)
    except ValueError:
        return default


def trust_workspace(plan: RunPlan, environ: MutableMapping[str, str]) -> None:
    """Mark the checkout as a git safe.directory for every git we start.

    The workspace belongs to the runner user (uid 1001) and we run as root, so
    git >= 2.35.2 refuses it as "dubious ownership". `git config --global`
    from an earlier step does not help: the container has its own HOME. The
    GIT_CONFIG_COUNT variables reach every subprocess, ours and the core's.
    """
    dirs: list[str] = [str(plan.workspace)]
    # A scanned subdirectory may hold its own checkout (actions/checkout `path:`).
    for candidate in (plan.scan_root, *plan.scan_root.parents):
        if candidate == plan.workspace:
            break
        dirs.append(str(candidate))
    try:
        count = int(environ.get("GIT_CONFIG_COUNT", "0") or 0)
    except ValueError:
        count = 0
    for text in dirs:
        environ[f"GIT_CONFIG_KEY_{count}"] = "safe.directory"
        environ[f"GIT_CONFIG_VALUE_{count}"] = text
        count += 1
    environ["GIT_CONFIG_COUNT"] = str(count)


def _git_text(root: Path, *args: str) -> str | None:
    try:
        return run_git(root, *args).decode("utf-8", "replace").strip()
    except GitError:
        return None


def ensure_commit(root: Path, sha: str, log: Callable[[str], None]) -> bool:
    """Whether `sha` is in the local repository, fetching it from origin when it is not.

    actions/checkout fetches one commit by default, so the base of a pull
    request is usually missing; fetching it by id (depth 1 in a shallow clone)
    costs one small request. The credentials are the ones checkout persisted.
    """
    if _git_text(root, "cat-file", "-e", f"{sha}^{{commit}}") is not None:
        return True
    shallow = _git_text(root, "rev-parse", "--is-shallow-repository") == "true"
    args = ["git", "-c", "protocol.version=2", "fetch", "--no-tags", "--quiet", "--no-recurse-submodules"]
    if shallow:
        args.append("--depth=1")
    args += ["origin", sha]
    log(f"fetching base commit {sha[:12]} from origin")
    try:
        proc = subprocess.run(
            args,
            cwd=root,
            capture_output=True,
            timeout=FETCH_TIMEOUT,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    if proc.returncode != 0:
        return False
    return _git_text(root, "cat-file", "-e", f"{sha}^{{commit}}") is not None


def _with_prefix(result: ScanResult, prefix: str) -> ScanResult:
    """Paths relative to the repository root, as code scanning and blob links need them."""
    if not prefix:
        return result

    def fix(path: str) -> str:
        return prefix.rstrip("/") if path in (".", "") else prefix + path

    return replace(
        result,
        findings=[replace(f, path=fix(f.path)) for f in result.findings],
        suppressed=[replace(s, finding=replace(s.finding, path=fix(s.finding.path))) for s in result.suppressed],
        skipped=[SkippedFile(fix(s.path), s.reason) for s in result.skipped],
    )


def offline_cache_dir(offline_db: Path) -> Path:
    """The scanner cache the action uses with an offline database: a hidden directory beside it."""
    return offline_db.parent / ".aisec-ci-cache"


def _scanner_env(plan: RunPlan, environ: Mapping[str, str]) -> dict[str, str]:
    from aisec_ci.pipeline import SCANNER_ENV_PREFIXES

    env = {k: v for k, v in environ.items() if k.startswith(SCANNER_ENV_PREFIXES)}
    if plan.offline_db is not None:
        # The deps scanner's offline OSV database (a PyPI all.zip or a directory of OSV JSON).
        env["AISEC_OSV_DB"] = str(plan.offline_db)
        if "AISEC_CACHE_DIR" not in env:
            # The index built from an all.zip lives beside it, so the actions/cache step that keeps
            # the archive keeps the index too (the container's own cache dies with the job).
            env["AISEC_CACHE_DIR"] = str(offline_cache_dir(plan.offline_db))
    if plan.safety_api_key:
        env["SAFETY_API_KEY"] = plan.safety_api_key
    return env


def _relative_to(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def compute_outputs(result: ScanResult | None, plan: RunPlan, gate: str) -> dict[str, str]:
    sarif = _relative_to(plan.sarif_file, plan.workspace) or str(plan.sarif_file)
    if result is None:
        return {"gate": gate, "sarif-file": sarif}
    counted = result.findings
    existing = existing_findings(result) if result.new_only_base else []
    counts = {s: sum(1 for f in counted if f.severity is s) for s in Severity}
    return {
        "findings": str(len(counted) + len(existing)),
        "new-findings": str(len(counted)),
        "critical": str(counts[Severity.CRITICAL]),
        "high": str(counts[Severity.HIGH]),
        "medium": str(counts[Severity.MEDIUM]),
        "low": str(counts[Severity.LOW]),
        "sarif-file": sarif,
        "gate": gate,
    }


class ActionRun:
    def __init__(self, environ: MutableMapping[str, str], stdout: TextIO, stderr: TextIO) -> None:
        self.environ = environ
        self.out = stdout
        self.err = stderr
        self.warnings: list[str] = []

    def log(self, text: str) -> None:
        self.err.write(f"aisec-ci: {safe_message(text)}\n")
        self.err.flush()

    def warn(self, text: str) -> None:
        self.warnings.append(text)
        commands.warning(text, self.out)

    def _write_outputs(self, values: Mapping[str, str]) -> None:
        path = self.environ.get("GITHUB_OUTPUT", "").strip()
        if not path:
            return
        try:
            append_file(Path(path), format_outputs(values))
        except OSError as exc:
            self.warn(f"could not write step outputs to {path}: {exc.strerror or exc}")

    def main(self) -> int:
        started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
        clock = time.monotonic()
        try:
            plan = build_plan(self.environ)
        except AisecError as exc:
            self.out.write(commands.command("error", f"aisec-ci: {exc}") + "\n")
            self._write_outputs({"gate": "error"})
            return EXIT_ERROR
        for w in plan.warnings:
            self.warn(w)
        trust_workspace(plan, self.environ)
        try:
            result = self._scan(plan)
        except AisecError as exc:
            self.out.write(commands.command("error", f"aisec-ci: {exc}") + "\n")
            self._write_outputs(compute_outputs(None, plan, "error"))
            self._summary_error(str(exc))
            return EXIT_ERROR
        self.log(
            f"{result.files_scanned} files scanned, {len(result.findings)} findings counted "
            f"in {time.monotonic() - clock:.2f}s"
        )
        gate = "passed" if result.passed else "failed"
        code = EXIT_PASSED if result.passed else EXIT_FAILED
        self._publish(plan, result, gate, started_at)
        self.log(f"gate {gate}; done in {time.monotonic() - clock:.2f}s")
        return code

    # --- scan -------------------------------------------------------------

    def _scan(self, plan: RunPlan) -> ScanResult:
        from aisec_ci.pipeline import ScanOptions, run_scan

        root = plan.scan_root
        if not root.exists():
            raise AisecError(f"input path: {root} does not exist in the workspace")
        git_root = root if root.is_dir() else root.parent
        toplevel_text = _git_text(git_root, "rev-parse", "--show-toplevel")
        repo_root = Path(toplevel_text) if toplevel_text else plan.workspace
        self.head_sha = _git_text(git_root, "rev-parse", "HEAD") if toplevel_text else None
        base = plan.event.base_sha if plan.new_only else None
        if base is not None and toplevel_text is None:
            self.warn("new-only: the workspace is not a git checkout; reporting every finding")
            base = None
        if base is not None and not ensure_commit(git_root, base, self.log):
            self.warn(
                f"new-only: base commit {base[:12]} is not in the checkout and could not be fetched "
                "(use actions/checkout with fetch-depth: 0); reporting every finding"
            )
            base = None

        excludes: list[str] = list(plan.exclude)
        sarif_rel = _relative_to(plan.sarif_file, root) if root.is_dir() else None
        if sarif_rel:
            # Our own report from an earlier run must not be scanned as repository content.
            excludes.append("/" + sarif_rel)
        for own in (plan.json_file, plan.markdown_file, plan.sbom):
            own_rel = _relative_to(own, root) if own is not None and root.is_dir() else None
            if own_rel:
                excludes.append("/" + own_rel)
        history = plan.history
        if history and ".." in history and toplevel_text is not None:
            # The pull request's base (or a range's start) may not be in a shallow checkout.
            start = history.split("..", 1)[0]
            if len(start) == 40 and not ensure_commit(git_root, start, self.log):
                self.warn(f"history: {start[:12]} is not in the checkout (use fetch-depth: 0); history not scanned")
                history = None
        db_rel = _relative_to(plan.offline_db, root) if plan.offline_db is not None and root.is_dir() else None
        if db_rel:
            excludes.append("/" + db_rel)
        cache_rel = (
            _relative_to(offline_cache_dir(plan.offline_db), root)
            if plan.offline_db is not None and root.is_dir()
            else None
        )
        if cache_rel:
            excludes.append("/" + cache_rel + "/")
        if plan.image is not None:
            result = self._scan_image(plan, repo_root)
            return self._reports(plan, result, repo_root)
        opts = ScanOptions(
            root=root,
            config_path=plan.config,
            scanners=plan.scanners,
            fail_on=plan.fail_on,
            fail_on_set=plan.fail_on_set,
            baseline=plan.baseline,
            exclude=excludes,
            new_only_base=base,
            # A cached offline database means the user wants no vulnerability lookups over the network.
            offline=plan.offline_db is not None,
            env=_scanner_env(plan, self.environ),
            profile=plan.profile,
            min_severity=plan.min_severity,
            history=history,
            sbom=plan.sbom,
            cache_dir=plan.cache_dir,
        )
        result = run_scan(opts)
        if result.cache is not None:
            self.log(result.cache.describe())
        if sarif_rel:
            # Our own artefact is not a skipped repository file worth reporting.
            result.skipped = [s for s in result.skipped if s.path != sarif_rel]
        prefix = _git_text(git_root, "rev-parse", "--show-prefix") if toplevel_text else None
        if prefix is None:
            rel = _relative_to(git_root, plan.workspace)
            prefix = "" if rel in (None, ".") else f"{rel}/"
        result = _with_prefix(result, prefix)
        return self._reports(plan, result, repo_root)

    def _scan_image(self, plan: RunPlan, repo_root: Path) -> ScanResult:
        from aisec_ci.image.scan import ImageOptions, run_image_scan

        assert plan.image is not None
        return run_image_scan(
            ImageOptions(
                target=plan.image,
                dockerfile=plan.dockerfile,
                config_path=plan.config,
                scanners=plan.scanners,
                fail_on=plan.fail_on,
                fail_on_set=plan.fail_on_set,
                profile=plan.profile,
                offline=plan.offline_db is not None,
                sbom=plan.sbom,
                baseline=plan.baseline,
                min_severity=plan.min_severity,
                env=_scanner_env(plan, self.environ),
                root=repo_root,
            )
        )

    def _reports(self, plan: RunPlan, result: ScanResult, repo_root: Path) -> ScanResult:
        from aisec_ci.report.sarif import render_sarif
        from aisec_ci.report.text import render_text
        from aisec_ci.scanners.registry import catalog

        cat = catalog()
        self.catalog = cat
        self.repo_root = repo_root
        commands.print_untrusted(render_text(result, cat, color=True), self.out)
        sarif_text = render_sarif(result, cat, category=plan.category, repo_root_uri=checkout_uri(repo_root))
        try:
            write_output(plan.sarif_file, sarif_text)
        except OSError as exc:
            raise AisecError(f"cannot write {plan.sarif_file}: {exc.strerror or exc}") from None
        self._extra_reports(plan, result, repo_root)
        return result

    def _extra_reports(self, plan: RunPlan, result: ScanResult, repo_root: Path) -> None:
        """The inputs `json-file` and `markdown-file`: the CLI's JSON and markdown reports."""
        from aisec_ci.report.markdown import render_markdown
        from aisec_ci.scanners.registry import catalog

        reports: list[tuple[Path, Callable[[], str]]] = []
        if plan.json_file is not None:
            reports.append((plan.json_file, result.to_json))
        if plan.markdown_file is not None:
            repo_url = f"{plan.server_url}/{plan.repository}" if plan.repository else None
            ref = self.head_sha or plan.event.sha or None

            def markdown() -> str:
                return render_markdown(result, catalog(), repo_url=repo_url, ref=ref if repo_url else None)

            reports.append((plan.markdown_file, markdown))
        for path, render in reports:
            try:
                write_output(path, render())
            except OSError as exc:
                raise AisecError(f"cannot write {path}: {exc.strerror or exc}") from None

    # --- publish ----------------------------------------------------------

    def _summary_error(self, message: str) -> None:
        path = self.environ.get("GITHUB_STEP_SUMMARY", "").strip()
        if path:
            with contextlib.suppress(OSError):
                append_file(Path(path), f"## ⚠️ aisec-ci could not run\n\n{message}\n")

    def _step(self, name: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception as exc:  # a publisher bug must not change the gate
            from aisec_ci.redaction import safe_error_text

            if self.environ.get("AISEC_DEBUG"):
                traceback.print_exc(file=self.err)
            self.warn(f"{name} failed: {safe_error_text(exc)}")

    def _publish(self, plan: RunPlan, result: ScanResult, gate: str, started_at: str) -> None:
        repo_url = f"{plan.server_url}/{plan.repository}" if plan.repository else None
        link_ref = self.head_sha or plan.event.sha or None

        def outputs() -> None:
            self._write_outputs(compute_outputs(result, plan, gate))

        def summary() -> None:
            path = self.environ.get("GITHUB_STEP_SUMMARY", "").strip()
            if not path:
                return
            budget = summary_budget(Path(path))
            text = action_markdown(result, self.catalog, max_bytes=budget, repo_url=repo_url, ref=link_ref)
            append_file(Path(path), text)

        def annotate() -> None:
            for line in annotation_commands(shown_findings(result)):
                self.out.write(line + "\n")
            self.out.flush()

        for name, fn in (("outputs", outputs), ("job summary", summary), ("annotations", annotate)):
            self._step(name, fn)

        try:
            self._publish_remote(plan, result, started_at, repo_url, link_ref)
        finally:
            self._step("job summary notes", self._summary_warnings)

    def _summary_warnings(self) -> None:
        """Warnings also go to the summary: on a fork the summary is the only report a reviewer sees."""
        path = self.environ.get("GITHUB_STEP_SUMMARY", "").strip()
        if not path or not self.warnings:
            return
        from aisec_ci.report.markdown import escape

        lines = "".join(f"- {escape(w, 500)}\n" for w in self.warnings)
        text = f"\n### Publishing\n\n{lines}"
        if len(text.encode("utf-8")) <= summary_budget(Path(path)):
            append_file(Path(path), text)

    def _publish_remote(
        self, plan: RunPlan, result: ScanResult, started_at: str, repo_url: str | None, link_ref: str | None
    ) -> None:
        is_pr = plan.event.pr_number is not None
        review = plan.review_comments and is_pr
        if not (plan.upload_sarif or (plan.comment and is_pr) or review):
            return
        what = "the SARIF upload, the PR comment and the review comments"
        if plan.event.is_fork:
            self.warn(
                f"pull request from a fork: the token is read-only, so {what} are "
                "skipped (see the job summary; the README shows the workflow_run pattern for full publishing)"
            )
            return
        if not plan.token:
            self.warn(f"no github-token: {what} are skipped")
            return
        if not plan.repository:
            self.warn(f"GITHUB_REPOSITORY is not set: {what} are skipped")
            return
        policy = RetryPolicy(max_total_wait=_float_env(self.environ, "AISEC_GITHUB_MAX_WAIT", 180.0))
        client = GitHubClient(plan.api_url, plan.token, policy=policy, log=self.log)
        footer: list[str] = []
        try:
            if plan.upload_sarif:
                self._step("SARIF upload", lambda: self._upload(plan, client, started_at))
            # Before the summary comment, which lists the findings over the review's limit.
            if review:
                self._step("review comments", lambda: footer.append(self._review(plan, client, result, repo_url)))
            if plan.comment and is_pr:
                text = "".join(footer)
                self._step("PR comment", lambda: self._comment(plan, client, result, repo_url, link_ref, text))
        finally:
            client.close()

    def _read_lines(self, path: str) -> list[str] | None:
        """A file of the checkout split as git numbers its lines (on newlines only)."""
        from aisec_ci.workspace.discovery import DEFAULT_MAX_FILE_SIZE
        from aisec_ci.workspace.files import path_bytes
        from aisec_ci.workspace.reading import read_bounded_text

        target = self.repo_root / os.fsdecode(path_bytes(path))
        if _relative_to(target, self.repo_root) is None:
            return None
        try:
            return read_bounded_text(target, DEFAULT_MAX_FILE_SIZE).split("\n")
        except (OSError, ValueError):
            return None

    def _git_diff(self, plan: RunPlan) -> dict[str, FileDiff] | None:
        """The pull request's diff from the checkout, when the API cannot list its files."""
        base, head = plan.event.base_sha, plan.event.pr_head_sha
        if base is None or head is None or not hasattr(self, "repo_root"):
            return None
        if not (ensure_commit(self.repo_root, base, self.log) and ensure_commit(self.repo_root, head, self.log)):
            return None
        return diff_from_git(self.repo_root, base, head)

    def _review(self, plan: RunPlan, client: GitHubClient, result: ScanResult, repo_url: str | None) -> str:
        """Post the review; returns what the summary comment says about it."""
        assert plan.event.pr_number is not None
        head = plan.event.pr_head_sha
        if head is None:
            self.warn("review comments skipped: the event payload names no pull request head commit")
            return ""
        outcome = publish_review(
            client,
            plan.repository,
            plan.event.pr_number,
            head_sha=head,
            category=plan.category,
            result=result,
            catalog=self.catalog,
            limit=plan.review_comments_limit,
            read_lines=self._read_lines,
            git_diff=lambda: self._git_diff(plan),
        )
        for note in outcome.notes:
            self.log(note)
        for w in outcome.warnings:
            self.warn(w)
        self.log(
            f"review comments: {len(outcome.posted)} posted, {outcome.already} already there, "
            f"{outcome.updated} updated ({outcome.fixed} marked fixed), {len(outcome.over_limit)} over the limit"
            + (f"; {outcome.review_url}" if outcome.review_url else "")
        )
        return review_footer(outcome, repo_url, head)

    def _upload(self, plan: RunPlan, client: GitHubClient, started_at: str) -> None:
        target = upload_target(plan.event, self.head_sha)
        if target is None:
            self.warn("SARIF upload skipped: no commit and branch ref to attach the results to")
            return
        ref, sha = target
        schedule = PollSchedule(
            first=_float_env(self.environ, "AISEC_SARIF_POLL_FIRST", 5.0),
            max_total=_float_env(self.environ, "AISEC_SARIF_POLL_MAX", 120.0),
        )
        outcome = upload_sarif(
            client,
            plan.repository,
            plan.sarif_file,
            ref=ref,
            commit_sha=sha,
            workspace=self.repo_root,
            started_at=started_at,
            schedule=schedule,
        )
        for w in outcome.warnings:
            self.warn(w)
        if outcome.uploaded:
            self.log(f"SARIF uploaded for {ref} at {sha[:12]} (id {outcome.sarif_id}, {outcome.status or 'pending'})")

    def _comment(
        self,
        plan: RunPlan,
        client: GitHubClient,
        result: ScanResult,
        repo_url: str | None,
        ref: str | None,
        footer: str = "",
    ) -> None:
        assert plan.event.pr_number is not None
        mark = marker(plan.category)

        def render(max_bytes: int) -> str:
            return action_markdown(
                result, self.catalog, max_bytes=max_bytes, repo_url=repo_url, ref=ref, header=mark, footer=footer
            )

        outcome = publish_comment(client, plan.repository, plan.event.pr_number, mark, render)
        for w in outcome.warnings:
            self.warn(w)
        if outcome.action:
            self.log(f"PR comment {outcome.action}: {outcome.url or outcome.comment_id}")


def main(environ: MutableMapping[str, str] | None = None, stdout: TextIO | None = None) -> int:
    env = os.environ if environ is None else environ
    run = ActionRun(env, stdout or sys.stdout, sys.stderr)
    if threading.current_thread() is threading.main_thread():
        install_handlers()
    try:
        return run.main()
    except (KeyboardInterrupt, Cancelled) as exc:
        cancel = exc if isinstance(exc, Cancelled) else Cancelled(signal.SIGINT)
        (stdout or sys.stdout).write(
            commands.command("error", f"aisec-ci: cancelled by {cancel.name}; nothing was published") + "\n"
        )
        return cancel.exit_code
    except Exception as exc:  # exit 2 with one line, never a bare traceback
        from aisec_ci.redaction import safe_error_text

        if env.get("AISEC_DEBUG"):
            traceback.print_exc()
        (stdout or sys.stdout).write(
            commands.command("error", f"aisec-ci: internal error: {safe_error_text(exc)}") + "\n"
        )
        return EXIT_ERROR
