"""An RGB pixel buffer with the two drawing operations a bar chart needs: filled
rectangles and bitmap text."""

from __future__ import annotations

from pathlib import Path

from bench.report import font, png

Color = tuple[int, int, int]


class Canvas:
    def __init__(self, width: int, height: int, background: Color = (255, 255, 255)):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill columns x0 .. x1-1 of rows y0 .. y1-1 (clipped to the canvas)."""
        x0, x1 = max(0, min(x0, x1)), min(self.width, max(x0, x1))
        y0, y1 = max(0, min(y0, y1)), min(self.height, max(y0, y1))
        if x0 >= x1:
            return
        span = bytes(color) * (x1 - x0)
        for y in range(y0, y1):
            start = 3 * (y * self.width + x0)
            self.pixels[start:start + len(span)] = span

    def text(self, x: int, y: int, text: str, color: Color, scale: int = 1,
             align: str = "left") -> None:
        """Draw `text` with its top at `y`; `align` says what `x` is: the left edge, the
        center or the right edge of the text."""
        width = font.text_width(text, scale)
        x -= {"left": 0, "center": width // 2, "right": width}[align]
        for char in text:
            for row, bits in enumerate(font.glyph(char)):
                for col in range(font.WIDTH):
                    if bits >> (font.WIDTH - 1 - col) & 1:
                        px, py = x + col * scale, y + row * scale
                        self.rect(px, py, px + scale, py + scale, color)
            x += font.ADVANCE * scale

    def png(self) -> bytes:
        return png.encode(self.width, self.height, self.pixels)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.png())
