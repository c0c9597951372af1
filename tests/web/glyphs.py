"""Does Chinese text render as real glyphs, or as boxes ("tofu")?

Without a CJK font every Han character falls back to the same missing-glyph box. So the check draws each distinct
Han character the page shows, in the page's own font stack, on a canvas (the same font fallback as the page),
and asks two things: do different characters give different bitmaps (boxes are all alike), and does none of them
look like the missing-glyph box itself (drawn from U+0378, a code point no font has)? Unlike comparing whole
screenshots it does not depend on the layout, and unlike asking fontconfig alone it looks at what the browser
actually drew. `test_glyphs.py` proves the check fails when the fonts are hidden from the browser.
"""

from __future__ import annotations

import subprocess
from typing import Any

from playwright.sync_api import Page

DRAW = """(chars) => {
  const font = getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const shape = (ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = "32px " + font;
    ctx.textBaseline = "top";
    ctx.fillText(ch, 4, 4);
    const alpha = ctx.getImageData(0, 0, 48, 48).data;
    let bits = "";
    for (let i = 3; i < alpha.length; i += 4) bits += alpha[i] > 127 ? "1" : "0";
    return bits;
  };
  const missing = shape("\\u0378");
  const shapes = chars.map(shape);
  return { total: chars.length, distinct: new Set(shapes).size,
           like_missing: chars.filter((c, i) => shapes[i] === missing),
           blank: chars.filter((c, i) => !shapes[i].includes("1")) };
}"""
HAN = "() => [...new Set(document.body.innerText.match(/\\p{Script=Han}/gu) || [])].slice(0, 40)"


def han_rendering(page: Page) -> dict[str, Any]:
    chars = page.evaluate(HAN)
    result: dict[str, Any] = page.evaluate(DRAW, chars)
    result["chars"] = "".join(chars)
    return result


def shows_tofu(result: dict[str, Any]) -> bool:
    return bool(result["distinct"] < result["total"] or result["like_missing"] or result["blank"])


def assert_no_tofu(page: Page) -> None:
    result = han_rendering(page)
    assert result["total"] >= 5, f"expected Chinese text on {page.url}, found {result['chars']!r}"
    assert not shows_tofu(result), f"Chinese renders as boxes on {page.url} (fonts-noto-cjk missing?): {result}"


def cjk_font_families() -> list[str]:
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return [line for line in listed.stdout.splitlines() if line.strip()]
