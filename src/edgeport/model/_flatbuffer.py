"""A small, schema-driven FlatBuffer verifier in pure Python.

The Python ``flatbuffers`` runtime does not bounds-check, and native loaders
(LiteRT) may fault on a corrupted file. :class:`Verifier` walks the tables a
schema describes and checks that every offset, vtable, vector and string lies
inside the buffer, with a depth limit and a table-count limit, so that reading
the file afterwards cannot fault or loop.

A schema is a dict ``table name -> {field index: kind}``; kinds are

* ``"u8" "i8" "bool" "u16" "i16" "u32" "i32" "f32" "u64" "i64" "f64"`` scalars,
* ``"str"``, ``"table:Name"``, ``"vec:<scalar>"``, ``"vec:str"``, ``"vec:table:Name"``,
* ``"union:<type field index>:<resolver name>"`` a union value whose table name is
  given by ``resolvers[resolver](type_value)`` (``None`` -> checked as an opaque table).

Fields a schema does not name are still checked to lie inside their table.
"""

from __future__ import annotations

import struct
from typing import Callable

__all__ = ["Verifier", "FlatBufferError", "SCALAR_SIZES"]

SCALAR_SIZES = {"u8": 1, "i8": 1, "bool": 1, "u16": 2, "i16": 2, "u32": 4, "i32": 4, "f32": 4,
                "u64": 8, "i64": 8, "f64": 8}
_FMT = {"u8": "<B", "i8": "<b", "bool": "<B", "u16": "<H", "i16": "<h", "u32": "<I", "i32": "<i",
        "f32": "<f", "u64": "<Q", "i64": "<q", "f64": "<d"}
_STRUCTS = {k: struct.Struct(v) for k, v in _FMT.items()}
_U32 = _STRUCTS["u32"]
_HH = struct.Struct("<HH")


class FlatBufferError(ValueError):
    """The buffer violates the FlatBuffer layout (message says where)."""


class Verifier:
    """Verify a FlatBuffer against a schema; collect values the caller asks for."""

    def __init__(self, buf: bytes, schema: dict[str, dict[int, str]],
                 resolvers: dict[str, Callable[[int], str | None]] | None = None,
                 max_depth: int = 64, max_tables: int | None = None):
        self.buf = buf
        self.n = len(buf)
        self.schema = schema
        self.resolvers = resolvers or {}
        self.max_depth = max_depth
        # every table owns at least its 4-byte vtable offset: more visits than that means shared
        # references built to blow up the walk (uoffsets point forward only, so there are no cycles)
        self.max_tables = max_tables if max_tables is not None else len(buf) // 4 + 16
        self.tables = 0

    # -- primitives ---------------------------------------------------------------------------
    def _need(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise FlatBufferError(f"{what} at byte {pos} (+{size}) is outside the {self.n}-byte file")

    def scalar(self, pos: int, kind: str, what: str = "scalar"):
        size = SCALAR_SIZES[kind]
        if pos < 0 or pos + size > self.n:
            self._need(pos, size, what)
        return _STRUCTS[kind].unpack_from(self.buf, pos)[0]

    def _uoffset(self, pos: int, what: str) -> int:
        if pos < 0 or pos + 4 > self.n:
            self._need(pos, 4, what)
        off = _U32.unpack_from(self.buf, pos)[0]
        if off == 0:
            raise FlatBufferError(f"{what} at byte {pos} has a zero offset")
        target = pos + off
        if target + 4 > self.n:
            self._need(target, 4, what)
        return target

    # -- structures ---------------------------------------------------------------------------
    def root(self, identifier: bytes | None = None) -> int:
        """Check the root offset (and file identifier); return the root table position."""
        self._need(0, 8 if identifier else 4, "root offset")
        if identifier is not None and self.buf[4:8] != identifier:
            raise FlatBufferError(f"file identifier is {bytes(self.buf[4:8])!r}, expected {identifier!r}")
        return self._uoffset(0, "root table offset")

    def table_fields(self, tpos: int, what: str) -> dict[int, int]:
        """Check a table's vtable; return ``field index -> absolute field position`` for present fields."""
        self.tables += 1
        if self.tables > self.max_tables:
            raise FlatBufferError(f"more than {self.max_tables} table visits for a {self.n}-byte file "
                                  "(shared references, a malicious file)")
        soff = self.scalar(tpos, "i32", f"{what} vtable offset")
        vt = tpos - soff
        if vt < 0 or vt + 4 > self.n:
            self._need(vt, 4, f"{what} vtable")
        vt_size, t_size = _HH.unpack_from(self.buf, vt)
        if vt_size < 4 or vt_size % 2:
            raise FlatBufferError(f"{what} at byte {tpos} has a bad vtable size {vt_size}")
        if vt + vt_size > self.n:
            self._need(vt, vt_size, f"{what} vtable")
        if t_size < 4:
            raise FlatBufferError(f"{what} at byte {tpos} has a bad table size {t_size}")
        if tpos + t_size > self.n:
            self._need(tpos, t_size, what)
        nf = (vt_size - 4) // 2
        fields = {}
        for i, fo in enumerate(struct.unpack_from(f"<{nf}H", self.buf, vt + 4) if nf else ()):
            if fo == 0:
                continue
            if fo < 4 or fo >= t_size:
                raise FlatBufferError(f"{what} field {i} offset {fo} is outside its {t_size}-byte table")
            fields[i] = tpos + fo
        return fields

    def vector(self, pos: int, elem_size: int, what: str) -> tuple[int, int]:
        """Follow the uoffset at ``pos`` to a vector; return (first element position, length)."""
        vpos = self._uoffset(pos, what)  # also checks that the 4-byte length is inside
        length = _U32.unpack_from(self.buf, vpos)[0]
        if vpos + 4 + length * elem_size > self.n:
            self._need(vpos + 4, length * elem_size, f"{what} ({length} elements)")
        return vpos + 4, length

    def string(self, pos: int, what: str) -> str:
        start, length = self.vector(pos, 1, what)
        if start + length + 1 > self.n:
            self._need(start, length + 1, f"{what} terminator")
        try:
            return bytes(self.buf[start:start + length]).decode("utf-8")
        except UnicodeDecodeError:
            raise FlatBufferError(f"{what} at byte {start} is not valid UTF-8") from None

    # -- schema walk --------------------------------------------------------------------------
    def table(self, tpos: int, name: str, depth: int = 0) -> dict[int, object]:
        """Verify table ``name`` at ``tpos`` recursively; return its scalar and string values by field."""
        if depth > self.max_depth:
            raise FlatBufferError(f"{name} nested deeper than {self.max_depth} levels")
        fields = self.table_fields(tpos, name)
        spec = self.schema.get(name, {})
        values: dict[int, object] = {}
        for idx, fpos in fields.items():
            kind = spec.get(idx)
            if kind is None:
                continue  # unknown field: position already checked inside the table
            if kind in SCALAR_SIZES:
                if fpos + SCALAR_SIZES[kind] > self.n:
                    self._need(fpos, SCALAR_SIZES[kind], f"{name}.field{idx}")
                values[idx] = _STRUCTS[kind].unpack_from(self.buf, fpos)[0]
                continue
            what = f"{name}.field{idx}"
            if kind == "str":
                values[idx] = self.string(fpos, what)
            elif kind.startswith("table:"):
                values[idx] = self.table(self._uoffset(fpos, what), kind[6:], depth + 1)
            elif kind.startswith("vec:"):
                values[idx] = self._vec(fpos, kind[4:], what, depth)
            elif kind.startswith("union:"):
                _, type_idx, resolver = kind.split(":")
                utype = self.scalar(fields[int(type_idx)], "u8", what) if int(type_idx) in fields else 0
                if utype == 0:
                    raise FlatBufferError(f"{what} holds a union value without a type")
                sub = self.resolvers[resolver](utype) if resolver in self.resolvers else None
                values[idx] = self.table(self._uoffset(fpos, what), sub or f"<union {utype}>", depth + 1)
        return values

    def _vec(self, fpos: int, elem: str, what: str, depth: int):
        if elem in SCALAR_SIZES:
            start, length = self.vector(fpos, SCALAR_SIZES[elem], what)
            return (start, length)
        start, length = self.vector(fpos, 4, what)
        if elem == "str":
            return [self.string(start + 4 * i, what) for i in range(length)]
        if elem.startswith("table:"):
            tname = elem[6:]
            return [self.table(self._uoffset(start + 4 * i, what), tname, depth + 1) for i in range(length)]
        raise FlatBufferError(f"bad schema kind vec:{elem}")  # pragma: no cover

    def ints(self, vec: tuple[int, int], kind: str = "i32") -> list[int]:
        """Read a verified scalar vector ``(start, length)`` as a list."""
        start, length = vec
        return list(struct.unpack_from(f"<{length}{_FMT[kind][1]}", self.buf, start)) if length else []
