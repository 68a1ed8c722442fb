"""The markdown the action posts (PR comment) and writes (job summary).

The core report lists the findings that count. In new-only mode the findings
already present in the base commit are listed after it, apart and marked as
not counted, so a reviewer sees both without mistaking one for the other.
"""

from __future__ import annotations

from urllib.parse import quote

from aisec_ci.findings import Finding
from aisec_ci.report.markdown import escape, escape_message, render_markdown
from aisec_ci.result import ScanResult
from aisec_ci.rules import RuleCatalog
from aisec_ci.workspace.files import path_bytes

EXISTING_MESSAGE_CHARS = 200


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def existing_findings(result: ScanResult) -> list[Finding]:
    """Findings hidden because the base commit already had them, most severe first."""
    found = [s.finding for s in result.suppressed if s.kind == "new-only"]
    return sorted(found, key=lambda f: (-int(f.severity), f.sort_key()))


def _existing_section(findings: list[Finding], base: str, budget: int, repo_url: str | None, ref: str | None) -> str:
    if not findings:
        return ""
    head = (
        f"\n<details>\n<summary>Existing findings ({len(findings)}): already in {escape(base[:12])}, "
        "not counted by the gate</summary>\n\n| Severity | Rule | Location | Message |\n|:--|:--|:--|:--|\n"
    )
    tail = "\n</details>\n"
    more_reserve = _size(f"\n… {len(findings)} more existing findings in the SARIF/JSON report.\n")
    room = budget - _size(head) - _size(tail) - more_reserve
    if room <= 0:
        return ""
    rows: list[str] = []
    for f in findings:
        location = escape(f"{f.path}:{f.start_line}")
        if repo_url and ref:
            path = quote(path_bytes(f.path), safe="/")
            url = f"{repo_url}/blob/{quote(ref, safe='/')}/{path}#L{max(1, f.start_line)}"
            location = f"[{location}]({url})"
        row = (
            f"| {f.severity.label} | {escape(f.rule_id)} | {location} | "
            f"{escape_message(f.message, EXISTING_MESSAGE_CHARS)} |\n"
        )
        if _size(row) > room:
            break
        rows.append(row)
        room -= _size(row)
    if not rows:
        return ""
    more = len(findings) - len(rows)
    extra = f"\n… {more} more existing findings in the SARIF/JSON report.\n" if more else ""
    return head + "".join(rows) + extra + tail


def action_markdown(
    result: ScanResult,
    catalog: RuleCatalog,
    *,
    max_bytes: int,
    repo_url: str | None = None,
    ref: str | None = None,
    header: str = "",
    footer: str = "",
) -> str:
    """Report + existing findings (new-only mode) + footer, never over `max_bytes` UTF-8 bytes.

    `header` (the sticky-comment marker) is always kept whole: losing it would
    make the next run post a second comment.
    """
    fixed = _size(header) + _size(footer)
    existing = existing_findings(result)
    # The counted findings get most of the room; existing ones take what is left, at most a quarter.
    reserve = min(max_bytes // 4, 16_000) if existing else 0
    main = render_markdown(result, catalog, max_chars=max(200, max_bytes - fixed - reserve), repo_url=repo_url, ref=ref)
    left = max_bytes - fixed - _size(main)
    section = _existing_section(existing, result.new_only_base or "base", left, repo_url, ref) if existing else ""
    body = header + main + section + footer
    if _size(body) > max_bytes:
        keep = max_bytes - _size(header)
        body = header + (main + section + footer).encode("utf-8")[: max(0, keep)].decode("utf-8", "ignore")
    return body
