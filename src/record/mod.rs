//! Recordings of the monitor: an asciicast (`.cast`) of the bytes it wrote, or an animated GIF
//! (`.gif`) rendered from its frames. The recorder consumes frames the monitor has drawn; it never
//! asks for extra ones.

pub mod cast;
pub mod chapters;
pub mod gif;
pub mod progress;
pub mod raster;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ratatui::buffer::Buffer;

use crate::error::Error;

use cast::CastRecorder;
use gif::GifRecorder;

/// The kinds of recording, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Cast,
    Gif,
}

/// A recording file, created before the run so a bad path fails before anything runs.
#[derive(Debug)]
pub struct Output {
    path: PathBuf,
    file: File,
    format: Format,
}

impl Output {
    /// Checks the extension and creates the file; errors name `--record`.
    pub fn create(path: &Path) -> Result<Self, Error> {
        let format = match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("cast") => Format::Cast,
            Some("gif") => Format::Gif,
            _ => return Err(Error::RecordFormat(path.to_path_buf())),
        };
        let file = File::create(path).map_err(|source| Error::Unwritable {
            option: "--record",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            format,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> Format {
        self.format
    }
}

enum Kind {
    Cast(CastRecorder),
    Gif(Box<GifRecorder>),
}

/// What a finished recording holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub path: PathBuf,
    pub frames: u64,
    pub bytes: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let size = if self.bytes >= 1_000_000 {
            format!("{:.1} MB", self.bytes as f64 / 1e6)
        } else {
            format!("{} kB", self.bytes.div_ceil(1000))
        };
        write!(
            f,
            "recorded {}: {} frames, {size}",
            self.path.display(),
            self.frames,
        )
    }
}

/// Takes the monitor's frames as they are drawn, timed from its start.
pub struct Recorder {
    kind: Kind,
    path: PathBuf,
    started: Instant,
}

impl Recorder {
    /// Starts recording a `width` x `height` screen into `output`.
    pub fn start(output: Output, width: u16, height: u16, title: &str) -> io::Result<Self> {
        let kind = match output.format {
            Format::Cast => Kind::Cast(CastRecorder::new(output.file, width, height, title)?),
            Format::Gif => Kind::Gif(Box::new(GifRecorder::new(output.file, width, height)?)),
        };
        Ok(Self {
            kind,
            path: output.path,
            started: Instant::now(),
        })
    }

    /// One drawn frame: its cells and the bytes the backend wrote for it.
    pub fn frame(&mut self, buffer: &Buffer, bytes: &[u8]) -> io::Result<()> {
        let t = self.started.elapsed();
        match &mut self.kind {
            Kind::Cast(cast) => cast.frame(bytes, (buffer.area.width, buffer.area.height), t),
            Kind::Gif(gif) => gif.frame(buffer, t),
        }
    }

    /// A chapter mark (a caption, a change of settings): casts keep it, GIFs have no place for it.
    pub fn marker(&mut self, label: &str) -> io::Result<()> {
        let t = self.started.elapsed();
        match &mut self.kind {
            Kind::Cast(cast) => cast.marker(label, t),
            Kind::Gif(_) => Ok(()),
        }
    }

    /// Completes the file.
    pub fn finish(self) -> io::Result<Summary> {
        let frames = match self.kind {
            Kind::Cast(cast) => cast.finish()?,
            Kind::Gif(gif) => gif.finish()?,
        };
        let bytes = std::fs::metadata(&self.path).map_or(0, |m| m.len());
        Ok(Summary {
            path: self.path,
            frames,
            bytes,
        })
    }
}

/// The writer under the monitor's backend: the terminal (or nothing, offscreen), plus a copy
/// of every byte for a cast recording.
pub struct Tee {
    terminal: Option<io::Stdout>,
    copy: Option<Copied>,
}

/// The bytes a [`Tee`] wrote and nobody has taken yet.
#[derive(Clone, Default)]
pub struct Copied(Arc<Mutex<Vec<u8>>>);

impl Copied {
    /// The bytes written since the last call.
    pub fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

impl Tee {
    /// Writes to stdout (or nowhere if not `terminal`); keeps a copy in `copy` if given.
    pub fn new(terminal: bool, copy: Option<Copied>) -> Self {
        Self {
            terminal: terminal.then(io::stdout),
            copy,
        }
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // After a forced exit began, the terminal gets only the way back (see `force_exit`).
        if let Some(terminal) = self
            .terminal
            .as_mut()
            .filter(|_| !crate::terminal::frozen())
        {
            terminal.write_all(buf)?;
        }
        if let Some(mut bytes) = self.copy.as_ref().and_then(|c| c.0.lock().ok()) {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match self
            .terminal
            .as_mut()
            .filter(|_| !crate::terminal::frozen())
        {
            Some(terminal) => terminal.flush(),
            None => Ok(()),
        }
    }
}
