"""Content identification, containers and resource bounds, over the generated corpus."""

from __future__ import annotations

import gzip
import os
import tracemalloc
from pathlib import Path

import pytest

from aisec_ci.scanners.base import SkipFile
from aisec_ci.scanners.models.stream import (
    BlobStream,
    BytesBlob,
    DecompressStream,
    LimitExceeded,
    read_all,
)
from aisec_ci.severity import Severity
from aisec_ci.workspace.kinds import FileKind
from tests.call_budget import bytes_read, can_count_bytes_read
from tests.scanners.models import model_corpus as mc
from tests.scanners.models.model_scan import rule_ids, scan_bytes, scan_path

EXEC = "models/pickle-code-execution"
MALFORMED = "models/malformed-model"
UNSCANNABLE = "models/unscannable-container"
FORMAT = "models/pickle-format"

MALICIOUS = mc.malicious()
BENIGN = mc.benign()


@pytest.mark.parametrize("sample", MALICIOUS, ids=[s.name for s in MALICIOUS])
def test_every_malicious_sample_is_caught(tmp_path: Path, sample: mc.Sample) -> None:
    findings = scan_bytes(tmp_path, sample.name, sample.data)
    assert any(f.severity >= Severity.HIGH for f in findings), [f.message for f in findings]
    assert set(sample.expect_rules) <= rule_ids(findings)


@pytest.mark.parametrize("sample", BENIGN, ids=[s.name for s in BENIGN])
def test_benign_look_alikes_raise_nothing_above_info(tmp_path: Path, sample: mc.Sample) -> None:
    findings = scan_bytes(tmp_path, sample.name, sample.data)
    assert [f.message for f in findings if f.severity > Severity.INFO] == []
    assert {f.rule_id for f in findings} <= {FORMAT}


def test_corpus_covers_every_bypass_family_in_the_notes() -> None:
    families = {s.family for s in MALICIOUS}
    assert families >= {
        "direct",
        "opcode-variant",
        "memo",
        "indirection",
        "dunder",
        "copyreg",
        "unresolvable",
        "submodule",
        "denylist-gap",
        "build",
        "broken",
        "stacked",
        "popped",
        "extension",
        "pytorch-zip",
        "pytorch-legacy",
        "pytorch-tar",
        "zip-differential",
        "polyglot",
        "nested",
        "compressed",
        "joblib",
        "numpy",
        "unscannable",
    }


def test_pytorch_finding_carries_member_format_imports_and_a_stable_key(tmp_path: Path) -> None:
    findings = scan_bytes(tmp_path, "model.pt", mc.torch_zip(mc.p_os_system(2)))
    (hit,) = [f for f in findings if f.rule_id == EXEC]
    assert hit.start_line == 1 and hit.path == "model.pt"
    assert hit.properties["member"] == "archive/data.pkl"
    assert hit.properties["format"] == "pytorch-zip"
    assert hit.properties["imports"] == ["os.system"]
    assert hit.properties["call"].startswith("os.system('curl")
    assert hit.key == f"{EXEC}|archive/data.pkl|import:os.system"
    # Same payload, shifted by other members and opcodes: same key.
    shifted = mc.torch_zip(
        mc.proto(2) + mc.NONE + mc.POP + mc.p_os_system(2)[2:],
        extra=[mc.Member("archive/extra.txt", b"x" * 1000)],
    )
    again = [f for f in scan_bytes(tmp_path, "other/model.pt", shifted) if f.rule_id == EXEC]
    assert [f.key for f in again] == [hit.key]


def test_format_is_named_for_each_layout(tmp_path: Path) -> None:
    def fmt(name: str, data: bytes) -> str:
        findings = scan_bytes(tmp_path, name, data)
        return str(next(f.properties["format"] for f in findings if f.rule_id in (EXEC, FORMAT)))

    assert fmt("a.pt", mc.torch_legacy(mc.torch_state_dict_pickle())) == "pytorch-legacy"
    assert fmt("b.joblib", mc.joblib_file(1)) == "joblib"
    assert fmt("c.pkl.gz", gzip.compress(mc.p_os_system(2))) == "gzip:pickle"
    assert fmt("d.npy", mc.npy("|O", (1,), mc.p_os_system(3))) == "npy-object"
    assert fmt("e.tar", mc.tar_bytes([("pickle", mc.p_os_system(2)), ("storages", b"\x80\x02K\x00.")])) == "pytorch-tar"


def test_torch_storages_are_never_opened(tmp_path: Path) -> None:
    # torch.load never unpickles archive/data/*; reading them would cost time and memory.
    data = mc.build_zip(
        [
            mc.Member("archive/data.pkl", mc.torch_state_dict_pickle(1)),
            mc.Member("archive/data/0", mc.p_os_system(2)),
            mc.Member("archive/version", b"3\n"),
        ]
    )
    assert rule_ids(scan_bytes(tmp_path, "m.pt", data)) == {FORMAT}


def _sparse_supported(path: Path) -> bool:
    st = path.stat()
    return st.st_blocks * 512 < st.st_size // 100


def test_five_gigabyte_checkpoint_reads_only_its_pickle(tmp_path: Path) -> None:
    path = tmp_path / "huge.pt"
    mc.write_zip_file(
        path,
        [
            mc.Member("archive/data.pkl", mc.p_os_system(2)),
            mc.Member("archive/data/0", sparse_size=5 * 1024**3),
            mc.Member("archive/version", b"3\n"),
        ],
    )
    if not _sparse_supported(path):
        pytest.skip("filesystem does not keep sparse files sparse")
    if not can_count_bytes_read():
        pytest.skip("no /proc/self/io to count the bytes read")
    tracemalloc.start()
    findings, read = bytes_read(lambda: scan_path(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert any(f.rule_id == EXEC and f.properties["member"] == "archive/data.pkl" for f in findings)
    # Bytes read counted, not time: the 5 GB tensor member is passed over, never read.
    assert read < 1024**2, read
    assert peak < 32 * 1024**2


def test_five_gigabyte_raw_pickle_payload_is_skipped_by_seeking(tmp_path: Path) -> None:
    path = tmp_path / "huge.pkl"
    size = 5 * 1024**3
    with open(path, "wb") as fh:
        fh.write(mc.proto(4) + b"\x8e" + size.to_bytes(8, "little"))
        fh.seek(size, os.SEEK_CUR)
        fh.write(b"0" + mc.call(mc.sglob("os", "system"), mc.su("id")) + mc.STOP)
    if not _sparse_supported(path):
        pytest.skip("filesystem does not keep sparse files sparse")
    if not can_count_bytes_read():
        pytest.skip("no /proc/self/io to count the bytes read")
    findings, read = bytes_read(lambda: scan_path(path))
    assert EXEC in rule_ids(findings)
    # Bytes read counted, not time: the 5 GB payload is skipped by seeking, never read.
    assert read < 1024**2, read


def test_empty_and_truncated_files_are_findings_not_crashes(tmp_path: Path) -> None:
    empty = scan_bytes(tmp_path, "empty.pt", b"")
    assert [f.rule_id for f in empty] == [MALFORMED]
    assert "empty" in empty[0].message
    full = mc.torch_zip(mc.torch_state_dict_pickle())
    for cut in (10, len(full) // 3, len(full) // 2, len(full) - 30):
        findings = scan_bytes(tmp_path, f"cut{cut}.pt", full[:cut])
        assert all(f.path == f"cut{cut}.pt" for f in findings)
    truncated = scan_bytes(tmp_path, "t.pkl", pickle_prefix := mc.p_os_system(2)[:20])
    assert MALFORMED in rule_ids(truncated), pickle_prefix


def test_invalid_utf8_member_names_are_reported(tmp_path: Path) -> None:
    data = mc.build_zip([mc.Member("ok.txt", b"x")])
    bad = bytearray(data.replace(b"ok.txt", b"o\xffk.tx"))
    # set the UTF-8 flag (bit 11) in the central directory entry
    cd = bad.index(b"PK\x01\x02")
    bad[cd + 9] |= 0x08
    findings = scan_bytes(tmp_path, "names.zip", bytes(bad))
    assert any(f.rule_id == MALFORMED and "not valid UTF-8" in f.message for f in findings)


def test_nesting_deeper_than_the_limit_is_unscannable(tmp_path: Path) -> None:
    data = mc.build_zip([mc.Member("data.pkl", mc.p_os_system(2))])
    for level in range(8):
        data = mc.build_zip([mc.Member(f"level{level}.zip", data, method=8 if level % 2 else 0)])
    findings = scan_bytes(tmp_path, "deep.pt", data)
    assert any(f.rule_id == UNSCANNABLE and "deeper than 4" in f.message for f in findings)
    shallow = scan_bytes(tmp_path, "deep2.pt", data, options={"max_archive_depth": 12})
    assert EXEC in rule_ids(shallow)
    # Outside a model path the same archive is a skipped file, with the reason.
    with pytest.raises(SkipFile, match="deeper than 4"):
        scan_bytes(tmp_path, "deep.zip", data)


def test_nested_archive_bomb_is_not_inflated_past_the_cap(tmp_path: Path) -> None:
    inner = mc.build_zip([mc.Member("zeros.bin", b"\x00" * (3 << 20))])
    data = mc.build_zip([mc.Member("inner.zip", inner, method=8)])
    findings = scan_bytes(tmp_path, "bomb.npz", data, options={"max_inflate_mb": 1})
    assert any(f.rule_id == UNSCANNABLE and "larger than" in f.message for f in findings)
    with pytest.raises(SkipFile, match="larger than"):
        scan_bytes(tmp_path, "bomb.zip", data, options={"max_inflate_mb": 1})


def test_unscannable_archives_outside_model_paths_are_skipped(tmp_path: Path) -> None:
    seven = b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 40
    with pytest.raises(SkipFile, match="7z archive"):
        scan_bytes(tmp_path, "datasets.7z", seven)
    aes = mc.build_zip([mc.Member("notes.txt", b"\x00" * 32, method=99)])
    with pytest.raises(SkipFile, match="AES"):
        scan_bytes(tmp_path, "backup.zip", aes)
    # ... but a model member inside that archive makes it a finding again.
    aes_model = mc.build_zip([mc.Member("model/data.pkl", b"\x00" * 32, method=99)])
    assert rule_ids(scan_bytes(tmp_path, "backup2.zip", aes_model)) == {UNSCANNABLE}


def test_decompression_ratio_and_size_limits() -> None:
    zeros = gzip.compress(b"\x00" * (4 << 20))
    stream = DecompressStream(BlobStream(BytesBlob(zeros)), "gzip", max_output=1 << 30, max_ratio=10)
    with pytest.raises(LimitExceeded, match="ratio"):
        read_all(stream, 1 << 30)
    stream = DecompressStream(BlobStream(BytesBlob(zeros)), "gzip", max_output=1 << 20)
    with pytest.raises(LimitExceeded, match="decompressed size"):
        read_all(stream, 1 << 30)


def test_one_broken_member_does_not_hide_the_next(tmp_path: Path) -> None:
    data = mc.build_zip(
        [
            mc.Member("a.pkl", b"", method=12),  # bzip2 member with no data: corrupt
            mc.Member("b.pkl", b"\x80\x02", crc=7),
            mc.Member("c.pkl", mc.p_os_system(2), method=8),
        ]
    )
    findings = scan_bytes(tmp_path, "mixed.zip", data)
    members = {f.properties.get("member") for f in findings if f.rule_id == EXEC}
    assert members == {"c.pkl"}
    assert {f.properties.get("member") for f in findings if f.rule_id == MALFORMED} >= {"a.pkl", "b.pkl"}


def test_mutated_corpus_never_raises(tmp_path: Path) -> None:
    """Random corruption of every sample: findings or silence, never an exception."""
    import random

    rng = random.Random(20261125)
    samples = MALICIOUS + BENIGN
    path = tmp_path / "mutant"
    for _ in range(600):
        sample = rng.choice(samples)
        data = bytearray(sample.data)
        for _ in range(rng.randint(1, 6)):
            if not data:
                break
            pos = rng.randrange(len(data))
            roll = rng.random()
            if roll < 0.5:
                data[pos] = rng.randrange(256)
            elif roll < 0.75:
                del data[pos : pos + rng.randint(1, 64)]
            elif roll < 0.9:
                data[pos:pos] = rng.randbytes(rng.randint(1, 16))
            else:
                del data[pos:]
        path.write_bytes(bytes(data))
        try:
            findings = scan_path(path, rel=sample.name)
        except SkipFile as skip:
            assert skip.reason  # a skipped file always says why
            continue
        for finding in findings:
            assert finding.path == sample.name and finding.start_line == 1


def test_arbitrary_binaries_are_silent(tmp_path: Path) -> None:
    """The scanner sniffs every binary; random data, even with a stray zip signature, is no finding."""
    import random

    rng = random.Random(7)
    for i in range(200):
        data = bytearray(rng.randbytes(rng.randint(1, 5000)))
        if i % 3 == 0:
            data[-min(len(data), 40) :] = (b"PK\x05\x06" + rng.randbytes(36))[: min(len(data), 40)]
        findings = scan_path(_write(tmp_path / f"blob{i}.img", bytes(data)), kind=FileKind.BINARY)
        assert findings == [], (i, [f.message for f in findings])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
