"""Draw the small example images the app ships in examples/ (run once; output is committed)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "examples"


def living_room() -> tuple[Image.Image, Image.Image]:
    image = Image.new("RGB", (640, 448), (231, 222, 204))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 330, 640, 448), fill=(150, 111, 80))                      # floor
    window = (360, 60, 580, 250)
    draw.rectangle(window, fill=(150, 200, 235), outline=(255, 255, 255), width=10)
    draw.line((470, 60, 470, 250), fill=(255, 255, 255), width=8)
    draw.line((360, 155, 580, 155), fill=(255, 255, 255), width=8)
    draw.rounded_rectangle((60, 230, 330, 350), 24, fill=(62, 96, 140))          # sofa
    draw.rounded_rectangle((40, 200, 90, 350), 18, fill=(52, 82, 122))
    draw.rounded_rectangle((300, 200, 350, 350), 18, fill=(52, 82, 122))
    draw.line((120, 120, 120, 228), fill=(60, 60, 60), width=4)                  # lamp
    draw.polygon([(95, 120), (145, 120), (132, 85), (108, 85)], fill=(250, 220, 140))
    # The model's mask: opaque everywhere but the window panes, which are fully transparent.
    mask = Image.new("RGBA", image.size, (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((window[0] + 6, window[1] + 6, window[2] - 6, window[3] - 6), fill=(0, 0, 0, 0))
    return image, mask


def mug() -> Image.Image:
    image = Image.new("RGB", (512, 512), (240, 240, 236))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 380, 512, 512), fill=(196, 170, 140))
    draw.ellipse((130, 350, 380, 410), fill=(180, 150, 120))
    draw.rounded_rectangle((150, 150, 360, 390), 30, fill=(250, 250, 250), outline=(200, 200, 200), width=3)
    draw.ellipse((340, 200, 430, 320), outline=(250, 250, 250), width=22)
    draw.ellipse((150, 130, 360, 175), fill=(235, 235, 235), outline=(200, 200, 200), width=3)
    return image


def stripes() -> Image.Image:
    image = Image.new("RGB", (256, 256), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for x in range(-256, 256, 40):
        draw.polygon([(x, 0), (x + 20, 0), (x + 276, 256), (x + 256, 256)], fill=(230, 90, 60))
    return image


def leaf_logo() -> Image.Image:
    image = Image.new("RGB", (256, 256), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((48, 48, 208, 208), fill=(34, 139, 84))
    draw.polygon([(128, 70), (175, 128), (128, 190), (81, 128)], fill=(255, 255, 255))
    draw.line((128, 80, 128, 185), fill=(34, 139, 84), width=6)
    return image


def main() -> None:
    OUT.mkdir(exist_ok=True)
    room, mask = living_room()
    room.save(OUT / "living-room.png", optimize=True)
    mask.save(OUT / "living-room-window-mask.png", optimize=True)
    mug().save(OUT / "mug.png", optimize=True)
    stripes().save(OUT / "pattern-stripes.png", optimize=True)
    leaf_logo().save(OUT / "logo-leaf.png", optimize=True)
    manifest = [
        {"label": "Inpaint with a mask: new view through the window",
         "prompt": "Replace the view through the window with snowy mountains at sunrise; keep the frame.",
         "image": "living-room.png", "mask": "living-room-window-mask.png"},
        {"label": "Compose three references: patterned mug with a logo",
         "prompt": "Wrap the mug from image 1 in the striped pattern from image 2 and print the leaf logo "
                   "from image 3 on its side. Keep the lighting and the table.",
         "image": "mug.png", "references": ["pattern-stripes.png", "logo-leaf.png"]},
    ]
    (OUT / "examples.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
