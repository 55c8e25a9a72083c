"""A minimal .xls writer: no xls writer is installed, and .xls must be tested all the same."""

from __future__ import annotations

import struct


def _rec(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(dt: int) -> bytes:
    return _rec(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x06))


def xls_bytes(
    sheets: dict[str, list[list[object]]],
    *,
    dimensions: tuple[int, int] | None = None,
    extra_cells: tuple[tuple[int, int], ...] = (),
) -> bytes:
    """A minimal BIFF8 workbook in an OLE2 compound file (no xls writer is installed).

    Hostile variants: `dimensions` (rows, columns) is what every sheet's DIMENSIONS record
    declares instead of its real size; `extra_cells` adds a number cell at each (row, column),
    0-based, to every sheet, past where Excel could put one if need be.
    """
    strings: list[str] = []
    index: dict[str, int] = {}
    bodies: list[bytes] = []
    for rows in sheets.values():
        cells = b""
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    if value not in index:
                        index[value] = len(strings)
                        strings.append(value)
                    cells += _rec(0x00FD, struct.pack("<HHHI", r, c, 0, index[value]))
                else:
                    number = float(value)  # type: ignore[arg-type]
                    cells += _rec(0x0203, struct.pack("<HHHd", r, c, 0, number))
        for r, c in extra_cells:
            cells += _rec(0x0203, struct.pack("<HHHd", r, c, 0, 1.0))
        width = max((len(r) for r in rows), default=0)
        declared = dimensions or (len(rows), width)
        dims = _rec(0x0200, struct.pack("<IIHHH", 0, declared[0], 0, declared[1], 0))
        bodies.append(_bof(0x0010) + dims + cells + _rec(0x000A, b""))
    sst = struct.pack("<II", len(strings), len(strings)) + b"".join(
        struct.pack("<HB", len(s), 1) + s.encode("utf-16-le") for s in strings
    )

    def globals_(offsets: list[int]) -> bytes:
        out = _bof(0x0005)
        for (name, _), off in zip(sheets.items(), offsets, strict=True):
            out += _rec(
                0x0085, struct.pack("<IBBBB", off, 0, 0, len(name), 1) + name.encode("utf-16-le")
            )
        return out + _rec(0x00FC, sst) + _rec(0x000A, b"")

    size = len(globals_([0] * len(sheets)))
    offsets = []
    for body in bodies:
        offsets.append(size)
        size += len(body)
    stream = globals_(offsets) + b"".join(bodies)
    stream += b"\x00" * (max(4096, -(-len(stream) // 512) * 512) - len(stream))
    n = len(stream) // 512
    assert n + 2 <= 128, "fixture too big for one FAT sector"
    end, free = 0xFFFFFFFE, 0xFFFFFFFF
    fat = [0xFFFFFFFD] + [i + 2 for i in range(n - 1)] + [end, end]
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, length: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        return (
            raw.ljust(64, b"\x00")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", free, free, child)
            + b"\x00" * 16
            + struct.pack("<I", 0)
            + b"\x00" * 16
            + struct.pack("<IQ", start, length)
        )

    directory = (
        entry("Root Entry", 5, 1, end, 0)
        + entry("Workbook", 2, free, 1, len(stream))
        + entry("", 0, free, free, 0) * 2
    )
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, n + 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    return header + struct.pack("<128I", *fat) + stream + directory
