"""Draw the integration's brand images, in the two places they are read from.

- custom_components/smsoffice/brand/: Home Assistant (2026.3 and later) and
  HACS read `icon.png`, `logo.png` and their `@2x` variants from there.
- brands/custom_integrations/smsoffice/: the same four files, laid out as a
  pull request to github.com/home-assistant/brands needs them; Home Assistant
  before 2026.3 takes icons only from that repository (see RELEASING.md).

Sizes as the brands repository requires: icons 256x256 and 512x512, logos
256 and 512 pixels high (the shortest side), landscape, trimmed, transparent.
The images are drawn, not traced: a speech bubble with "SMS" in it, and for
the logo the bubble beside the words "SMS Office". Run from the repository
root with Pillow installed (the test venv has it):

    .venv/bin/python scripts/make_brand_images.py

Everything is drawn at four times the final size and scaled down, which gives
smooth edges. The text uses DejaVu Sans Bold when the system has it and
Pillow's bundled font otherwise.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
BRAND_DIR = ROOT / "custom_components" / "smsoffice" / "brand"
BRANDS_SUBMISSION_DIR = ROOT / "brands" / "custom_integrations" / "smsoffice"

SUPERSAMPLE = 4
# A calm blue, lighter at the top of the bubble.
TOP_COLOUR = (52, 170, 220)
BOTTOM_COLOUR = (24, 108, 168)
TEXT_ON_BUBBLE = (255, 255, 255, 255)
WORD_SMS = (27, 124, 186, 255)
WORD_OFFICE = (96, 112, 128, 255)

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "DejaVuSans-Bold.ttf",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Return a bold sans-serif font of `size` pixels."""
    for candidate in FONT_CANDIDATES:
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _gradient(size: tuple[int, int]) -> Image.Image:
    """Return a top-to-bottom gradient from TOP_COLOUR to BOTTOM_COLOUR."""
    width, height = size
    column = Image.new("RGBA", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        column.putpixel(
            (0, y),
            (
                *(
                    round(top + (bottom - top) * t)
                    for top, bottom in zip(TOP_COLOUR, BOTTOM_COLOUR, strict=True)
                ),
                255,
            ),
        )
    return column.resize((width, height))


def bubble(
    side: int, *, label: bool = True, supersample: int = SUPERSAMPLE
) -> Image.Image:
    """Return a square, transparent image of the speech bubble, `side` pixels wide.

    With `label` the bubble says "SMS"; without, it holds three dots.
    """
    big = side * supersample

    def s(value: float) -> int:
        """Scale a coordinate given for a 256-pixel icon."""
        return round(value * big / 256)

    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    body = (s(8), s(20), s(248), s(196))
    draw.rounded_rectangle(body, radius=s(52), fill=255)
    # The tail, down and to the left, blended into the body.
    draw.polygon([(s(58), s(180)), (s(40), s(244)), (s(124), s(186))], fill=255)

    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    image.paste(_gradient((big, big)), (0, 0), mask)

    draw = ImageDraw.Draw(image)
    centre_x = (body[0] + body[2]) / 2
    centre_y = (body[1] + body[3]) / 2
    if label:
        draw.text(
            (centre_x, centre_y + s(2)),
            "SMS",
            font=_font(s(80)),
            fill=TEXT_ON_BUBBLE,
            anchor="mm",
        )
    else:
        radius = s(19)
        for offset in (-s(58), 0, s(58)):
            x = centre_x + offset
            draw.ellipse(
                (x - radius, centre_y - radius, x + radius, centre_y + radius),
                fill=TEXT_ON_BUBBLE,
            )
    if supersample == 1:
        return image
    return image.resize((side, side), Image.Resampling.LANCZOS)


def logo(height: int) -> Image.Image:
    """Return the logo: the bubble and "SMS Office", `height` pixels high."""
    big = height * SUPERSAMPLE
    icon = bubble(big, label=False, supersample=1)
    font = _font(round(big * 0.42))
    gap = round(big * 0.14)

    measure = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    sms_width = measure.textlength("SMS ", font=font)
    office_width = measure.textlength("Office", font=font)
    width = big + gap + round(sms_width + office_width) + round(big * 0.04)

    image = Image.new("RGBA", (width, big), (0, 0, 0, 0))
    image.paste(icon, (0, 0), icon)
    draw = ImageDraw.Draw(image)
    # Line the words up with the middle of the bubble's body, not of its tail.
    baseline_y = round(big * 0.43)
    x = big + gap
    draw.text((x, baseline_y), "SMS ", font=font, fill=WORD_SMS, anchor="lm")
    draw.text(
        (x + sms_width, baseline_y), "Office", font=font, fill=WORD_OFFICE, anchor="lm"
    )

    bbox = image.getbbox()
    if bbox is not None:
        image = image.crop(bbox)
    scale = height / image.height
    return image.resize((round(image.width * scale), height), Image.Resampling.LANCZOS)


def main() -> None:
    """Write icon.png, icon@2x.png, logo.png and logo@2x.png into both folders."""
    outputs = {
        "icon.png": bubble(256),
        "icon@2x.png": bubble(512),
        "logo.png": logo(256),
        "logo@2x.png": logo(512),
    }
    for folder in (BRAND_DIR, BRANDS_SUBMISSION_DIR):
        folder.mkdir(parents=True, exist_ok=True)
        for name, image in outputs.items():
            image.save(folder / name, optimize=True)


if __name__ == "__main__":
    main()
