//! asciicast v2 (what `asciinema play` replays): a JSON header line, then one `[time, "o", text]`
//! line per frame holding exactly the bytes the monitor's backend wrote for it.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use serde::Serialize;

#[derive(Serialize)]
struct Header<'a> {
    version: u8,
    width: u16,
    height: u16,
    timestamp: u64,
    title: &'a str,
    env: Env,
}

#[derive(Serialize)]
struct Env {
    #[serde(rename = "TERM")]
    term: &'static str,
    #[serde(rename = "SHELL")]
    shell: &'static str,
}

pub struct CastRecorder {
    out: BufWriter<File>,
    size: (u16, u16),
    frames: u64,
}

impl CastRecorder {
    /// Writes the header for a `width` x `height` screen.
    pub fn new(file: File, width: u16, height: u16, title: &str) -> io::Result<Self> {
        let mut out = BufWriter::new(file);
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let header = Header {
            version: 2,
            width,
            height,
            timestamp,
            title,
            env: Env {
                term: "xterm-256color",
                shell: "/bin/sh",
            },
        };
        serde_json::to_writer(&mut out, &header).map_err(io::Error::other)?;
        writeln!(out)?;
        Ok(Self {
            out,
            size: (width, height),
            frames: 0,
        })
    }

    /// One frame: the terminal output `bytes` at `t`; a resize event first if the size changed.
    pub fn frame(&mut self, bytes: &[u8], size: (u16, u16), t: Duration) -> io::Result<()> {
        let t = t.as_secs_f64();
        if size != self.size {
            self.size = size;
            writeln!(self.out, "[{t:.6}, \"r\", \"{}x{}\"]", size.0, size.1)?;
        }
        if bytes.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(bytes);
        let text = serde_json::to_string(&text).map_err(io::Error::other)?;
        writeln!(self.out, "[{t:.6}, \"o\", {text}]")?;
        self.frames += 1;
        Ok(())
    }

    /// A marker (`[t, "m", label]`): a chapter in asciinema's player.
    pub fn marker(&mut self, label: &str, t: Duration) -> io::Result<()> {
        let label = serde_json::to_string(label).map_err(io::Error::other)?;
        writeln!(self.out, "[{:.6}, \"m\", {label}]", t.as_secs_f64())
    }

    pub fn finish(mut self) -> io::Result<u64> {
        self.out.flush()?;
        Ok(self.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_events() {
        let path =
            std::env::temp_dir().join(format!("backlog-cast-unit-{}.cast", std::process::id()));
        let mut cast = CastRecorder::new(File::create(&path).unwrap(), 80, 24, "t").unwrap();
        cast.frame(
            b"\x1b[1;1Hhi \"there\"",
            (80, 24),
            Duration::from_millis(1500),
        )
        .unwrap();
        cast.frame(b"", (100, 30), Duration::from_secs(2)).unwrap();
        assert_eq!(cast.finish().unwrap(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["version"], 2);
        assert_eq!(lines[0]["width"], 80);
        assert_eq!(lines[1][0], 1.5);
        assert_eq!(lines[1][1], "o");
        assert_eq!(lines[1][2], "\u{1b}[1;1Hhi \"there\"");
        assert_eq!(lines[2][1], "r");
        assert_eq!(lines[2][2], "100x30");
    }
}
