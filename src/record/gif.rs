//! Animated GIF from drawn frames: each frame is rasterized cell by cell (only the cells that
//! changed), and written as the smallest rectangle of changed pixels, with unchanged pixels
//! transparent, over one global palette. Frames are sampled at most 10 times a second.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::raster::{CELL_H, CELL_W, DEFAULT_BG, Rasterizer, TRANSPARENT};

/// Frames closer together than this are skipped (the last one is kept for the end): about 10
/// frames a second, with room for a frame timer's jitter.
pub const MIN_FRAME_GAP: Duration = Duration::from_millis(90);
/// How long the last frame stays before the GIF loops.
const FINAL_HOLD: Duration = Duration::from_secs(4);

/// A frame drawn but not yet written: its delay is known only when the next one comes.
struct Pending {
    t: Duration,
    rect: PixelRect,
    pixels: Vec<u8>,
    opaque: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PixelRect {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

pub struct GifRecorder {
    encoder: gif::Encoder<BufWriter<File>>,
    raster: Rasterizer,
    area: Rect,
    width_px: usize,
    /// What a viewer sees once every written and pending frame has been shown.
    canvas: Vec<u8>,
    /// The cells of the last sampled frame.
    previous: Option<Buffer>,
    pending: Option<Pending>,
    last_sample: Option<Duration>,
    /// The newest frame that was skipped, so the recording ends on the final screen.
    skipped: Option<(Buffer, Duration)>,
    frames: u64,
}

impl GifRecorder {
    /// Starts a GIF of a `width` x `height` cell screen.
    pub fn new(file: File, width: u16, height: u16) -> io::Result<Self> {
        let raster = Rasterizer::new().map_err(io::Error::other)?;
        let (width_px, height_px) = (usize::from(width) * CELL_W, usize::from(height) * CELL_H);
        let dims = |px: usize| {
            u16::try_from(px).map_err(|_| io::Error::other("the screen is too large for a GIF"))
        };
        let flat: Vec<u8> = raster.palette().iter().flatten().copied().collect();
        let mut encoder = gif::Encoder::new(
            BufWriter::new(file),
            dims(width_px)?,
            dims(height_px)?,
            &flat,
        )
        .map_err(io::Error::other)?;
        encoder
            .set_repeat(gif::Repeat::Infinite)
            .map_err(io::Error::other)?;
        Ok(Self {
            encoder,
            raster,
            area: Rect::new(0, 0, width, height),
            width_px,
            canvas: vec![DEFAULT_BG; width_px * height_px],
            previous: None,
            pending: None,
            last_sample: None,
            skipped: None,
            frames: 0,
        })
    }

    /// Offers the screen as drawn at `t` (since the recording began).
    pub fn frame(&mut self, buffer: &Buffer, t: Duration) -> io::Result<()> {
        if self
            .last_sample
            .is_some_and(|last| t.saturating_sub(last) < MIN_FRAME_GAP)
        {
            self.skipped = Some((buffer.clone(), t));
            return Ok(());
        }
        self.sample(buffer, t)
    }

    /// Writes what is left and the GIF trailer; returns the frames written.
    pub fn finish(mut self) -> io::Result<u64> {
        if let Some((buffer, t)) = self.skipped.take() {
            self.sample(&buffer, t)?;
        }
        if let Some(pending) = self.pending.take() {
            let end = pending.t + FINAL_HOLD;
            self.write(pending, end)?;
        }
        let mut out = self.encoder.into_inner().map_err(io::Error::other)?;
        out.flush()?;
        Ok(self.frames)
    }

    fn sample(&mut self, buffer: &Buffer, t: Duration) -> io::Result<()> {
        self.last_sample = Some(t);
        self.skipped = None;
        let opaque = self.previous.is_none();
        let Some(frame) = self.changes(buffer, opaque) else {
            return Ok(());
        };
        self.previous = Some(buffer.clone());
        if let Some(pending) = self.pending.take() {
            self.write(pending, t)?;
        }
        self.pending = Some(Pending {
            t,
            rect: frame.0,
            pixels: frame.1,
            opaque,
        });
        Ok(())
    }

    /// The pixels that changed since the last sample: their bounding rectangle, with unchanged
    /// pixels inside it transparent (all pixels on the first frame). Updates the canvas.
    fn changes(&mut self, buffer: &Buffer, opaque: bool) -> Option<(PixelRect, Vec<u8>)> {
        let area = self.area.intersection(buffer.area);
        let cells = changed_cells(self.previous.as_ref(), buffer, area)?;
        let rect = PixelRect {
            left: usize::from(cells.x) * CELL_W,
            top: usize::from(cells.y) * CELL_H,
            width: usize::from(cells.width) * CELL_W,
            height: usize::from(cells.height) * CELL_H,
        };
        let mut pixels = vec![TRANSPARENT; rect.width * rect.height];
        let mut bounds = Bounds::default();
        for y in cells.top()..cells.bottom() {
            for x in cells.left()..cells.right() {
                let Some(cell) = buffer.cell((x, y)) else {
                    continue;
                };
                let tile = self.raster.tile(cell);
                let (px, py) = (usize::from(x) * CELL_W, usize::from(y) * CELL_H);
                for ty in 0..CELL_H {
                    let row = (py + ty) * self.width_px + px;
                    let out_row = (py + ty - rect.top) * rect.width + (px - rect.left);
                    for tx in 0..CELL_W {
                        let p = tile[ty * CELL_W + tx];
                        if opaque || self.canvas[row + tx] != p {
                            self.canvas[row + tx] = p;
                            pixels[out_row + tx] = p;
                            bounds.add(px + tx - rect.left, py + ty - rect.top);
                        }
                    }
                }
            }
        }
        if opaque {
            return Some((rect, pixels));
        }
        let tight = bounds.rect()?;
        let mut cropped = Vec::with_capacity(tight.width * tight.height);
        for y in tight.top..tight.top + tight.height {
            let start = y * rect.width + tight.left;
            cropped.extend_from_slice(&pixels[start..start + tight.width]);
        }
        let absolute = PixelRect {
            left: rect.left + tight.left,
            top: rect.top + tight.top,
            ..tight
        };
        Some((absolute, cropped))
    }

    fn write(&mut self, pending: Pending, until: Duration) -> io::Result<()> {
        // From the rounded times, so rounding errors do not add up over a long recording.
        let centis = |t: Duration| (t.as_millis() + 5) / 10;
        let delay_cs = centis(until)
            .saturating_sub(centis(pending.t))
            .clamp(2, 65_535) as u16;
        let frame = gif::Frame {
            delay: delay_cs,
            dispose: gif::DisposalMethod::Keep,
            transparent: (!pending.opaque).then_some(TRANSPARENT),
            left: pending.rect.left as u16,
            top: pending.rect.top as u16,
            width: pending.rect.width as u16,
            height: pending.rect.height as u16,
            buffer: std::borrow::Cow::Borrowed(&pending.pixels),
            ..gif::Frame::default()
        };
        self.encoder
            .write_frame(&frame)
            .map_err(|e| io::Error::other(format!("GIF encoding failed: {e}")))?;
        self.frames += 1;
        Ok(())
    }
}

/// The smallest rectangle of cells (within `area`) that differ from `previous`; all of `area`
/// when there is no previous frame or it had another size.
fn changed_cells(previous: Option<&Buffer>, buffer: &Buffer, area: Rect) -> Option<Rect> {
    let Some(previous) = previous.filter(|p| p.area == buffer.area) else {
        return (!area.is_empty()).then_some(area);
    };
    let mut bounds = Bounds::default();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if previous.cell((x, y)) != buffer.cell((x, y)) {
                bounds.add(usize::from(x), usize::from(y));
            }
        }
    }
    bounds
        .rect()
        .map(|r| Rect::new(r.left as u16, r.top as u16, r.width as u16, r.height as u16))
}

/// A growing bounding box of points.
#[derive(Default)]
struct Bounds(Option<(usize, usize, usize, usize)>);

impl Bounds {
    fn add(&mut self, x: usize, y: usize) {
        self.0 = Some(match self.0 {
            None => (x, y, x, y),
            Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
        });
    }

    fn rect(&self) -> Option<PixelRect> {
        self.0.map(|(x0, y0, x1, y1)| PixelRect {
            left: x0,
            top: y0,
            width: x1 - x0 + 1,
            height: y1 - y0 + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Style};

    fn decode(path: &std::path::Path) -> Vec<(u16, u16, u16, u16, u16)> {
        let mut options = gif::DecodeOptions::new();
        options.set_color_output(gif::ColorOutput::Indexed);
        let mut decoder = options.read_info(File::open(path).unwrap()).unwrap();
        let mut frames = Vec::new();
        while let Some(f) = decoder.read_next_frame().unwrap() {
            frames.push((f.left, f.top, f.width, f.height, f.delay));
        }
        frames
    }

    #[test]
    fn writes_only_what_changed_with_delays() {
        let path =
            std::env::temp_dir().join(format!("backlog-gif-unit-{}.gif", std::process::id()));
        let mut gif = GifRecorder::new(File::create(&path).unwrap(), 10, 3).unwrap();
        let mut buffer = Buffer::empty(Rect::new(0, 0, 10, 3));
        buffer.set_string(0, 0, "hello", Style::new().fg(Color::White));
        gif.frame(&buffer, Duration::ZERO).unwrap();
        // Too soon after the first: skipped, but kept for the end.
        buffer.set_string(2, 1, "x", Style::new());
        gif.frame(&buffer, Duration::from_millis(50)).unwrap();
        buffer.set_string(3, 1, "y", Style::new());
        gif.frame(&buffer, Duration::from_millis(300)).unwrap();
        // Unchanged: nothing new.
        gif.frame(&buffer, Duration::from_millis(500)).unwrap();
        assert_eq!(gif.finish().unwrap(), 2);
        let frames = decode(&path);
        std::fs::remove_file(&path).ok();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0], (0, 0, 90, 54, 30));
        let (left, top, width, height, delay) = frames[1];
        assert!(left >= 18 && left + width <= 36, "{:?}", frames[1]);
        assert!(top >= 18 && top + height <= 36, "{:?}", frames[1]);
        assert_eq!(delay, 400);
    }
}
