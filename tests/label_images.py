"""Label photos made for tests and the benchmark: a UDI barcode as a label printer would print it,
and that label as a phone would photograph it (tilted, blurred, noisy, JPEG-compressed)."""

from __future__ import annotations

import io
import random

import segno
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

SYMBOLOGIES = {
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "gs1-128": zxingcpp.BarcodeFormat.Code128,
}


def udi_barcode(element_string: str, symbology: str = "datamatrix", scale: int = 8) -> Image.Image:
    """The GS1 barcode of `element_string` in its human-readable form, (01)…(17)…(10)…"""
    barcode = zxingcpp.create_barcode(element_string, SYMBOLOGIES[symbology], gs1=True)
    if symbology == "gs1-128":
        scale = max(2, scale // 3)  # a module of a linear code is one bar, not a square
    image = Image.fromarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))
    if symbology == "gs1-128":
        image = image.resize((image.width, max(image.height, 160)))
    return image.convert("L")


def qr_code(text: str, scale: int = 8) -> Image.Image:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="png", scale=scale, border=4)
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def label(*codes: Image.Image, caption_lines: int = 3) -> Image.Image:
    """A white label with the codes side by side and grey lines standing for printed text."""
    width = max(sum(c.width for c in codes) + 40 * (len(codes) + 1), 480)
    code_height = max((c.height for c in codes), default=200)
    height = code_height + 40 + 30 * caption_lines + 20
    sheet = Image.new("L", (width, height), 255)
    left = 40
    for code in codes:
        sheet.paste(code, (left, 20))
        left += code.width + 40
    draw = ImageDraw.Draw(sheet)
    top = code_height + 40
    for line in range(caption_lines):
        draw.rectangle((40, top + 30 * line, width - 80 - 60 * line, top + 30 * line + 12), 110)
    return sheet


def photographed(
    image: Image.Image,
    *,
    angle: float = 12.0,
    blur: float = 1.2,
    noise: float = 18.0,
    quality: int = 60,
    size: int = 1280,
    margin: float = 1.6,
    seed: int = 0,
) -> bytes:
    """`image` as a phone photo: on a grey desk, tilted by `angle` degrees, out of focus by
    `blur` pixels, with sensor noise, shrunk to `size` pixels wide (Telegram's photo size; the
    label fills 1/`margin` of the frame) and saved as a JPEG."""
    rng = random.Random(seed)
    desk = Image.new("L", (int(image.width * margin), int(image.height * margin)), 150)
    desk.paste(image, ((desk.width - image.width) // 2, (desk.height - image.height) // 2))
    tilted = desk.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=150)
    scale = size / tilted.width
    shot = tilted.resize((size, int(tilted.height * scale)), Image.Resampling.BILINEAR)
    shot = shot.filter(ImageFilter.GaussianBlur(blur))
    grain = Image.effect_noise(shot.size, noise)
    shot = Image.blend(shot, grain, 0.18 if noise else 0.0)
    # uneven light: a brighter corner
    light = Image.linear_gradient("L").resize(shot.size).rotate(rng.uniform(0, 360))
    shot = Image.blend(shot, light, 0.12)
    out = io.BytesIO()
    shot.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
