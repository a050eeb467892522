"""Photos of a report: decoded and re-encoded by Pillow, so that what is stored is
pixels and nothing else.

An upload is refused unless it is a JPEG or PNG (no other decoder of Pillow's is
ever run on an upload) that Pillow decodes whole, of at most
`MAX_UPLOAD_BYTES` and `MAX_SOURCE_PIXELS`, checked from the header before any pixel is
decoded (`Image.MAX_IMAGE_PIXELS` is set to the same bound, so Pillow's own
decompression-bomb guard refuses what slips past, and its warning is an error here).
The photo is turned upright (its EXIF orientation), scaled to `MAX_SIDE` and written
as a new JPEG without EXIF, XMP, ICC or any other metadata: GPS positions, the camera's
serial number and the time taken never reach the database.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from residents._errors import PhotoRefused, PhotoTooLarge

MAX_PHOTOS = 3  # a report is a few pictures of one problem, not an album
# A phone's full-size JPEG is 2-6 MB; 10 MB leaves room without inviting uploads of video.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A 48-megapixel phone camera is 8000 x 6000; a bomb claims far more from a few bytes.
MAX_SOURCE_PIXELS = 50_000_000
MAX_SOURCE_SIDE = 12_000
# What is kept: enough to see a broken lamp or a crack on a phone or a desk screen.
MAX_SIDE = 1600
JPEG_QUALITY = 82
ACCEPTED = frozenset({"JPEG", "PNG"})

Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo as stored: a fresh JPEG with no metadata."""

    data: bytes
    width: int
    height: int
    media_type: str = "image/jpeg"


def clean_photo(n: int, raw: bytes) -> Photo:
    """The upload `raw` (the report's n-th photo) re-encoded, or `PhotoRefused` with why."""
    if not raw:
        raise PhotoRefused(n, "the file is empty")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PhotoTooLarge(
            n, f"{len(raw)} bytes is more than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=sorted(ACCEPTED)) as img:
                _check_header(n, img)
                img.load()
                return _reencode(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused(n, f"too many pixels to decode safely ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise PhotoRefused(n, "not a JPEG or PNG image") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise PhotoRefused(n, f"a broken or truncated image: {exc}") from exc


def _check_header(n: int, img: Image.Image) -> None:
    if img.format not in ACCEPTED:
        raise PhotoRefused(n, f"a {img.format} image: only JPEG and PNG photos are taken")
    width, height = img.size
    if width < 1 or height < 1:
        raise PhotoRefused(n, "an image without pixels")
    if max(width, height) > MAX_SOURCE_SIDE or width * height > MAX_SOURCE_PIXELS:
        raise PhotoRefused(
            n,
            f"{width} x {height} pixels is more than a photo"
            f" (at most {MAX_SOURCE_SIDE} a side and {MAX_SOURCE_PIXELS // 1_000_000} MP)",
        )


def _reencode(img: Image.Image) -> Photo:
    upright = ImageOps.exif_transpose(img) or img
    pixels = upright.convert("RGB")
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    # A new image of the pixels alone: no `info` (EXIF, XMP, ICC, comments) carried over.
    bare = Image.new("RGB", pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Photo(out.getvalue(), bare.width, bare.height)
