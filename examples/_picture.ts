/**
 * Pictures for the examples: grayscale panels scaled up (nearest neighbour)
 * in a grid with a title above each, drawn with a 5x7 bitmap font, so that
 * a 28x28 digit and what a filter does to it can be seen at a glance.
 *
 * @module
 */
import * as T from "../mod.ts";
import type { Tensor } from "../mod.ts";

/**
 * The 5x7 glyphs (rows top to bottom, bit 4 the left column) of the
 * characters the titles use; lower case is drawn as upper case.
 */
const FONT: Record<string, number[]> = {
  "A": [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
  "B": [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
  "C": [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
  "D": [0b11110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11110],
  "E": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
  "F": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
  "G": [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
  "H": [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
  "I": [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
  "J": [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
  "K": [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
  "L": [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
  "M": [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
  "N": [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
  "O": [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
  "P": [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
  "Q": [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
  "R": [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
  "S": [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
  "T": [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
  "U": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
  "V": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
  "W": [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
  "X": [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
  "Y": [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100],
  "Z": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
  "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
  "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
  "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
  "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
  "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
  "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
  "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
  "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
  "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
  "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
  " ": [0, 0, 0, 0, 0, 0, 0],
  ".": [0, 0, 0, 0, 0, 0b01100, 0b01100],
  ",": [0, 0, 0, 0, 0b01100, 0b00100, 0b01000],
  ":": [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0],
  "-": [0, 0, 0, 0b11111, 0, 0, 0],
  "=": [0, 0, 0b11111, 0, 0b11111, 0, 0],
  "/": [0, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0],
  "(": [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
  ")": [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
};

/** Width in pixels of `text` at font scale `s` (6 columns a character). */
const textWidth = (text: string, s: number) =>
  Math.max(text.length * 6 - 1, 0) * s;

/**
 * Draws `text` (black on white) into `img` ([H, W] row-major, 0..255) with
 * its top-left corner at (`x`, `y`), every font pixel an `s`x`s` block.
 */
function drawText(
  img: Float32Array,
  width: number,
  text: string,
  x: number,
  y: number,
  s: number,
): void {
  [...text.toUpperCase()].forEach((ch, i) => {
    const glyph = FONT[ch];
    if (!glyph) {
      throw new Error(`drawText: no glyph for "${ch}" in "${text}"`);
    }
    for (let r = 0; r < 7; r++) {
      for (let c = 0; c < 5; c++) {
        if (!(glyph[r] & (1 << (4 - c)))) continue;
        for (let dy = 0; dy < s; dy++) {
          const row = (y + r * s + dy) * width + x + (i * 6 + c) * s;
          img.fill(0, row, row + s);
        }
      }
    }
  });
}

/** Rescales a tensor to 0..255 (its minimum to 0, its maximum to 255). */
export function toPixels(t: Tensor): Tensor {
  const lo = T.item(T.min(t)), hi = T.item(T.max(t));
  return T.mul(T.sub(t, lo), 255 / Math.max(hi - lo, 1e-12));
}

/** One panel of a {@linkcode panelGrid}: a [H, W] image on 0..255 and its title. */
export interface Panel {
  title: string;
  image: Tensor;
}

/**
 * Lays out equally sized [H, W] panels (values on 0..255) left to right in
 * rows of `columns`, each scaled up `scale` times (nearest neighbour) with
 * its title above, on a white background; returns the [H', W'] picture.
 */
export function panelGrid(
  panels: readonly Panel[],
  { scale, columns = panels.length }: { scale: number; columns?: number },
): Tensor {
  const [h, w] = panels[0].image.shape;
  const ph = h * scale, pw = w * scale, gap = 8;
  const longest = Math.max(...panels.map((p) => p.title.length));
  const fs = textWidth("x".repeat(longest), 2) <= pw ? 2 : 1;
  const titleH = 7 * fs + 6;
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const width = gap + cols * (pw + gap),
    height = gap + rows * (titleH + ph + gap);
  const img = new Float32Array(width * height).fill(255);
  panels.forEach(({ title, image }, i) => {
    if (image.shape[0] !== h || image.shape[1] !== w) {
      throw new Error(
        `panelGrid: panel "${title}" is ${
          image.shape.join("x")
        }, expected ${h}x${w}`,
      );
    }
    const x0 = gap + (i % cols) * (pw + gap);
    const y0 = gap + Math.floor(i / cols) * (titleH + ph + gap);
    const tw = textWidth(title, fs);
    if (tw > pw) {
      throw new Error(`panelGrid: title "${title}" is wider than its panel`);
    }
    drawText(img, width, title, x0 + Math.floor((pw - tw) / 2), y0, fs);
    const src = T.astype(image, "float32").data as Float32Array;
    for (let y = 0; y < ph; y++) {
      const from = Math.floor(y / scale) * w,
        to = (y0 + titleH + y) * width + x0;
      for (let x = 0; x < pw; x++) {
        img[to + x] = src[from + Math.floor(x / scale)];
      }
    }
  });
  return T.tensor(img, { shape: [height, width] });
}
