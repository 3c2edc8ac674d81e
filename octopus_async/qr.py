"""QR codes for eSIM activation codes, rendered locally (the API sends no QR image, OQ-63).

Needs the optional `qr` extra: ``pip install 'octopus-async[qr]'`` (it brings segno, a
pure-Python QR encoder). Without it the functions raise `ImportError` saying so.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["qr_png", "qr_svg"]

_MISSING = "QR codes need the 'qr' extra: pip install 'octopus-async[qr]'"


def _encode(activation_code: str) -> Any:
    try:
        import segno  # optional: imported only when a QR code is asked for
    except ImportError:
        raise ImportError(_MISSING) from None
    if not activation_code:
        raise ValueError("no activation code to encode")
    return segno.make(activation_code, error="m", micro=False)


def qr_svg(activation_code: str, *, scale: int = 4) -> str:
    """The activation code as an SVG QR code that a phone's camera can scan."""
    buffer = io.BytesIO()
    _encode(activation_code).save(buffer, kind="svg", scale=scale)
    return buffer.getvalue().decode()


def qr_png(activation_code: str, *, scale: int = 4) -> bytes:
    """The activation code as a PNG QR code."""
    buffer = io.BytesIO()
    _encode(activation_code).save(buffer, kind="png", scale=scale)
    return buffer.getvalue()
