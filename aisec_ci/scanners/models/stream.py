"""Bounded byte access for model files.

Model files can be many gigabytes, so nothing here reads a whole file: a
`Blob` gives random access (zip and tar walkers seek to headers), and a
`ByteStream` gives buffered sequential reads (the pickle machine) whose `skip`
seeks past tensor payloads instead of reading them.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from typing import BinaryIO

CHUNK = 1 << 16


class LimitExceeded(Exception):
    """A size, ratio or depth budget was exhausted; the content is unscannable."""


class Blob:
    """Random access to a byte range."""

    def size(self) -> int:
        raise NotImplementedError

    def read_at(self, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def slice(self, offset: int, length: int) -> Blob:
        offset = max(0, min(offset, self.size()))
        length = max(0, min(length, self.size() - offset))
        return SliceBlob(self, offset, length)

    def stream(self) -> ByteStream:
        return BlobStream(self)


class BytesBlob(Blob):
    def __init__(self, data: bytes) -> None:
        self._data = data

    def size(self) -> int:
        return len(self._data)

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0:
            return b""
        return self._data[offset : offset + n]


class FileBlob(Blob):
    """A whole open file; reads seek, so memory does not grow with file size."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size

    def size(self) -> int:
        return self._size

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0 or offset >= self._size:
            return b""
        self._handle.seek(offset)
        return self._handle.read(min(n, self._size - offset))


class SliceBlob(Blob):
    def __init__(self, parent: Blob, base: int, length: int) -> None:
        self._parent = parent
        self._base = base
        self._length = length

    def size(self) -> int:
        return self._length

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < 0 or n <= 0 or offset >= self._length:
            return b""
        return self._parent.read_at(self._base + offset, min(n, self._length - offset))


class ByteStream:
    """Buffered sequential reader; subclasses supply `_raw_read` and `_raw_skip`."""

    def __init__(self) -> None:
        self._buf = b""
        self._i = 0
        self._before = 0  # bytes consumed before the current buffer
        self._eof = False

    def _raw_read(self, n: int) -> bytes:
        raise NotImplementedError

    def _raw_skip(self, n: int) -> int:
        skipped = 0
        while skipped < n:
            chunk = self._raw_read(min(CHUNK * 4, n - skipped))
            if not chunk:
                break
            skipped += len(chunk)
        return skipped

    def _fill(self, n: int) -> None:
        avail = len(self._buf) - self._i
        if avail >= n or self._eof:
            return
        parts = [self._buf[self._i :]]
        self._before += self._i
        need = n - avail
        while need > 0:
            chunk = self._raw_read(max(need, CHUNK))
            if not chunk:
                self._eof = True
                break
            parts.append(chunk)
            need -= len(chunk)
        self._buf = b"".join(parts)
        self._i = 0

    def tell(self) -> int:
        return self._before + self._i

    def read(self, n: int) -> bytes:
        i = self._i
        end = i + n
        if n > 0 and end <= len(self._buf):  # the common case: no refill, one slice
            self._i = end
            return self._buf[i:end]
        if n <= 0:
            return b""
        self._fill(n)
        out = self._buf[self._i : self._i + n]
        self._i += len(out)
        return out

    def read_byte(self) -> int:
        """The next byte, or -1 at the end; the pickle machine's per-opcode read, so no slicing."""
        i = self._i
        if i >= len(self._buf):
            self._fill(1)
            i = self._i
            if i >= len(self._buf):
                return -1
        self._i = i + 1
        return self._buf[i]

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return self._buf[self._i : self._i + n]

    def at_eof(self) -> bool:
        return not self.peek(1)

    def readline(self, cap: int) -> bytes | None:
        """A line including its newline; None when no newline comes within `cap` bytes."""
        searched = 0  # bytes after _i already known to hold no newline
        while True:
            nl = self._buf.find(b"\n", self._i + searched)
            if nl != -1:
                if nl + 1 - self._i > cap:
                    return None
                out = self._buf[self._i : nl + 1]
                self._i = nl + 1
                return out
            avail = len(self._buf) - self._i
            if avail >= cap or self._eof:
                return None
            searched = avail
            self._fill(avail + CHUNK)
            if len(self._buf) - self._i == avail:
                return None

    def skip_line(self, cap: int) -> int | None:
        """Skip past the next newline without keeping the line; its length, or None at EOF/`cap`."""
        total = 0
        while total <= cap:
            self._fill(1)
            avail = len(self._buf) - self._i
            if avail == 0:
                return None
            nl = self._buf.find(b"\n", self._i)
            if nl != -1:
                total += nl + 1 - self._i
                self._i = nl + 1
                return total
            total += avail
            self._i = len(self._buf)
        return None

    def skip(self, n: int) -> int:
        """Move forward `n` bytes without keeping them; returns how many were skipped."""
        if n <= 0:
            return 0
        avail = len(self._buf) - self._i
        if n <= avail:
            self._i += n
            return n
        self._before += len(self._buf)
        self._buf = b""
        self._i = 0
        skipped = self._raw_skip(n - avail)
        self._before += skipped
        return avail + skipped


class BlobStream(ByteStream):
    """Sequential view of a blob; skipping is a seek."""

    def __init__(self, blob: Blob) -> None:
        super().__init__()
        self._blob = blob
        self._pos = 0

    def _raw_read(self, n: int) -> bytes:
        data = self._blob.read_at(self._pos, n)
        self._pos += len(data)
        return data

    def _raw_skip(self, n: int) -> int:
        step = max(0, min(n, self._blob.size() - self._pos))
        self._pos += step
        return step


class DecompressStream(ByteStream):
    """Streams the decompressed form of zlib, raw deflate, gzip, bzip2 or xz/lzma data.

    `max_output` bounds the total decompressed size and `max_ratio` the
    expansion over the compressed input (zip bombs); both raise LimitExceeded.
    """

    def __init__(self, inner: ByteStream, method: str, *, max_output: int, max_ratio: int = 1000) -> None:
        super().__init__()
        self._inner = inner
        self._method = method
        self._max_output = max_output
        self._max_ratio = max_ratio
        self._in = 0
        self._out = 0
        self._done = False
        self._zlib: zlib._Decompress | None = None
        self._other: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        if method in ("zlib", "deflate", "gzip"):
            wbits = {"zlib": 15, "deflate": -15, "gzip": 31}[method]
            self._zlib = zlib.decompressobj(wbits)
        elif method == "bzip2":
            self._other = bz2.BZ2Decompressor()
        elif method in ("xz", "lzma"):
            self._other = lzma.LZMADecompressor(format=lzma.FORMAT_AUTO)
        else:
            raise ValueError(f"unsupported compression {method!r}")

    @property
    def compressed_consumed(self) -> int:
        return self._in

    def _next_input(self) -> bytes:
        data = self._inner.read(CHUNK)
        self._in += len(data)
        return data

    def _raw_read(self, n: int) -> bytes:
        if self._done:
            return b""
        try:
            out = self._read_zlib(n) if self._zlib is not None else self._read_other(n)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            self._done = True
            raise CorruptData(f"{self._method} data is corrupt: {exc}") from None
        self._out += len(out)
        if self._out > self._max_output:
            raise LimitExceeded(f"decompressed size exceeds {self._max_output} bytes")
        if self._out > 1 << 20 and self._out > self._max_ratio * max(self._in, 1):
            raise LimitExceeded(f"compression ratio exceeds {self._max_ratio}:1 (a decompression bomb)")
        return out

    def _read_zlib(self, n: int) -> bytes:
        d = self._zlib
        assert d is not None
        while True:
            if d.eof:
                self._done = True
                return b""
            data = d.unconsumed_tail or self._next_input()
            if not data and not d.unconsumed_tail:
                self._done = True
                tail = d.flush()
                if not tail:
                    raise CorruptData(f"{self._method} stream is truncated")
                return tail
            out = d.decompress(data, n)
            if out:
                return out

    def _read_other(self, n: int) -> bytes:
        d = self._other
        assert d is not None
        while True:
            if d.eof:
                self._done = True
                return b""
            if d.needs_input:
                data = self._next_input()
                if not data:
                    self._done = True
                    raise CorruptData(f"{self._method} stream is truncated")
            else:
                data = b""
            out = d.decompress(data, n)
            if out:
                return out


class CorruptData(Exception):
    """Compressed data that does not decompress."""


def read_all(stream: ByteStream, cap: int) -> bytes:
    """Everything left in `stream`, or LimitExceeded past `cap` bytes."""
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(CHUNK * 4)
        if not chunk:
            return b"".join(parts)
        total += len(chunk)
        if total > cap:
            raise LimitExceeded(f"content larger than {cap} bytes")
        parts.append(chunk)
