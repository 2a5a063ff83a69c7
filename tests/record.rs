//! Recordings made offscreen (no terminal, stdin closed): the asciicast is valid v2 and replays
//! to the monitor's final screen; the GIF decodes, has the screen's size in pixels, several
//! frames, and text drawn in the screen's colours. Bad recording options exit 2 before a run.

use std::fs::File;
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::process::Output;

use backlog::record::raster::{CELL_H, CELL_W};

#[path = "common/run.rs"]
mod run;
use run::backlog;

/// Recordings take turns: the GIF's rasterizing keeps a core busy, and the timing checks below
/// measure frames against the wall clock.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("backlog-record-{}-{name}", std::process::id()))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn offscreen_cast_is_asciicast_v2_and_replays_to_the_final_screen() {
    let _serial = timing();
    let path = temp("seed.cast");
    let out = backlog(&[
        "--scenario",
        "seed",
        "--speed",
        "10",
        "--offscreen",
        "--size",
        "100x30",
        "--record",
        path.to_str().unwrap(),
        "--exit-when-done",
    ]);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::remove_file(&path).ok();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "offscreen wrote to stdout");
    assert!(stderr(&out).contains("recorded "), "{}", stderr(&out));

    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], 100);
    assert_eq!(header["height"], 30);
    assert!(header["timestamp"].is_u64());

    let size = |n| NonZeroU16::new(n).unwrap();
    let mut screen = vt100::Parser::new(size(30), size(100), 0);
    let mut last_t = 0.0;
    let mut events = 0;
    let mut saw_caption = false;
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = event[0].as_f64().expect("time");
        assert!(t >= last_t, "time goes forward");
        last_t = t;
        // Markers (chapters at captions and changes) are not output.
        if event[1] == "m" {
            continue;
        }
        assert_eq!(event[1], "o");
        let data = event[2].as_str().expect("data");
        screen.process(data.as_bytes());
        saw_caption |= screen
            .screen()
            .contents()
            .contains("One event a second, 5 s of work");
        events += 1;
    }
    assert!(events >= 10, "{events} frames");
    // About the run's wall time: 15 s of model time at speed 10.
    assert!((1.0..10.0).contains(&last_t), "last frame at {last_t}s");
    assert!(saw_caption, "the caption banner never showed");
    let last = screen.screen().contents();
    for title in ["Queue", "Source", "Latency", "Theory", "finished"] {
        assert!(
            last.contains(title),
            "no {title} on the final screen:\n{last}"
        );
    }
    assert!(last.contains("10 completed"), "{last}");
}

/// Decoded frames painted one over another, as a viewer sees them: RGBA per frame.
fn play_gif(path: &PathBuf) -> (u16, u16, Vec<Vec<u8>>, Vec<u16>) {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(File::open(path).unwrap()).unwrap();
    let (width, height) = (decoder.width(), decoder.height());
    let mut canvas = vec![0u8; usize::from(width) * usize::from(height) * 4];
    let (mut screens, mut delays) = (Vec::new(), Vec::new());
    while let Some(frame) = decoder.read_next_frame().unwrap() {
        for y in 0..usize::from(frame.height) {
            for x in 0..usize::from(frame.width) {
                let src = (y * usize::from(frame.width) + x) * 4;
                if frame.buffer[src + 3] == 0 {
                    continue; // transparent: the pixel did not change
                }
                let (cx, cy) = (usize::from(frame.left) + x, usize::from(frame.top) + y);
                let dst = (cy * usize::from(width) + cx) * 4;
                canvas[dst..dst + 4].copy_from_slice(&frame.buffer[src..src + 4]);
            }
        }
        screens.push(canvas.clone());
        delays.push(frame.delay);
    }
    (width, height, screens, delays)
}

/// The distinct colours in a cell of a painted screen.
fn cell_colours(screen: &[u8], width: u16, col: usize, row: usize) -> Vec<[u8; 3]> {
    let mut colours = Vec::new();
    for y in row * CELL_H..(row + 1) * CELL_H {
        for x in col * CELL_W..(col + 1) * CELL_W {
            let i = (y * usize::from(width) + x) * 4;
            let c = [screen[i], screen[i + 1], screen[i + 2]];
            if !colours.contains(&c) {
                colours.push(c);
            }
        }
    }
    colours
}

#[test]
fn offscreen_gif_decodes_with_frames_of_the_screen_and_text_drawn() {
    let _serial = timing();
    let path = temp("seed.gif");
    let out = backlog(&[
        "--scenario",
        "seed",
        "--speed",
        "10",
        "--offscreen",
        "--size",
        "100x30",
        "--record",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let size = std::fs::metadata(&path).unwrap().len();
    let (width, height, screens, delays) = play_gif(&path);
    std::fs::remove_file(&path).ok();
    assert_eq!(
        (usize::from(width), usize::from(height)),
        (100 * CELL_W, 30 * CELL_H)
    );
    assert!(screens.len() >= 5, "{} frames", screens.len());
    assert!(size < 1_000_000, "{size} bytes for a 1.5 s run");
    // About 10 frames a second, and the last one stays a while. The frame before the last may
    // be short: the run's end is drawn when it comes, not on the frame clock (CI: 40 ms).
    let (end, timed) = delays[..delays.len() - 1]
        .split_last()
        .expect("several frames");
    assert!(timed.iter().all(|&d| (5..=50).contains(&d)), "{delays:?}");
    assert!((1..=50).contains(end), "{delays:?}");
    assert!(*delays.last().unwrap() >= 100);

    let last = screens.last().unwrap();
    // The header's " backlog " is black on cyan: the space before it is all cyan, its 'b' has
    // both the letter's ink and the cyan around it.
    let cyan = [0x11, 0xa8, 0xcd];
    assert_eq!(cell_colours(last, width, 0, 0), vec![cyan]);
    let b = cell_colours(last, width, 1, 0);
    assert!(b.contains(&cyan) && b.contains(&[0, 0, 0]), "{b:?}");
    // A 'k' and an 'o' are different shapes: the glyphs are really drawn.
    let pixels = |col: usize| -> Vec<bool> {
        (0..CELL_H)
            .flat_map(|y| (0..CELL_W).map(move |x| (x, y)))
            .map(|(x, y)| {
                let i = (y * usize::from(width) + col * CELL_W + x) * 4;
                last[i + 1] < 0x40 // black ink, not the cyan around it
            })
            .collect()
    };
    assert_ne!(pixels(4), pixels(6), "'k' and 'o' drawn alike");
    // The caption banner (white on blue, under the header) is on screen at the end.
    let blue = [0x24, 0x72, 0xc8];
    assert!(cell_colours(last, width, 50, 2).contains(&blue));
}

#[test]
fn bad_recording_options_exit_2_before_anything_runs() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--record", "demo.mp4", "--offscreen", "--events", "1"],
            "--record",
        ),
        (
            &[
                "--record",
                "/nonexistent-dir/x.gif",
                "--offscreen",
                "--events",
                "1",
            ],
            "--record",
        ),
        (&["--size", "120x36", "--events", "1"], "--offscreen"),
        (
            &["--offscreen", "--size", "10x10", "--events", "1"],
            "80x24",
        ),
        (
            &["--offscreen", "--size", "wide", "--events", "1"],
            "120x36",
        ),
        (&["--offscreen"], "--offscreen needs a run that ends"),
        (&["--headless", "--record", "x.cast"], "--record"),
        (
            &["--headless", "--offscreen", "--events", "1"],
            "--offscreen",
        ),
    ];
    for (args, mention) in cases {
        let out = backlog(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(mention), "{args:?}: '{err}' lacks {mention}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(!std::path::Path::new("demo.mp4").exists());
    assert!(!std::path::Path::new("x.cast").exists());
}

/// Each frame of an asciicast: its time (wall seconds since the recording began) and the
/// screen after it.
fn replay_cast(text: &str) -> Vec<(f64, String)> {
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().expect("a header")).unwrap();
    let size = |key: &str| NonZeroU16::new(header[key].as_u64().unwrap() as u16).unwrap();
    let mut screen = vt100::Parser::new(size("height"), size("width"), 0);
    lines
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|event| event[1] == "o")
        .map(|event| {
            screen.process(event[2].as_str().unwrap().as_bytes());
            (event[0].as_f64().unwrap(), screen.screen().contents())
        })
        .collect()
}

/// The model time the header shows (`t 0:07`), whole seconds.
fn shown_model_s(screen: &str) -> Option<f64> {
    let at = screen.find("  t ")? + 4;
    let clock: String = screen[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let (m, s) = clock.split_once(':')?;
    Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// A cast's times are wall seconds: at --speed N, 10 s of model time plays in about 10/N s, and
/// every frame's header shows about N times its own time.
#[test]
fn a_recording_at_speed_n_lasts_the_model_time_over_n() {
    let _serial = timing();
    const MODEL_S: f64 = 10.0;
    for speed in [5.0, 20.0] {
        let path = temp(&format!("speed-{speed}.cast"));
        let out = backlog(&[
            "--rate",
            "20/s",
            "--service",
            "10ms",
            "--duration",
            "10s",
            "--speed",
            &speed.to_string(),
            "--offscreen",
            "--size",
            "100x30",
            "--record",
            path.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::remove_file(&path).ok();
        assert!(out.status.success(), "{}", stderr(&out));
        let frames = replay_cast(&text);
        let (last_t, last_screen) = frames.last().expect("frames");
        assert!(last_screen.contains("finished"), "{last_screen}");
        // The finished screen comes once the model's 10 s have passed (never before), within
        // a second of wall time after (a frame, a snapshot, a busy core).
        let expected = MODEL_S / speed;
        assert!(
            (expected - 0.05..expected + 1.0).contains(last_t),
            "speed {speed}: the run took {last_t}s, expected about {expected}s"
        );
        // Every frame while running: the header's clock (whole seconds, read from a snapshot
        // up to 50 ms old, drawn up to a frame later) against the frame's own time.
        let mut checked = 0;
        for (t, screen) in &frames {
            if !screen.contains("running") {
                continue;
            }
            let Some(shown) = shown_model_s(screen) else {
                continue;
            };
            let model_now = t * speed;
            assert!(
                (model_now - 1.0 - 0.2 * speed..model_now + 0.05 * speed).contains(&shown),
                "speed {speed}: a frame at {t}s shows t = {shown}s"
            );
            checked += 1;
        }
        assert!(checked >= 5, "speed {speed}: {checked} frames checked");
    }
}
