"""go.mod and go.sum: the Go modules a build uses, with the line that selects each version.

Since Go 1.17 a module's go.mod lists every module that provides a package to
its build, indirect ones marked `// indirect`, each at the version minimal
version selection picked; that list is what gets audited. A `replace`
directive swaps a module for another module version (audited instead, at the
replace line, which is what a fix edits) or for a local directory (the
project's own code, or a path outside the repository that the unverifiable
source rule reports). `exclude` and `retract` only take versions out of
consideration and select nothing.

go.sum is read for modules an older go.mod (a `go` directive below 1.17, or
none) leaves out: those go.mod files name only direct dependencies, and the
module zips go.sum holds checksums for (lines without `/go.mod`) are the
versions the build downloaded; for each module missing from go.mod the
highest such version is audited, at its go.sum line. With a go.mod of 1.17 or
later go.sum adds nothing: its extra checksums serve `go mod verify` and the
tests of dependencies, not the build.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from aisec_ci.scanners.deps.model import Dependency, ManifestError, Parsed, PinKind, Problem
from aisec_ci.scanners.deps.sources.repofiles import IncludeError, RepoFiles
from aisec_ci.scanners.deps.versions import GO, parse_semver

ORIGIN = "go.mod"
_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|\S+')
_BLOCK_VERBS = frozenset({"require", "replace", "exclude", "retract", "tool", "ignore", "godebug"})
_GO_PRUNING = (1, 17)  # the first `go` version whose go.mod lists every module of the build


@dataclass
class _Require:
    path: str
    version: str
    line: int
    indirect: bool


@dataclass
class _Replace:
    old: str
    old_version: str | None
    new: str
    new_version: str | None
    line: int


@dataclass
class GoMod:
    module: str = ""
    go: str = ""
    requires: list[_Require] = field(default_factory=list)
    replaces: list[_Replace] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def prunes(self) -> bool:
        """Whether this go.mod lists the whole build (Go 1.17 module graph pruning)."""
        m = re.match(r"^(\d+)\.(\d+)", self.go)
        return m is not None and (int(m.group(1)), int(m.group(2))) >= _GO_PRUNING

    def replacement(self, req: _Require) -> _Replace | None:
        """The replace directive that applies to this requirement: a versioned one beats a bare one."""
        exact = [r for r in self.replaces if r.old == req.path and r.old_version == req.version]
        bare = [r for r in self.replaces if r.old == req.path and r.old_version is None]
        found = exact or bare
        return found[-1] if found else None


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in '"`':
        return token[1:-1].replace('\\"', '"') if token[0] == '"' else token[1:-1]
    return token


def _split(line: str) -> tuple[list[str], str]:
    """The tokens of a go.mod line and its comment (text after `//` outside quotes)."""
    tokens: list[str] = []
    comment = ""
    for m in _TOKEN_RE.finditer(line):
        tok = m.group(0)
        if tok.startswith("//"):
            comment = line[m.start() + 2 :].strip()
            break
        if "//" in tok and tok[0] not in '"`':
            head, _, _rest = tok.partition("//")
            if head:
                tokens.append(head)
            comment = line[m.start() + len(head) + 2 :].strip()
            break
        tokens.append(tok)
    return tokens, comment


def read_go_mod(path: str, text: str) -> GoMod:
    mod = GoMod(lines=text.splitlines())
    block: str | None = None
    for number, raw in enumerate(mod.lines, start=1):
        tokens, comment = _split(raw)
        if not tokens:
            continue
        if block is not None:
            if tokens == [")"]:
                block = None
                continue
            _directive(mod, path, block, tokens, comment, number)
            continue
        verb = tokens[0]
        if verb in _BLOCK_VERBS and tokens[1:] == ["("]:
            block = verb
        elif verb == "module" and len(tokens) >= 2:
            mod.module = _unquote(tokens[1])
        elif verb == "go" and len(tokens) >= 2:
            mod.go = tokens[1]
        elif verb in _BLOCK_VERBS:
            _directive(mod, path, verb, tokens[1:], comment, number)
    if block is not None:
        raise ManifestError(f"{path}: the `{block} (` block is never closed")
    return mod


def _directive(mod: GoMod, path: str, verb: str, args: list[str], comment: str, line: int) -> None:
    if verb == "require":
        if len(args) != 2:
            mod.problems.append(Problem(path, line, "a require line that is not `module version`", _at(mod, line)))
            return
        indirect = comment == "indirect" or comment.startswith("indirect;")
        mod.requires.append(_Require(_unquote(args[0]), args[1], line, indirect))
    elif verb == "replace":
        if "=>" not in args:
            mod.problems.append(Problem(path, line, "a replace line without `=>`", _at(mod, line)))
            return
        at = args.index("=>")
        left, right = args[:at], args[at + 1 :]
        if len(left) not in (1, 2) or len(right) not in (1, 2):
            mod.problems.append(Problem(path, line, "a replace line that cannot be read", _at(mod, line)))
            return
        mod.replaces.append(
            _Replace(
                _unquote(left[0]),
                left[1] if len(left) == 2 else None,
                _unquote(right[0]),
                right[1] if len(right) == 2 else None,
                line,
            )
        )
    # exclude, retract, tool, ignore, godebug: they select no module version.


def _at(mod: GoMod, line: int) -> str:
    return mod.lines[line - 1].strip() if 0 < line <= len(mod.lines) else ""


def _is_local(target: str) -> bool:
    # The go command's rule: a replacement path that starts with ./ or ../ or is absolute is a directory.
    return (
        target.startswith(("./", "../", "/"))
        or target in (".", "..")
        or re.match(r"^[A-Za-z]:[\\/]", target) is not None
    )


def parse_go_mod(path: str, text: str) -> Parsed:
    mod = read_go_mod(path, text)
    out = Parsed(problems=list(mod.problems))
    for req in mod.requires:
        group = "indirect" if req.indirect else ""
        rep = mod.replacement(req)
        if rep is None:
            out.dependencies.append(_pinned(path, req.path, req.version, req.line, _at(mod, req.line), group))
        elif rep.new_version is None or _is_local(rep.new):
            out.dependencies.append(
                Dependency(
                    name=req.path,
                    path=path,
                    line=rep.line,
                    kind=PinKind.LOCAL,
                    specifier=rep.new,
                    origin=ORIGIN,
                    snippet=_at(mod, rep.line),
                    group=group,
                    ecosystem=GO,
                    extra={"required_at": str(req.line)},
                )
            )
        else:
            extra = {"replaces": f"{req.path} {req.version}", "required_at": str(req.line)}
            out.dependencies.append(
                _pinned(path, rep.new, rep.new_version, rep.line, _at(mod, rep.line), group, extra=extra)
            )
    return out


def _pinned(
    path: str,
    module: str,
    version: str,
    line: int,
    snippet: str,
    group: str,
    origin: str = ORIGIN,
    extra: dict[str, str] | None = None,
) -> Dependency:
    return Dependency(
        extra=extra or {},
        name=module,
        path=path,
        line=line,
        kind=PinKind.PINNED,
        version=version,
        specifier=version,
        origin=origin,
        snippet=snippet,
        group=group,
        ecosystem=GO,
    )


def parse_go_sum(path: str, text: str, files: RepoFiles | None) -> Parsed:
    out = Parsed()
    mod: GoMod | None = None
    beside = posixpath.join(posixpath.dirname(path), "go.mod")
    if files is not None:
        try:
            mod = read_go_mod(beside, files.read(beside))
        except (IncludeError, ManifestError):
            mod = None  # no (readable) go.mod: every module go.sum names counts
    if mod is not None and mod.prunes():
        return out
    known: set[str] = set()
    if mod is not None:
        known.update(r.path for r in mod.requires)
        known.update(r.new for r in mod.replaces)
        known.update(r.old for r in mod.replaces)
        known.add(mod.module)
    best: dict[str, tuple[object, str, int, str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 3 or not fields[2].startswith("h1:"):
            out.problems.append(
                Problem(path, number, "a go.sum line that is not `module version h1:hash`", raw.strip())
            )
            continue
        module, version = fields[0], fields[1]
        if version.endswith("/go.mod") or module in known:
            continue  # only the go.mod was fetched, or go.mod already says which version
        parsed = parse_semver(version)
        if parsed is None:
            out.problems.append(
                Problem(path, number, f"{module} has a version that is not SemVer: {version}", raw.strip())
            )
            continue
        held = best.get(module)
        if held is None or parsed > held[0]:
            best[module] = (parsed, version, number, raw.strip())
    for module, (_parsed, version, number, snippet) in sorted(best.items()):
        out.dependencies.append(_pinned(path, module, version, number, snippet, "go.sum", origin="go.sum"))
    return out
