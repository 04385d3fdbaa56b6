"""QR codes as compact SVG (the kiosk screen, the phone's booking page), drawn with the same ``qrcode`` library the
printed ticket uses.

Server-side on purpose: one QR encoder for screen and paper, no second (JavaScript) library to vendor and keep
licensed, and an SVG stays sharp at any kiosk resolution. Each dark run of a row is one path segment, so a
tracking URL is about 2 KB of SVG.
"""

from __future__ import annotations

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 2  # modules of white around the code (the page adds its own white padding)


def qr_svg(content: str) -> str:
    """``content`` as a standalone SVG document (black modules on white, scalable, no fixed size)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(content)
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the border
    size = len(matrix)
    parts: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" shape-rendering="crispEdges">'
            f'<rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path fill="#000" d="{"".join(parts)}"/></svg>')
