"""Draw Balise's icons (a beacon: dot and ring on a blue tile) as PNGs, no dependencies.

Run: python3 scripts/make_icons.py  (writes icons/icon-{16,32,48,128}.png)
"""

import math
import struct
import zlib
from pathlib import Path

BLUE = (29, 78, 216)
WHITE = (255, 255, 255)
SS = 4  # supersampling per axis


def coverage(x: float, y: float) -> tuple[float, float]:
    """(tile alpha, white amount) at a point of the unit square."""
    r = 0.2  # corner radius of the tile
    cx = min(max(x, r), 1 - r)
    cy = min(max(y, r), 1 - r)
    tile = 1.0 if math.hypot(x - cx, y - cy) <= r else 0.0
    d = math.hypot(x - 0.5, y - 0.5)
    white = 1.0 if d <= 0.12 or 0.22 <= d <= 0.31 else 0.0
    return tile, white * tile


def png(size: int) -> bytes:
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            a = w = 0.0
            for sj in range(SS):
                for si in range(SS):
                    x = (i + (si + 0.5) / SS) / size
                    t, wh = coverage(x, (j + (sj + 0.5) / SS) / size)
                    a += t
                    w += wh
            a /= SS * SS
            w /= SS * SS
            mix = w / a if a else 0.0
            rgb = [round(b + (wt - b) * mix) for b, wt in zip(BLUE, WHITE, strict=True)]
            row += bytes(rgb + [round(a * 255)])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"".join(rows), 9)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "icons"
    out.mkdir(exist_ok=True)
    for size in (16, 32, 48, 128):
        (out / f"icon-{size}.png").write_bytes(png(size))
