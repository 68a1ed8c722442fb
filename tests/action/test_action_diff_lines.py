"""The right side of a diff: which head lines a review comment may point at."""

from __future__ import annotations

from pathlib import Path

from aisec_ci.action.diff_lines import diff_from_files, diff_from_git, parse_patch
from tests.conftest import git, make_repo


def test_patch_right_side() -> None:
    patch = "@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n d\n@@ -10,2 +11,2 @@\n x\n-y\n+Y\n\\ No newline at end of file"
    d = parse_patch(patch)
    assert dict(d.added) == {2: "B", 3: "C", 12: "Y"}
    assert d.context == frozenset({1, 4, 11})
    assert d.commentable(4) and not d.commentable(5)


def test_files_without_patch_or_removed_have_no_lines() -> None:
    entries = [
        {"filename": "a.py", "status": "added", "patch": "@@ -0,0 +1 @@\n+x"},
        {"filename": "big.json", "status": "modified"},
        {"filename": "gone.py", "status": "removed", "patch": "@@ -1 +0,0 @@\n-x"},
    ]
    assert set(diff_from_files(entries)) == {"a.py"}


def test_git_diff_matches_the_files_api_shape(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    base = make_repo(repo, {"keep.py": "a\nb\nc\n", "old name.py": "1\n2\n3\n4\n5\n6\n", "drop.py": "z\n"})
    git(repo, "mv", "old name.py", "new näme.py")
    git(repo, "rm", "-q", "drop.py")
    head = make_repo(repo, {"keep.py": "a\nB\nc\n", "new näme.py": "1\n2\n3\n4\n5\nsix\n", "tab\tname.py": "t\n"})
    diff = diff_from_git(repo, base, head)
    assert diff is not None
    assert set(diff) == {"keep.py", "new näme.py", "tab\tname.py"}
    assert dict(diff["keep.py"].added) == {2: "B"}
    # A rename shows its changes only, as on GitHub, not the whole file as added.
    assert dict(diff["new näme.py"].added) == {6: "six"}
    assert dict(diff["tab\tname.py"].added) == {1: "t"}
    assert diff_from_git(repo, base, "0" * 40) is None
