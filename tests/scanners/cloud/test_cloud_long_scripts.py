"""Long scripts (installers with their manifests inline) are read only around the server
words: the commands found, and their lines, must be those of a full pass."""

from __future__ import annotations

import random
from pathlib import Path

from aisec_ci.scanners.common import servecommands
from aisec_ci.workspace.kinds import FileKind
from tests.scanners.cloud.cloud_support import scan


def _full_pass(text: str) -> list[tuple[int, str]]:
    return [(n, c) for n, c in servecommands.logical_lines(text.splitlines()) if servecommands.may_start_server(c)]


def test_server_commands_match_a_full_pass() -> None:
    rng = random.Random(5)
    atoms = ["ray start", "mlflow server --host 0.0.0.0", "array", "x", " \\", "\\", "#", "# c \\", "\n", "\n", "\n"]
    atoms += ["  ", "jupyter lab", "tensorboard", "start-notebook.sh", "\r\n", "gray", "foo=1", "--dashboard-host"]
    for _ in range(3000):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 30)))
        assert list(servecommands.server_commands(text, text.splitlines())) == _full_pass(text), repr(text)


def test_server_deep_in_a_long_script_is_reported_at_its_line(tmp_path: Path) -> None:
    filler = "cat <<EOF | kubectl apply -f -\n" + "  items: array of strings  # gray \\\n    more\n" * 3000 + "EOF\n"
    script = (
        "#!/bin/bash\n"
        + filler
        + "# mlflow server --host 0.0.0.0 is only a comment\n"
        + "mlflow server \\\n  --backend-store-uri sqlite:///m.db \\\n  --host 0.0.0.0\n"
        + filler
        + "ray start --head \\\n  --dashboard-host=0.0.0.0\n"
    )
    path = tmp_path / "install.sh"
    path.write_text(script)
    lines = script.split("\n")
    found = {(f.rule_id, f.start_line) for f in scan(path, FileKind.TEXT)}
    assert found == {
        ("exposure/mlflow-without-auth", lines.index("mlflow server \\") + 1),
        ("exposure/ray-dashboard-public", lines.index("ray start --head \\") + 1),
    }
