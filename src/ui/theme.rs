//! Every style and symbol of the monitor, in one place: 16-colour palette only, and every
//! colour doubled by a symbol or word so the screen reads the same without colour.

use ratatui::style::{Color, Modifier, Style};

/// Panel borders and titles.
pub const BORDER: Style = Style::new().fg(Color::DarkGray);
pub const TITLE: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
/// Labels in front of values ("generated", "p99").
pub const LABEL: Style = Style::new().fg(Color::Gray);
/// Values.
pub const VALUE: Style = Style::new().add_modifier(Modifier::BOLD);
/// Secondary text (hints, units, axes).
pub const DIM: Style = Style::new().fg(Color::DarkGray);

/// The app name in the header.
pub const APP_NAME: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Cyan)
    .add_modifier(Modifier::BOLD);

/// Things going well ("keeping up").
pub const GOOD: Style = Style::new().fg(Color::Green).add_modifier(Modifier::BOLD);
/// Things to watch (draining, lints).
pub const WARN: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
/// Things going wrong (overloaded, drops, failures).
pub const ERROR: Style = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);

/// Queue depth: the big number and its chart.
pub const QUEUE: Style = Style::new().fg(Color::Yellow);
pub const QUEUE_BIG: Style = Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD);
/// Arrivals (the source side) in charts and sparklines.
/// The forecast right of "now": its median, and the p10-p90 band dimmer.
pub const FORECAST: Style = Style::new().fg(Color::Cyan);
pub const FORECAST_BAND: Style = Style::new().fg(Color::Blue);
pub const ARRIVALS: Style = Style::new().fg(Color::Magenta);
/// Completions (the worker side) in charts.
pub const COMPLETIONS: Style = Style::new().fg(Color::Green);

/// Workers.
pub const BUSY: Style = Style::new().fg(Color::Green);
pub const IDLE: Style = Style::new().fg(Color::DarkGray);
pub const RETIRING: Style = Style::new().fg(Color::Magenta);
/// Progress bar of a busy worker: filled part, then the rest.
pub const PROGRESS: Style = Style::new().fg(Color::Green);
pub const PROGRESS_REST: Style = Style::new().fg(Color::DarkGray);

/// Latency histogram bars and the percentile highlighted.
pub const HISTOGRAM: Style = Style::new().fg(Color::Blue);
pub const P99: Style = Style::new().fg(Color::Red);

/// Footer key names, and a transient notice.
pub const KEY: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
pub const NOTICE: Style = Style::new()
    .fg(Color::Black)
    .bg(Color::Yellow)
    .add_modifier(Modifier::BOLD);

/// The scenario caption banner.
pub const CAPTION: Style = Style::new()
    .fg(Color::White)
    .bg(Color::Blue)
    .add_modifier(Modifier::BOLD);

/// The finished banner's border and title.
pub const BANNER: Style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);

/// Symbols that carry the meaning colour also carries.
pub mod symbol {
    pub const OK: &str = "✓";
    pub const BAD: &str = "✗";
    pub const WARN: &str = "⚠";
    pub const DRAIN: &str = "↓";
    pub const UP: &str = "▲";
    pub const DOWN: &str = "▼";
    pub const STEADY: &str = "=";
    pub const BUSY: &str = "●";
    pub const IDLE: &str = "○";
    pub const RETIRING: &str = "×";
    pub const FINISHED: &str = "■";
    /// In front of a scenario caption.
    pub const CAPTION: &str = "▶";
    /// Grid cell of an idle worker.
    pub const IDLE_CELL: &str = "·";
    /// Grid cell of a busy worker, by progress (eighths).
    pub const PROGRESS_CELLS: [&str; 8] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
}
