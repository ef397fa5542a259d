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
_SCALAR, _STR, _TABLE, _VEC_SCALAR, _VEC_STR, _VEC_TABLE, _UNION = range(7)


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
        self._cache: dict[str, dict[int, tuple]] = {}

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
    def _compiled(self, name: str) -> dict[int, tuple]:
        """The schema of table ``name`` as ``idx -> (code, arg, arg2)`` tuples, parsed once."""
        comp = self._cache.get(name)
        if comp is None:
            comp = {}
            for idx, kind in self.schema.get(name, {}).items():
                if kind in SCALAR_SIZES:
                    comp[idx] = (_SCALAR, _STRUCTS[kind], SCALAR_SIZES[kind])
                elif kind == "str":
                    comp[idx] = (_STR, None, None)
                elif kind.startswith("table:"):
                    comp[idx] = (_TABLE, kind[6:], None)
                elif kind.startswith("vec:table:"):
                    comp[idx] = (_VEC_TABLE, kind[10:], None)
                elif kind == "vec:str":
                    comp[idx] = (_VEC_STR, None, None)
                elif kind.startswith("vec:") and kind[4:] in SCALAR_SIZES:
                    comp[idx] = (_VEC_SCALAR, SCALAR_SIZES[kind[4:]], None)
                elif kind.startswith("union:"):
                    _, type_idx, resolver = kind.split(":")
                    comp[idx] = (_UNION, int(type_idx), resolver)
                else:  # pragma: no cover - a schema bug, not a file problem
                    raise ValueError(f"bad schema kind {kind!r} for {name}.field{idx}")
            self._cache[name] = comp
        return comp

    def table(self, tpos: int, name: str, depth: int = 0) -> dict[int, object]:
        """Verify table ``name`` at ``tpos`` recursively; return its field values by index.

        Scalars and strings come back as values, sub-tables as dicts, scalar vectors as
        ``(start, length)`` (read them with :meth:`ints`), table vectors as lists of dicts.
        """
        if depth > self.max_depth:
            raise FlatBufferError(f"{name} nested deeper than {self.max_depth} levels")
        fields = self.table_fields(tpos, name)
        spec = self._compiled(name)
        values: dict[int, object] = {}
        buf, n = self.buf, self.n
        for idx, fpos in fields.items():
            c = spec.get(idx)
            if c is None:
                continue  # unknown field: position already checked inside the table
            code = c[0]
            if code == _SCALAR:
                if fpos + c[2] > n:
                    self._need(fpos, c[2], f"{name}.field{idx}")
                values[idx] = c[1].unpack_from(buf, fpos)[0]
            elif code == _VEC_SCALAR:
                values[idx] = self.vector(fpos, c[1], name)
            elif code == _VEC_TABLE:
                start, length = self.vector(fpos, 4, name)
                sub, d = c[1], depth + 1
                values[idx] = [self.table(self._uoffset(start + 4 * i, name), sub, d) for i in range(length)]
            elif code == _STR:
                values[idx] = self.string(fpos, f"{name}.field{idx}")
            elif code == _TABLE:
                values[idx] = self.table(self._uoffset(fpos, name), c[1], depth + 1)
            elif code == _VEC_STR:
                start, length = self.vector(fpos, 4, name)
                values[idx] = [self.string(start + 4 * i, name) for i in range(length)]
            else:  # union
                what = f"{name}.field{idx}"
                utype = self.scalar(fields[c[1]], "u8", what) if c[1] in fields else 0
                if utype == 0:
                    raise FlatBufferError(f"{what} holds a union value without a type")
                sub = self.resolvers[c[2]](utype) if c[2] in self.resolvers else None
                values[idx] = self.table(self._uoffset(fpos, what), sub or f"<union {utype}>", depth + 1)
        return values

    def ints(self, vec: tuple[int, int], kind: str = "i32") -> list[int]:
        """Read a verified scalar vector ``(start, length)`` as a list."""
        start, length = vec
        return list(struct.unpack_from(f"<{length}{_FMT[kind][1]}", self.buf, start)) if length else []
