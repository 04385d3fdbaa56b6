"""The kiosk's QR codes: :func:`shared.qr.qr_svg` (one encoder for the kiosk screen, the printed ticket and the
phone's booking page)."""

from shared.qr import QUIET_ZONE, qr_svg

__all__ = ["QUIET_ZONE", "qr_svg"]
