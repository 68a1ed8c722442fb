"""The parts of an image scan whose rules come from specs: OCI whiteouts, member-name safety, and
tracing layers back to Dockerfile lines from BuildKit's and the classic builder's history."""

from __future__ import annotations

import pytest

from aisec_ci.image.dockerfile_map import DockerfileMap
from aisec_ci.image.layers import FileSystemState, Tracked, clean_member_name


def _state(*items: tuple[str, int]) -> FileSystemState:
    state = FileSystemState()
    for path, layer in items:
        state.put(Tracked(path, layer, payload=path))
    return state


def test_whiteout_deletes_the_path_and_everything_under_it_from_lower_layers() -> None:
    state = _state(("app/.env", 1), ("app/conf/a.yml", 1), ("app/conf/b.yml", 2), ("app/confx", 1))
    state.whiteout("app/conf", 3)
    assert sorted(state.current) == ["app/.env", "app/confx"]  # a sibling sharing the prefix stays
    assert sorted((t.path, t.removed_in, t.removed_how) for t in state.removed) == [
        ("app/conf/a.yml", 3, "deleted"),
        ("app/conf/b.yml", 3, "deleted"),
    ]


def test_opaque_directory_hides_lower_layers_but_keeps_its_own_layer() -> None:
    state = _state(("srv/old.txt", 1), ("srv/new.txt", 2), ("other/x", 1))
    state.opaque("srv", 2)
    assert sorted(state.current) == ["other/x", "srv/new.txt"]
    assert [t.path for t in state.removed] == ["srv/old.txt"]


def test_writing_a_path_again_replaces_the_lower_version() -> None:
    state = _state(("app/settings.py", 1))
    state.replace("app/settings.py", 2)
    assert not state.current
    assert state.removed[0].removed_how == "replaced"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("./app/x.py", "app/x.py"),
        ("app//x.py", "app/x.py"),
        ("./", ""),
        ("/etc/passwd", None),
        ("../../etc/passwd", None),
        ("app/../../x", None),
    ],
)
def test_member_names(name: str, expected: str | None) -> None:
    assert clean_member_name(name) == expected


DOCKERFILE = """\
FROM python:3.11-slim AS base
RUN apt-get update \\
    && apt-get install -y --no-install-recommends curl
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . /app
USER 10001
EXPOSE 8265 8080
"""


def _config(history: list[str]) -> dict[str, object]:
    return {"history": [{"created_by": h} for h in history]}


def test_buildkit_history_maps_layers_to_instructions_and_base_layers_to_from() -> None:
    history = [
        "/bin/sh -c #(nop) ADD file:5d2b in / ",  # the base image's own layer
        "RUN /bin/sh -c apt-get update     && apt-get install -y --no-install-recommends curl # buildkit",
        "WORKDIR /app",
        "COPY requirements.txt . # buildkit",
        "RUN /bin/sh -c pip install --no-cache-dir -r requirements.txt # buildkit",
        "COPY . /app # buildkit",
    ]
    m = DockerfileMap("Dockerfile", DOCKERFILE, _config(history), layer_count=6)
    lines = {i: (o.line, o.from_base) for i in range(1, 7) if (o := m.layer(i)) is not None}
    assert lines == {1: (1, True), 2: (2, False), 3: (1, True), 4: (5, False), 5: (6, False), 6: (7, False)}
    user, expose = m.user(), m.expose(8265)
    assert user is not None and user.line == 8
    assert expose is not None and expose.line == 9


def test_classic_builder_history_and_build_args() -> None:
    history = [
        "/bin/sh -c #(nop) ADD file:5d2b in / ",
        "/bin/sh -c apt-get update     && apt-get install -y --no-install-recommends curl",
        "/bin/sh -c #(nop) COPY file:91c2a in . ",
        "|1 TOKEN=abc /bin/sh -c pip install --no-cache-dir -r requirements.txt",
        "/bin/sh -c #(nop) COPY dir:77ae in /app ",
    ]
    m = DockerfileMap("Dockerfile", DOCKERFILE, _config(history), layer_count=5)
    assert [(o.line if (o := m.layer(i)) else None) for i in range(1, 6)] == [1, 2, 5, 6, 7]


def test_history_that_does_not_fit_the_layers_falls_back_to_from() -> None:
    m = DockerfileMap("Dockerfile", DOCKERFILE, _config(["COPY . /app # buildkit"]), layer_count=3)
    origin = m.layer(3)
    assert origin is not None and origin.from_base and origin.line == 1
    assert any("names 1 layers but the image has 3" in n for n in m.notes)
