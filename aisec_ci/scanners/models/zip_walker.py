"""A zip reader that sees what loaders see, not what `zipfile` accepts.

PyTorch's reader ignores CRCs, flag bits and local-header names, and takes
the first of two members with the same name; `zipfile` raises on the first
two and returns the last duplicate. Scanners built on `zipfile` could
therefore be blinded by a file PyTorch loads happily. This walker reads the
central directory and every local header itself, keeps every entry
(duplicates and entries only reachable through local headers included) and
reports the inconsistencies instead of failing on them.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from aisec_ci.scanners.models.stream import Blob, BlobStream, ByteStream, DecompressStream

EOCD_SIG = b"PK\x05\x06"
EOCD64_LOCATOR_SIG = b"PK\x06\x07"
EOCD64_SIG = b"PK\x06\x06"
CENTRAL_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"
MAX_COMMENT = 0xFFFF
MAX_CENTRAL_DIRECTORY = 64 << 20

METHODS = {0: "stored", 8: "deflate", 12: "bzip2", 95: "xz"}
METHOD_NAMES = {9: "deflate64", 14: "lzma", 93: "zstd", 98: "ppmd", 99: "AES encryption", 6: "implode"}


class ZipError(Exception):
    pass


@dataclass
class ZipEntry:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    uncompressed_size: int
    header_offset: int
    data_offset: int | None = None
    in_central_directory: bool = True
    anomalies: list[str] = field(default_factory=list)

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/") and self.uncompressed_size == 0

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & 1)

    @property
    def supported(self) -> bool:
        return self.method in METHODS

    @property
    def method_name(self) -> str:
        return METHODS.get(self.method) or METHOD_NAMES.get(self.method) or f"method {self.method}"


@dataclass
class ZipListing:
    entries: list[ZipEntry]
    anomalies: list[str] = field(default_factory=list)
    shift: int = 0
    """Bytes of foreign data before the archive (polyglots, self-extractors)."""
    shift_anomaly: str = ""


def decode_name(raw: bytes, flags: int) -> tuple[str, bool]:
    """The member name, and whether it decoded cleanly."""
    if flags & 0x800:
        try:
            return raw.decode("utf-8"), True
        except UnicodeDecodeError:
            return raw.decode("utf-8", "backslashreplace"), False
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("cp437"), True


def find_eocd(blob: Blob) -> int | None:
    """Offset of the end-of-central-directory record, searched from the end."""
    size = blob.size()
    tail_len = min(size, 22 + MAX_COMMENT)
    tail = blob.read_at(size - tail_len, tail_len)
    pos = tail.rfind(EOCD_SIG)
    fallback: int | None = None
    while pos != -1:
        if pos + 22 <= len(tail):
            (comment_len,) = struct.unpack_from("<H", tail, pos + 20)
            if pos + 22 + comment_len == len(tail):
                return size - tail_len + pos
            if fallback is None:
                fallback = size - tail_len + pos
        pos = tail.rfind(EOCD_SIG, 0, pos)
    return fallback


def walk_zip(blob: Blob, max_entries: int = 100_000) -> ZipListing:
    eocd = find_eocd(blob)
    listing = ZipListing(entries=[])
    central: list[ZipEntry] = []
    if eocd is not None:
        central = _read_central(blob, eocd, listing, max_entries)
    elif blob.read_at(0, 4) != LOCAL_SIG:
        raise ZipError("no end-of-central-directory record and no local header")
    else:
        listing.anomalies.append("no end-of-central-directory record (truncated archive?)")
    for entry in central:
        _attach_local(blob, entry, listing.shift)
    listing.entries = central
    known = {e.header_offset for e in central}
    for entry in _walk_local(blob, max_entries):
        if entry.header_offset in known:
            continue
        entry.in_central_directory = False
        if eocd is not None:
            entry.anomalies.append("present in a local header but not in the central directory")
        listing.entries.append(entry)
    if not listing.entries and eocd is None:
        raise ZipError("no readable zip entries")
    seen: dict[str, int] = {}
    for entry in listing.entries:
        seen[entry.name] = seen.get(entry.name, 0) + 1
    for name, count in sorted(seen.items()):
        if count > 1:
            listing.anomalies.append(
                f"member name {name!r} appears {count} times (PyTorch loads the first, zipfile the last)"
            )
    return listing


def _read_central(blob: Blob, eocd: int, listing: ZipListing, max_entries: int) -> list[ZipEntry]:
    rec = blob.read_at(eocd, 22)
    if len(rec) < 22:
        raise ZipError("truncated end-of-central-directory record")
    _, _, _, _, total, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", rec)
    cd_end = eocd
    locator = blob.read_at(eocd - 20, 20) if eocd >= 20 else b""
    if locator[:4] == EOCD64_LOCATOR_SIG:
        (eocd64_offset,) = struct.unpack_from("<Q", locator, 8)
        rec64 = blob.read_at(eocd64_offset, 56)
        if rec64[:4] != EOCD64_SIG:
            # The locator's offset ignores prepended data; the record sits just before it.
            eocd64_offset = eocd - 20 - 56
            rec64 = blob.read_at(eocd64_offset, 56)
        if rec64[:4] == EOCD64_SIG and len(rec64) == 56:
            total, cd_size, cd_offset = struct.unpack_from("<QQQ", rec64, 32)
            cd_end = eocd64_offset
        else:
            listing.anomalies.append("zip64 locator without a valid zip64 end record")
    shift = cd_end - cd_size - cd_offset
    if shift < 0 or blob.read_at(cd_offset + shift, 4) != CENTRAL_SIG:
        if blob.read_at(cd_offset, 4) == CENTRAL_SIG:
            shift = 0
        elif total == 0:
            return []
        else:
            raise ZipError("central directory offset does not point at a central directory")
    if shift:
        listing.shift_anomaly = f"{shift} bytes of other data precede the archive (a polyglot file?)"
        listing.anomalies.append(listing.shift_anomaly)
    listing.shift = shift
    if cd_size > MAX_CENTRAL_DIRECTORY:
        raise ZipError(f"central directory of {cd_size} bytes exceeds the limit")
    data = blob.read_at(cd_offset + shift, cd_size)
    entries: list[ZipEntry] = []
    pos = 0
    while pos + 46 <= len(data) and data[pos : pos + 4] == CENTRAL_SIG:
        if len(entries) >= max_entries:
            listing.anomalies.append(f"more than {max_entries} members; the rest were not scanned")
            break
        (flags, method, crc, csize, usize, nlen, xlen, clen) = struct.unpack_from("<2H4x3L3H", data, pos + 8)
        (offset,) = struct.unpack_from("<L", data, pos + 42)
        raw_name = data[pos + 46 : pos + 46 + nlen]
        extra = data[pos + 46 + nlen : pos + 46 + nlen + xlen]
        usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
        name, clean = decode_name(raw_name, flags)
        entry = ZipEntry(name, method, flags, crc, csize, usize, offset + shift)
        if not clean:
            entry.anomalies.append("member name is not valid UTF-8")
        entries.append(entry)
        pos += 46 + nlen + xlen + clen
    if len(entries) < min(total, max_entries):
        listing.anomalies.append(f"central directory lists {total} members but only {len(entries)} are readable")
    return entries


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x0001:
            i = 0
            values = []
            while i + 8 <= len(body):
                values.append(struct.unpack_from("<Q", body, i)[0])
                i += 8
            it = iter(values)
            if usize == 0xFFFFFFFF:
                usize = next(it, usize)
            if csize == 0xFFFFFFFF:
                csize = next(it, csize)
            if offset == 0xFFFFFFFF:
                offset = next(it, offset)
            break
        pos += 4 + size
    return usize, csize, offset


def _attach_local(blob: Blob, entry: ZipEntry, shift: int) -> None:
    head = blob.read_at(entry.header_offset, 30)
    if len(head) < 30 or head[:4] != LOCAL_SIG:
        entry.anomalies.append("local header missing at the offset the central directory gives")
        return
    flags, method, _, _, _, nlen, xlen = struct.unpack_from("<HH4xLLLHH", head, 6)
    raw_name = blob.read_at(entry.header_offset + 30, nlen)
    local_name, _ = decode_name(raw_name, flags)
    if local_name != entry.name:
        entry.anomalies.append(f"local header names it {local_name[:80]!r} (PyTorch ignores this mismatch)")
    if method != entry.method:
        entry.anomalies.append(f"local header says compression method {method}, central directory {entry.method}")
    if entry.encrypted:
        entry.anomalies.append("encryption flag set (PyTorch ignores flag bits)")
    entry.data_offset = entry.header_offset + 30 + nlen + xlen


def _walk_local(blob: Blob, max_entries: int) -> list[ZipEntry]:
    """Entries reachable by walking local headers from the start, until a gap."""
    out: list[ZipEntry] = []
    pos = 0
    size = blob.size()
    while len(out) < max_entries and pos + 30 <= size:
        head = blob.read_at(pos, 30)
        if head[:4] != LOCAL_SIG:
            break
        flags, method, crc, csize, usize, nlen, xlen = struct.unpack_from("<HH4xLLLHH", head, 6)
        raw_name = blob.read_at(pos + 30, nlen)
        extra = blob.read_at(pos + 30 + nlen, xlen)
        usize, csize, _ = _zip64_extra(extra, usize, csize, 0)
        name, _ = decode_name(raw_name, flags)
        entry = ZipEntry(name, method, flags, crc, csize, usize, pos, data_offset=pos + 30 + nlen + xlen)
        out.append(entry)
        if flags & 0x08 and csize == 0:
            break  # sizes follow the data in a descriptor; the walk cannot continue safely
        pos = pos + 30 + nlen + xlen + csize
    return out


def member_stream(blob: Blob, entry: ZipEntry, *, max_output: int) -> ByteStream:
    """The member's uncompressed bytes as a stream (stored members are a plain slice)."""
    if entry.data_offset is None:
        raise ZipError(f"member {entry.name!r} has no readable local header")
    raw = blob.slice(entry.data_offset, entry.compressed_size)
    if entry.method == 0:
        return BlobStream(raw)
    method = {8: "deflate", 12: "bzip2", 95: "xz"}.get(entry.method)
    if method is None:
        raise ZipError(f"member {entry.name!r} uses unsupported compression ({entry.method_name})")
    return DecompressStream(BlobStream(raw), method, max_output=max_output)


def crc_matches(stream: ByteStream, expected: int) -> bool:
    crc = 0
    while True:
        chunk = stream.read(1 << 18)
        if not chunk:
            break
        crc = zlib.crc32(chunk, crc)
    return crc == expected
