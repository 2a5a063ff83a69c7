//! Terminal cells to pixels for the GIF recorder: text from the bundled DejaVu Sans Mono (regular
//! and bold), box drawing, block elements and Braille as cell geometry (the font has no Braille,
//! and its box glyphs leave gaps between cells), colours from one fixed 256-colour palette.

use std::collections::HashMap;

use fontdue::{Font, FontSettings};
use ratatui::buffer::Cell;
use ratatui::style::{Color, Modifier};

/// Pixel size of one terminal cell.
pub const CELL_W: usize = 9;
pub const CELL_H: usize = 18;
/// Font size that fills a 9x18 cell (DejaVu Sans Mono advances 0.602 em, spans 1.164 em).
const FONT_PX: f32 = 15.0;

static REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSansMono-Bold.ttf");

/// Palette index no cell colour maps to: unchanged pixels in a frame.
pub const TRANSPARENT: u8 = 255;
/// The screen's own foreground and background (`Color::Reset`).
pub const DEFAULT_FG: u8 = 252;
pub const DEFAULT_BG: u8 = 234;

/// The 16 ANSI colours (a dark theme that reads well on a web page), then xterm's 6x6x6 cube and
/// grey ramp. Shared by every frame as the GIF's global palette.
pub fn palette() -> [[u8; 3]; 256] {
    const ANSI: [[u8; 3]; 16] = [
        [0x00, 0x00, 0x00],
        [0xcd, 0x31, 0x31],
        [0x0d, 0xbc, 0x79],
        [0xe5, 0xe5, 0x10],
        [0x24, 0x72, 0xc8],
        [0xbc, 0x3f, 0xbc],
        [0x11, 0xa8, 0xcd],
        [0xcc, 0xcc, 0xcc],
        [0x76, 0x76, 0x76],
        [0xf1, 0x4c, 0x4c],
        [0x23, 0xd1, 0x8b],
        [0xf5, 0xf5, 0x43],
        [0x3b, 0x8e, 0xea],
        [0xd6, 0x70, 0xd6],
        [0x29, 0xb8, 0xdb],
        [0xf2, 0xf2, 0xf2],
    ];
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let mut p = [[0u8; 3]; 256];
    p[..16].copy_from_slice(&ANSI);
    for i in 0..216 {
        p[16 + i] = [LEVELS[i / 36], LEVELS[i / 6 % 6], LEVELS[i % 6]];
    }
    for i in 0..24 {
        let v = 8 + 10 * i as u8;
        p[232 + i] = [v, v, v];
    }
    p
}

/// Palette index of a ratatui colour; `Reset` is the screen's default for that role.
pub fn color_index(color: Color, default: u8, palette: &[[u8; 3]; 256]) -> u8 {
    match color {
        Color::Reset => default,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(TRANSPARENT) => TRANSPARENT - 1,
        Color::Indexed(i) => i,
        Color::Rgb(r, g, b) => nearest(palette, [r, g, b]),
    }
}

/// The palette entry closest to `rgb` (never [`TRANSPARENT`]).
fn nearest(palette: &[[u8; 3]; 256], rgb: [u8; 3]) -> u8 {
    let distance = |p: &[u8; 3]| {
        (0..3)
            .map(|i| {
                let d = i32::from(p[i]) - i32::from(rgb[i]);
                d * d
            })
            .sum::<i32>()
    };
    (0..TRANSPARENT)
        .min_by_key(|&i| distance(&palette[usize::from(i)]))
        .unwrap_or(0)
}

/// How a cell looks, reduced to what changes its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TileKey {
    symbol: char,
    fg: u8,
    bg: u8,
    bold: bool,
    underline: bool,
}

/// Draws cells as palette-indexed tiles of CELL_W x CELL_H, caching every tile and glyph.
pub struct Rasterizer {
    regular: Font,
    bold: Font,
    /// Baseline, pixels from the top of a cell.
    baseline: f32,
    palette: [[u8; 3]; 256],
    masks: HashMap<(char, bool), Box<[u8]>>,
    tiles: HashMap<TileKey, Box<[u8]>>,
}

impl Rasterizer {
    pub fn new() -> Result<Self, String> {
        let load = |bytes: &'static [u8]| {
            Font::from_bytes(
                bytes,
                FontSettings {
                    scale: FONT_PX,
                    ..FontSettings::default()
                },
            )
            .map_err(|e| format!("cannot load the bundled font: {e}"))
        };
        let regular = load(REGULAR)?;
        let bold = load(BOLD)?;
        let (ascent, descent) = regular
            .horizontal_line_metrics(FONT_PX)
            .map_or((FONT_PX * 0.93, -FONT_PX * 0.24), |m| (m.ascent, m.descent));
        let baseline = ((CELL_H as f32 - (ascent - descent)) / 2.0 + ascent).round();
        Ok(Self {
            regular,
            bold,
            baseline,
            palette: palette(),
            masks: HashMap::new(),
            tiles: HashMap::new(),
        })
    }

    pub fn palette(&self) -> &[[u8; 3]; 256] {
        &self.palette
    }

    /// The cell's pixels, CELL_W x CELL_H palette indices, row by row.
    pub fn tile(&mut self, cell: &Cell) -> &[u8] {
        let key = self.key(cell);
        if !self.tiles.contains_key(&key) {
            let tile = self.draw_tile(key);
            self.tiles.insert(key, tile);
        }
        &self.tiles[&key]
    }

    fn key(&self, cell: &Cell) -> TileKey {
        let m = cell.modifier;
        let mut fg = color_index(cell.fg, DEFAULT_FG, &self.palette);
        let mut bg = color_index(cell.bg, DEFAULT_BG, &self.palette);
        if m.contains(Modifier::REVERSED) {
            std::mem::swap(&mut fg, &mut bg);
        }
        if m.contains(Modifier::DIM) {
            fg = self.blend(fg, bg, 2);
        }
        if m.contains(Modifier::HIDDEN) {
            fg = bg;
        }
        TileKey {
            symbol: cell.symbol().chars().next().unwrap_or(' '),
            fg,
            bg,
            bold: m.contains(Modifier::BOLD),
            underline: m.contains(Modifier::UNDERLINED),
        }
    }

    fn draw_tile(&mut self, key: TileKey) -> Box<[u8]> {
        // Coverage is quantised to 5 levels: antialiased edges, few distinct colours (small GIFs).
        let shades: [u8; 5] = std::array::from_fn(|level| self.blend(key.fg, key.bg, level as u8));
        let mask = self.mask(key.symbol, key.bold);
        let mut tile: Box<[u8]> = mask
            .iter()
            .map(|&c| shades[(usize::from(c) * 4 + 127) / 255])
            .collect();
        if key.underline {
            let row = CELL_H - 2;
            tile[row * CELL_W..(row + 1) * CELL_W].fill(key.fg);
        }
        tile
    }

    /// fg over bg at `level` quarters of coverage, as the nearest palette entry.
    fn blend(&self, fg: u8, bg: u8, level: u8) -> u8 {
        match level {
            0 => bg,
            4.. => fg,
            _ => {
                let (f, b) = (self.palette[usize::from(fg)], self.palette[usize::from(bg)]);
                let mix = |i: usize| {
                    ((u32::from(f[i]) * u32::from(level)
                        + u32::from(b[i]) * (4 - u32::from(level)))
                        / 4) as u8
                };
                nearest(&self.palette, [mix(0), mix(1), mix(2)])
            }
        }
    }

    /// Coverage (0..=255) of a symbol over the cell.
    fn mask(&mut self, symbol: char, bold: bool) -> &[u8] {
        if !self.masks.contains_key(&(symbol, bold)) {
            let mask = geometry(symbol).unwrap_or_else(|| self.glyph(symbol, bold));
            self.masks.insert((symbol, bold), mask);
        }
        &self.masks[&(symbol, bold)]
    }

    /// A font glyph placed on the baseline, centred in the cell and clipped to it. A character
    /// neither font has becomes a hollow box.
    fn glyph(&self, symbol: char, bold: bool) -> Box<[u8]> {
        let mut mask = vec![0u8; CELL_W * CELL_H].into_boxed_slice();
        if symbol.is_whitespace() || symbol.is_control() {
            return mask;
        }
        let (first, second) = if bold {
            (&self.bold, &self.regular)
        } else {
            (&self.regular, &self.bold)
        };
        let Some(font) = [first, second].into_iter().find(|f| f.has_glyph(symbol)) else {
            outline(&mut mask, 1, 4, CELL_W - 2, CELL_H - 5);
            return mask;
        };
        let (metrics, bitmap) = font.rasterize(symbol, FONT_PX);
        let left = metrics.xmin + ((CELL_W as f32 - metrics.advance_width) / 2.0).round() as i32;
        let top = self.baseline as i32 - (metrics.height as i32 + metrics.ymin);
        for gy in 0..metrics.height {
            for gx in 0..metrics.width {
                let (x, y) = (left + gx as i32, top + gy as i32);
                if (0..CELL_W as i32).contains(&x) && (0..CELL_H as i32).contains(&y) {
                    mask[y as usize * CELL_W + x as usize] = bitmap[gy * metrics.width + gx];
                }
            }
        }
        mask
    }
}

/// Box drawing, blocks and Braille, drawn as shapes that fill the cell to its edges (so lines
/// and bars join across cells), or `None` for ordinary text.
fn geometry(symbol: char) -> Option<Box<[u8]>> {
    let code = u32::from(symbol);
    let mut mask = vec![0u8; CELL_W * CELL_H].into_boxed_slice();
    match code {
        0x2500..=0x257F => box_drawing(&mut mask, code - 0x2500),
        0x2580..=0x259F => block(&mut mask, code - 0x2580),
        0x2800..=0x28FF => braille(&mut mask, (code - 0x2800) as u8),
        _ => return None,
    }
    Some(mask)
}

/// Fills x0..x1, y0..y1 (clipped) with `value`.
fn fill(mask: &mut [u8], x0: i32, y0: i32, x1: i32, y1: i32, value: u8) {
    let (x0, x1) = (x0.max(0) as usize, (x1.max(0) as usize).min(CELL_W));
    let (y0, y1) = (y0.max(0) as usize, (y1.max(0) as usize).min(CELL_H));
    for y in y0..y1 {
        for x in x0..x1.max(x0) {
            mask[y * CELL_W + x] = value;
        }
    }
}

fn outline(mask: &mut [u8], x: usize, y: usize, w: usize, h: usize) {
    let (x, y, w, h) = (x as i32, y as i32, w as i32, h as i32);
    fill(mask, x, y, x + w, y + 1, 255);
    fill(mask, x, y + h - 1, x + w, y + h, 255);
    fill(mask, x, y, x + 1, y + h, 255);
    fill(mask, x + w - 1, y, x + w, y + h, 255);
}

/// Arms of each box-drawing character U+2500..=U+257F: up, right, down, left
/// (0 none, 1 light, 2 heavy, 3 double), then the dash count (0 solid).
/// Generated from the Unicode character names.
const BOX_ARMS: [[u8; 5]; 128] = [
    [0, 1, 0, 1, 0], // ─ U+2500
    [0, 2, 0, 2, 0], // ━ U+2501
    [1, 0, 1, 0, 0], // │ U+2502
    [2, 0, 2, 0, 0], // ┃ U+2503
    [0, 1, 0, 1, 3], // ┄ U+2504
    [0, 2, 0, 2, 3], // ┅ U+2505
    [1, 0, 1, 0, 3], // ┆ U+2506
    [2, 0, 2, 0, 3], // ┇ U+2507
    [0, 1, 0, 1, 4], // ┈ U+2508
    [0, 2, 0, 2, 4], // ┉ U+2509
    [1, 0, 1, 0, 4], // ┊ U+250A
    [2, 0, 2, 0, 4], // ┋ U+250B
    [0, 1, 1, 0, 0], // ┌ U+250C
    [0, 2, 1, 0, 0], // ┍ U+250D
    [0, 1, 2, 0, 0], // ┎ U+250E
    [0, 2, 2, 0, 0], // ┏ U+250F
    [0, 0, 1, 1, 0], // ┐ U+2510
    [0, 0, 1, 2, 0], // ┑ U+2511
    [0, 0, 2, 1, 0], // ┒ U+2512
    [0, 0, 2, 2, 0], // ┓ U+2513
    [1, 1, 0, 0, 0], // └ U+2514
    [1, 2, 0, 0, 0], // ┕ U+2515
    [2, 1, 0, 0, 0], // ┖ U+2516
    [2, 2, 0, 0, 0], // ┗ U+2517
    [1, 0, 0, 1, 0], // ┘ U+2518
    [1, 0, 0, 2, 0], // ┙ U+2519
    [2, 0, 0, 1, 0], // ┚ U+251A
    [2, 0, 0, 2, 0], // ┛ U+251B
    [1, 1, 1, 0, 0], // ├ U+251C
    [1, 2, 1, 0, 0], // ┝ U+251D
    [2, 1, 1, 0, 0], // ┞ U+251E
    [1, 1, 2, 0, 0], // ┟ U+251F
    [2, 1, 2, 0, 0], // ┠ U+2520
    [2, 2, 1, 0, 0], // ┡ U+2521
    [1, 2, 2, 0, 0], // ┢ U+2522
    [2, 2, 2, 0, 0], // ┣ U+2523
    [1, 0, 1, 1, 0], // ┤ U+2524
    [1, 0, 1, 2, 0], // ┥ U+2525
    [2, 0, 1, 1, 0], // ┦ U+2526
    [1, 0, 2, 1, 0], // ┧ U+2527
    [2, 0, 2, 1, 0], // ┨ U+2528
    [2, 0, 1, 2, 0], // ┩ U+2529
    [1, 0, 2, 2, 0], // ┪ U+252A
    [2, 0, 2, 2, 0], // ┫ U+252B
    [0, 1, 1, 1, 0], // ┬ U+252C
    [0, 1, 1, 2, 0], // ┭ U+252D
    [0, 2, 1, 1, 0], // ┮ U+252E
    [0, 2, 1, 2, 0], // ┯ U+252F
    [0, 1, 2, 1, 0], // ┰ U+2530
    [0, 1, 2, 2, 0], // ┱ U+2531
    [0, 2, 2, 1, 0], // ┲ U+2532
    [0, 2, 2, 2, 0], // ┳ U+2533
    [1, 1, 0, 1, 0], // ┴ U+2534
    [1, 1, 0, 2, 0], // ┵ U+2535
    [1, 2, 0, 1, 0], // ┶ U+2536
    [1, 2, 0, 2, 0], // ┷ U+2537
    [2, 1, 0, 1, 0], // ┸ U+2538
    [2, 1, 0, 2, 0], // ┹ U+2539
    [2, 2, 0, 1, 0], // ┺ U+253A
    [2, 2, 0, 2, 0], // ┻ U+253B
    [1, 1, 1, 1, 0], // ┼ U+253C
    [1, 1, 1, 2, 0], // ┽ U+253D
    [1, 2, 1, 1, 0], // ┾ U+253E
    [1, 2, 1, 2, 0], // ┿ U+253F
    [2, 1, 1, 1, 0], // ╀ U+2540
    [1, 1, 2, 1, 0], // ╁ U+2541
    [2, 1, 2, 1, 0], // ╂ U+2542
    [2, 1, 1, 2, 0], // ╃ U+2543
    [2, 2, 1, 1, 0], // ╄ U+2544
    [1, 1, 2, 2, 0], // ╅ U+2545
    [1, 2, 2, 1, 0], // ╆ U+2546
    [2, 2, 1, 2, 0], // ╇ U+2547
    [1, 2, 2, 2, 0], // ╈ U+2548
    [2, 1, 2, 2, 0], // ╉ U+2549
    [2, 2, 2, 1, 0], // ╊ U+254A
    [2, 2, 2, 2, 0], // ╋ U+254B
    [0, 1, 0, 1, 2], // ╌ U+254C
    [0, 2, 0, 2, 2], // ╍ U+254D
    [1, 0, 1, 0, 2], // ╎ U+254E
    [2, 0, 2, 0, 2], // ╏ U+254F
    [0, 3, 0, 3, 0], // ═ U+2550
    [3, 0, 3, 0, 0], // ║ U+2551
    [0, 3, 1, 0, 0], // ╒ U+2552
    [0, 1, 3, 0, 0], // ╓ U+2553
    [0, 3, 3, 0, 0], // ╔ U+2554
    [0, 0, 1, 3, 0], // ╕ U+2555
    [0, 0, 3, 1, 0], // ╖ U+2556
    [0, 0, 3, 3, 0], // ╗ U+2557
    [1, 3, 0, 0, 0], // ╘ U+2558
    [3, 1, 0, 0, 0], // ╙ U+2559
    [3, 3, 0, 0, 0], // ╚ U+255A
    [1, 0, 0, 3, 0], // ╛ U+255B
    [3, 0, 0, 1, 0], // ╜ U+255C
    [3, 0, 0, 3, 0], // ╝ U+255D
    [1, 3, 1, 0, 0], // ╞ U+255E
    [3, 1, 3, 0, 0], // ╟ U+255F
    [3, 3, 3, 0, 0], // ╠ U+2560
    [1, 0, 1, 3, 0], // ╡ U+2561
    [3, 0, 3, 1, 0], // ╢ U+2562
    [3, 0, 3, 3, 0], // ╣ U+2563
    [0, 3, 1, 3, 0], // ╤ U+2564
    [0, 1, 3, 1, 0], // ╥ U+2565
    [0, 3, 3, 3, 0], // ╦ U+2566
    [1, 3, 0, 3, 0], // ╧ U+2567
    [3, 1, 0, 1, 0], // ╨ U+2568
    [3, 3, 0, 3, 0], // ╩ U+2569
    [1, 3, 1, 3, 0], // ╪ U+256A
    [3, 1, 3, 1, 0], // ╫ U+256B
    [3, 3, 3, 3, 0], // ╬ U+256C
    [0, 1, 1, 0, 0], // ╭ U+256D
    [0, 0, 1, 1, 0], // ╮ U+256E
    [1, 0, 0, 1, 0], // ╯ U+256F
    [1, 1, 0, 0, 0], // ╰ U+2570
    [0, 0, 0, 0, 0], // ╱ U+2571
    [0, 0, 0, 0, 0], // ╲ U+2572
    [0, 0, 0, 0, 0], // ╳ U+2573
    [0, 0, 0, 1, 0], // ╴ U+2574
    [1, 0, 0, 0, 0], // ╵ U+2575
    [0, 1, 0, 0, 0], // ╶ U+2576
    [0, 0, 1, 0, 0], // ╷ U+2577
    [0, 0, 0, 2, 0], // ╸ U+2578
    [2, 0, 0, 0, 0], // ╹ U+2579
    [0, 2, 0, 0, 0], // ╺ U+257A
    [0, 0, 2, 0, 0], // ╻ U+257B
    [0, 2, 0, 1, 0], // ╼ U+257C
    [1, 0, 2, 0, 0], // ╽ U+257D
    [0, 1, 0, 2, 0], // ╾ U+257E
    [2, 0, 1, 0, 0], // ╿ U+257F
];

/// Arm weights (light is 1).
const HEAVY: u8 = 2;
const DOUBLE: u8 = 3;

fn box_drawing(mask: &mut [u8], index: u32) {
    let (w, h) = (CELL_W as i32, CELL_H as i32);
    let (cx, cy) = (w / 2, h / 2);
    // Diagonals: one pixel per row.
    if (0x71..=0x73).contains(&index) {
        for y in 0..h {
            let x = (y * w + w / 2) / h;
            if index != 0x72 {
                fill(mask, w - 1 - x, y, w - x, y + 1, 255);
            }
            if index != 0x71 {
                fill(mask, x, y, x + 1, y + 1, 255);
            }
        }
        return;
    }
    let [up, right, down, left, dashes] = BOX_ARMS[index as usize];
    let half = |arm: u8| i32::from(arm == HEAVY);
    // Single and heavy arms run from the edge to the far side of the crossing line.
    let reach_v = half(left).max(half(right));
    let reach_h = half(up).max(half(down));
    let double_h = left == DOUBLE || right == DOUBLE;
    let double_v = up == DOUBLE || down == DOUBLE;
    let mut vertical = |arm: u8, downward: bool| {
        let (y0, y1) = if downward {
            (cy - reach_v, h)
        } else {
            (0, cy + reach_v + 1)
        };
        match arm {
            0 => {}
            DOUBLE => {
                for side in [-1, 1] {
                    // A line on the side of a crossing double line stops short of it (inner
                    // corner); the other one runs past it (outer corner).
                    let crossing = if side < 0 { left } else { right } == DOUBLE;
                    let stop = if crossing {
                        -2
                    } else if double_h {
                        2
                    } else {
                        0
                    };
                    let (a, b) = if downward {
                        (cy - stop, h)
                    } else {
                        (0, cy + stop + 1)
                    };
                    let (a, b) = if double_h {
                        (a, b)
                    } else {
                        (y0.min(a), y1.max(b))
                    };
                    let x = cx + 2 * side;
                    fill(mask, x, a, x + 1, b, 255);
                }
            }
            _ => {
                let t = half(arm);
                fill(mask, cx - t, y0, cx + t + 1, y1, 255);
            }
        }
    };
    vertical(up, false);
    vertical(down, true);
    let mut horizontal = |arm: u8, rightward: bool| {
        let (x0, x1) = if rightward {
            (cx - reach_h, w)
        } else {
            (0, cx + reach_h + 1)
        };
        match arm {
            0 => {}
            DOUBLE => {
                for side in [-1, 1] {
                    let crossing = if side < 0 { up } else { down } == DOUBLE;
                    let stop = if crossing {
                        -2
                    } else if double_v {
                        2
                    } else {
                        0
                    };
                    let (a, b) = if rightward {
                        (cx - stop, w)
                    } else {
                        (0, cx + stop + 1)
                    };
                    let (a, b) = if double_v {
                        (a, b)
                    } else {
                        (x0.min(a), x1.max(b))
                    };
                    let y = cy + 2 * side;
                    fill(mask, a, y, b, y + 1, 255);
                }
            }
            _ => {
                let t = half(arm);
                fill(mask, x0, cy - t, x1, cy + t + 1, 255);
            }
        }
    };
    horizontal(left, false);
    horizontal(right, true);
    if dashes > 0 {
        cut_dashes(mask, dashes, up != 0 || down != 0);
    }
}

/// Clears the gaps of a dashed line: `dashes` dashes along the cell.
fn cut_dashes(mask: &mut [u8], dashes: u8, vertical: bool) {
    let length = if vertical { CELL_H } else { CELL_W };
    let period = length as f32 / f32::from(dashes);
    for i in 0..length {
        let phase = (i as f32 % period) / period;
        if phase >= 0.65 {
            if vertical {
                mask[i * CELL_W..(i + 1) * CELL_W].fill(0);
            } else {
                for y in 0..CELL_H {
                    mask[y * CELL_W + i] = 0;
                }
            }
        }
    }
}

/// U+2580..=U+259F: halves, eighths, shades and quadrants.
fn block(mask: &mut [u8], index: u32) {
    let (w, h) = (CELL_W as i32, CELL_H as i32);
    let eighth_h = |k: i32| (h * k + 4) / 8;
    let eighth_w = |k: i32| (w * k + 4) / 8;
    let (mx, my) = (w / 2, h / 2);
    let quadrants = |mask: &mut [u8], ul: bool, ur: bool, ll: bool, lr: bool| {
        for (on, x0, y0, x1, y1) in [
            (ul, 0, 0, mx, my),
            (ur, mx, 0, w, my),
            (ll, 0, my, mx, h),
            (lr, mx, my, w, h),
        ] {
            if on {
                fill(mask, x0, y0, x1, y1, 255);
            }
        }
    };
    match index {
        0x00 => fill(mask, 0, 0, w, my, 255),
        0x01..=0x08 => fill(mask, 0, h - eighth_h(index as i32), w, h, 255),
        0x09..=0x0F => fill(mask, 0, 0, eighth_w(16 - index as i32), h, 255),
        0x10 => fill(mask, mx, 0, w, h, 255),
        0x11 => fill(mask, 0, 0, w, h, 64),
        0x12 => fill(mask, 0, 0, w, h, 128),
        0x13 => fill(mask, 0, 0, w, h, 191),
        0x14 => fill(mask, 0, 0, w, eighth_h(1), 255),
        0x15 => fill(mask, w - eighth_w(1), 0, w, h, 255),
        0x16 => quadrants(mask, false, false, true, false),
        0x17 => quadrants(mask, false, false, false, true),
        0x18 => quadrants(mask, true, false, false, false),
        0x19 => quadrants(mask, true, false, true, true),
        0x1A => quadrants(mask, true, false, false, true),
        0x1B => quadrants(mask, true, true, true, false),
        0x1C => quadrants(mask, true, true, false, true),
        0x1D => quadrants(mask, false, true, false, false),
        0x1E => quadrants(mask, false, true, true, false),
        _ => quadrants(mask, false, true, true, true),
    }
}

/// U+2800..=U+28FF: a 2x4 grid of dots, one bit each (dots 1-3 and 7 on the left, top down;
/// 4-6 and 8 on the right).
fn braille(mask: &mut [u8], bits: u8) {
    const DOTS: [(i32, i32); 8] = [
        (0, 0),
        (0, 1),
        (0, 2),
        (1, 0),
        (1, 1),
        (1, 2),
        (0, 3),
        (1, 3),
    ];
    let (w, h) = (CELL_W as i32, CELL_H as i32);
    for (bit, (col, row)) in DOTS.iter().enumerate() {
        if bits & (1 << bit) == 0 {
            continue;
        }
        // Dots of about 3x3 pixels, centred in their eighth of the cell.
        let cx = (w * (2 * col + 1)) / 4;
        let cy = (h * (2 * row + 1)) / 8;
        fill(mask, cx - 1, cy - 1, cx + 2, cy + 2, 255);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::Style;

    fn cell(symbol: &str, style: Style) -> Cell {
        let mut cell = Cell::default();
        cell.set_symbol(symbol).set_style(style);
        cell
    }

    fn count(tile: &[u8], index: u8) -> usize {
        tile.iter().filter(|&&p| p == index).count()
    }

    #[test]
    fn a_letter_has_ink_and_background() {
        let mut r = Rasterizer::new().unwrap();
        let tile = r.tile(&cell("A", Style::new().fg(Color::White))).to_vec();
        assert!(count(&tile, 15) > 10, "ink");
        assert!(count(&tile, DEFAULT_BG) > 60, "background");
        let space = r.tile(&cell(" ", Style::new().bg(Color::Blue))).to_vec();
        assert_eq!(count(&space, 4), CELL_W * CELL_H);
    }

    #[test]
    fn lines_reach_the_cell_edges() {
        let mut r = Rasterizer::new().unwrap();
        let h = r.tile(&cell("─", Style::new().fg(Color::White))).to_vec();
        let row = CELL_H / 2;
        assert!(h[row * CELL_W..(row + 1) * CELL_W].iter().all(|&p| p == 15));
        let v = r.tile(&cell("│", Style::new().fg(Color::White))).to_vec();
        assert!((0..CELL_H).all(|y| v[y * CELL_W + CELL_W / 2] == 15));
        let full = r.tile(&cell("█", Style::new().fg(Color::Red))).to_vec();
        assert_eq!(count(&full, 1), CELL_W * CELL_H);
    }

    #[test]
    fn braille_dots_are_drawn() {
        let mut r = Rasterizer::new().unwrap();
        let one = r.tile(&cell("⠁", Style::new().fg(Color::White))).to_vec();
        let all = r.tile(&cell("⣿", Style::new().fg(Color::White))).to_vec();
        assert_eq!(count(&one, 15), 9);
        assert_eq!(count(&all, 15), 72);
        // Dot 1 is top left.
        assert_eq!(one[CELL_W * 2 + 2], 15);
    }

    #[test]
    fn every_symbol_the_monitor_uses_has_a_glyph() {
        let r = Rasterizer::new().unwrap();
        for c in "●○×■·▲▼↓↑←→‖✓✗⚠◂≥≤ρλµ…•".chars() {
            assert!(
                r.regular.has_glyph(c) || r.bold.has_glyph(c),
                "no glyph for {c}"
            );
        }
    }
}
