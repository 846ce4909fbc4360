"""Read text drawn in images and canvases: Debian's tesseract-ocr (Dutch and English).

`read_png(png)` upscales small crops (tesseract reads text of about 30 px
best) and runs `tesseract - - -l nld+eng --psm 11` with a time limit. No
Python binding is needed: the binary is the dependency (.ci/run installs it
with tesseract-ocr-nld and tesseract-ocr-eng).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from dataclasses import dataclass

LANGS = "nld+eng"
TIMEOUT = 15.0


@dataclass
class OcrText:
    text: str
    seconds: float
    error: str | None = None


def tesseract() -> str | None:
    """The tesseract binary, or None when it is not installed."""
    return shutil.which("tesseract")


def _prepare(png: bytes) -> bytes:
    """Grey, and at least ~90 px high: small banners read far better upscaled."""
    try:
        from PIL import Image, ImageOps
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return png
    with Image.open(io.BytesIO(png)) as img:
        grey = ImageOps.grayscale(img.convert("RGB"))
        scale = 1
        while grey.height * scale < 90 and scale < 4:
            scale += 1
        if scale > 1:
            grey = grey.resize((grey.width * scale, grey.height * scale), Image.LANCZOS)
        grey = ImageOps.expand(grey, border=10, fill=255)
        out = io.BytesIO()
        grey.save(out, format="PNG")
        return out.getvalue()


def read_png(png: bytes, langs: str = LANGS, timeout: float = TIMEOUT) -> OcrText:
    """The text tesseract reads in a PNG (empty with an error when it cannot)."""
    binary = tesseract()
    start = time.monotonic()
    if binary is None:
        return OcrText("", 0.0, "tesseract is not installed (apt-get install tesseract-ocr)")
    try:
        proc = subprocess.run(
            [binary, "-", "-", "-l", langs, "--psm", "11"],
            input=_prepare(png),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return OcrText("", time.monotonic() - start, f"tesseract took more than {timeout:g} s")
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return OcrText("", seconds, (err[-1] if err else f"exit {proc.returncode}")[:300])
    return OcrText(proc.stdout.decode("utf-8", "replace"), seconds)
