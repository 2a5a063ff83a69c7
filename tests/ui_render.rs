//! Renders the monitor from hand-built snapshots: whole screens and panels as insta snapshots,
//! styles where colour carries meaning, and every widget at degenerate sizes (no panic).

#[path = "common/fixtures.rs"]
mod fixtures;

use std::sync::Arc;
use std::time::Instant;

use backlog::app::{Action, App, LatencyWindow};
use backlog::engine::Settings;
use backlog::engine::snapshot::{LatencyKind, RunState, SeriesPoint, Snapshot};
use backlog::model::lints::lints;
use backlog::model::trend::Trend;
use backlog::model::verdict::Verdict;
use backlog::ui::{self, footer, header, help, latency, queue, source, theory, warnings, workers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::widgets::Widget;

fn app(snapshot: Snapshot) -> App {
    App::new(Arc::new(snapshot), 20)
}

fn screen(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| ui::draw(frame, app)).unwrap();
    terminal
}

/// Renders one widget alone into a terminal of the given size.
fn panel(width: u16, height: u16, render: impl FnOnce(Rect, &mut Buffer)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            let area = frame.area();
            render(area, frame.buffer_mut());
        })
        .unwrap();
    terminal
}

/// The text of the screen, one string (for `contains` checks).
fn text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

/// Position of the first cell where `needle` starts, searching row by row.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in area.top()..area.bottom() {
        let row: Vec<&str> = (area.left()..area.right())
            .map(|x| buf[(x, y)].symbol())
            .collect();
        let line: String = row.concat();
        if let Some(byte) = line.find(needle) {
            // Cells hold one symbol each: count the symbols before the match.
            let mut seen = 0;
            for (i, symbol) in row.iter().enumerate() {
                if seen == byte {
                    return Some((area.left() + i as u16, y));
                }
                seen += symbol.len();
            }
        }
    }
    None
}

// ---- whole screens ----

#[test]
fn overloaded_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::overloaded()), 100, 30).backend());
}

#[test]
fn overloaded_screen_140x44() {
    insta::assert_snapshot!(screen(&app(fixtures::overloaded()), 140, 44).backend());
}

#[test]
fn overloaded_screen_200x50() {
    insta::assert_snapshot!(screen(&app(fixtures::overloaded()), 200, 50).backend());
}

#[test]
fn forecast_screen_80x24() {
    let s = fixtures::overloaded_with_forecast();
    insta::assert_snapshot!(screen(&app(s), 80, 24).backend());
}

#[test]
fn forecast_screen_100x30() {
    let s = fixtures::overloaded_with_forecast();
    insta::assert_snapshot!(screen(&app(s), 100, 30).backend());
}

#[test]
fn forecast_screen_200x50() {
    let s = fixtures::overloaded_with_forecast();
    insta::assert_snapshot!(screen(&app(s), 200, 50).backend());
}

/// The columns of `buf` where a plotted (Braille) cell has `fg`, below the border and the
/// legend (whose marks are Braille too).
fn columns_with(buf: &Buffer, fg: Color) -> Vec<u16> {
    let area = buf.area;
    let plotted = |x, y| {
        let cell = &buf[(x, y)];
        let braille = cell
            .symbol()
            .chars()
            .next()
            .is_some_and(|c| ('\u{2801}'..='\u{28FF}').contains(&c));
        cell.fg == fg && braille
    };
    (area.x..area.x + area.width)
        .filter(|&x| (area.y + 2..area.y + area.height).any(|y| plotted(x, y)))
        .collect()
}

#[test]
fn the_cone_is_drawn_right_of_now_and_only_there() {
    let s = fixtures::overloaded_with_forecast();
    let t = panel(100, 12, |area, buf| {
        queue::QueuePanel {
            snapshot: &s,
            trend: Trend::of(&s),
        }
        .render(area, buf)
    });
    let buf = t.backend().buffer();
    let history = columns_with(buf, ui::theme::QUEUE.fg.unwrap());
    let median = columns_with(buf, ui::theme::FORECAST.fg.unwrap());
    let band = columns_with(buf, ui::theme::FORECAST_BAND.fg.unwrap());
    assert!(!median.is_empty() && !band.is_empty(), "no cone drawn");
    // The legend names it; below it, the cone starts where the depth ends.
    assert!(text(&t).contains("forecast p10-p90"));
    let last_history = *history.iter().max().unwrap();
    let first_cone = *median.iter().min().unwrap();
    assert!(
        first_cone + 1 >= last_history,
        "cone at {first_cone}, history to {last_history}"
    );
    // The future is about a quarter of the chart.
    let cone_width = median.iter().max().unwrap() - first_cone;
    assert!(
        (12..=30).contains(&cone_width),
        "{cone_width} columns of cone"
    );
}

#[test]
fn keeping_up_screen_200x50() {
    insta::assert_snapshot!(screen(&app(fixtures::keeping_up()), 200, 50).backend());
}

#[test]
fn finished_screen_200x50() {
    insta::assert_snapshot!(screen(&app(fixtures::finished()), 200, 50).backend());
}

#[test]
fn overloaded_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::overloaded()), 80, 24).backend());
}

#[test]
fn cpu_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::cpu_past_cores()), 80, 24).backend());
}

#[test]
fn bounded_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::bounded()), 80, 24).backend());
}

#[test]
fn dropping_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::dropping()), 80, 24).backend());
}

#[test]
fn dropping_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::dropping()), 100, 30).backend());
}

#[test]
fn dropping_screen_200x50() {
    insta::assert_snapshot!(screen(&app(fixtures::dropping()), 200, 50).backend());
}

#[test]
fn finished_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::finished()), 80, 24).backend());
}

#[test]
fn cpu_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::cpu_past_cores()), 100, 30).backend());
}

#[test]
fn bounded_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::bounded()), 100, 30).backend());
}

#[test]
fn keeping_up_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::keeping_up()), 100, 30).backend());
}

#[test]
fn keeping_up_screen_140x44() {
    insta::assert_snapshot!(screen(&app(fixtures::keeping_up()), 140, 44).backend());
}

#[test]
fn finished_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::finished()), 100, 30).backend());
}

#[test]
fn finished_screen_140x44() {
    insta::assert_snapshot!(screen(&app(fixtures::finished()), 140, 44).backend());
}

#[test]
fn many_workers_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::many_workers()), 100, 30).backend());
}

#[test]
fn many_workers_screen_140x44() {
    insta::assert_snapshot!(screen(&app(fixtures::many_workers()), 140, 44).backend());
}

#[test]
fn empty_start_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::empty()), 100, 30).backend());
}

#[test]
fn help_overlay_100x30() {
    let mut app = app(fixtures::keeping_up());
    app.update(Action::ToggleHelp);
    insta::assert_snapshot!(screen(&app, 100, 30).backend());
}

#[test]
fn scenario_caption_banner_100x30() {
    let mut app = app(fixtures::overloaded());
    app.set_caption(Some(
        "One worker short: 4 workers x 2/s = 8/s of capacity against 10 events/s. The backlog grows by 2 a second."
            .into(),
    ));
    let terminal = screen(&app, 100, 30);
    insta::assert_snapshot!(terminal.backend());
    // White on blue across the screen, so it reads as the scenario talking, not a panel.
    let buf = terminal.backend().buffer();
    let (x, y) = find(buf, "One worker short").expect("caption on screen");
    assert_eq!(y, 2, "under the two header lines");
    assert_eq!(buf[(x, y)].bg, Color::Blue);
    assert_eq!(
        buf[(99, 3)].bg,
        Color::Blue,
        "the wrapped second row is the banner's too"
    );
    // An empty caption shows no banner.
    app.set_caption(Some(String::new()));
    assert_eq!(
        text(&screen(&app, 100, 30)),
        text(&screen(&self::app(fixtures::overloaded()), 100, 30))
    );
}

#[test]
fn stdin_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::from_stdin()), 80, 24).backend());
}

#[test]
fn stdin_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::from_stdin()), 100, 30).backend());
}

#[test]
fn trace_screen_80x24() {
    insta::assert_snapshot!(screen(&app(fixtures::replaying_trace()), 80, 24).backend());
}

#[test]
fn trace_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::replaying_trace()), 100, 30).backend());
}

#[test]
fn exec_failure_screen_100x30() {
    insta::assert_snapshot!(screen(&app(fixtures::exec_failing()), 100, 30).backend());
}

#[test]
fn the_last_failure_shows_under_the_workers_in_red_as_room_allows() {
    let s = fixtures::exec_failing();
    // At 80x24 the status and the newest stderr line.
    let t = screen(&app(s.clone()), 80, 24);
    let small = text(&t);
    assert!(
        small.contains("✗ last failure ev 291 · exit status 3"),
        "{small}"
    );
    assert!(small.contains("no images defined"), "{small}");
    assert!(!small.contains("reading image.png"), "{small}");
    let (x, y) = find(t.backend().buffer(), "ev 291 · exit").unwrap();
    assert_eq!(t.backend().buffer()[(x, y)].fg, Color::Red);
    // Given rows beside the workers' own, every kept line, oldest first.
    let t = text(&panel(60, 13, |area, buf| {
        workers::WorkersPanel::new(&s, 0).render(area, buf)
    }));
    let order: Vec<usize> = ["reading image.png", "improper image", "no images defined"]
        .iter()
        .map(|needle| t.find(needle).unwrap_or_else(|| panic!("{needle}:\n{t}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{t}");
    // With no row to spare the workers keep theirs; the failure goes in the border.
    let t = text(&panel(60, 9, |area, buf| {
        workers::WorkersPanel::new(&s, 0).render(area, buf)
    }));
    assert!(t.contains("#7 ○ idle"), "{t}");
    assert!(t.contains("└✗ last failure ev 291 · exit status 3"), "{t}");
}

#[test]
fn the_source_panel_says_which_source_it_is_and_marks_its_losses() {
    let source_text = |s: &Snapshot| {
        text(&panel(36, 11, |area, buf| {
            source::SourcePanel {
                snapshot: s,
                settings: &s.settings,
            }
            .render(area, buf)
        }))
    };
    let stdin = source_text(&fixtures::from_stdin());
    assert!(stdin.contains("Source · stdin · reading"), "{stdin}");
    assert!(stdin.contains("lines 297  rejected 1 !"), "{stdin}");
    // Not the generator's target: stdin has none.
    assert!(!stdin.contains("target"), "{stdin}");
    let trace = source_text(&fixtures::replaying_trace());
    assert!(trace.contains("Source · trace · replaying"), "{trace}");
    assert!(trace.contains("bursty-api.csv"), "{trace}");
    // 296 rows of 120 a pass: 56 into the third.
    assert!(trace.contains("row 56/120  pass 3/3"), "{trace}");
    let failed = source_text(&fixtures::stdin_failed());
    assert!(failed.contains("Source · stdin · error"), "{failed}");
    assert!(failed.contains("Is a directory"), "{failed}");
    let generator = source_text(&fixtures::keeping_up());
    assert!(generator.contains("target"), "{generator}");
    // A rejected line is a loss: red, like a drop.
    let s = fixtures::from_stdin();
    let t = panel(36, 11, |area, buf| {
        source::SourcePanel {
            snapshot: &s,
            settings: &s.settings,
        }
        .render(area, buf)
    });
    let (x, y) = find(t.backend().buffer(), "1 !").unwrap();
    assert_eq!(t.backend().buffer()[(x, y)].fg, Color::Red);
}

#[test]
fn the_header_names_a_real_source_instead_of_the_arrival_settings() {
    for (s, says, not) in [
        (fixtures::from_stdin(), "source stdin", "arrivals"),
        (
            fixtures::replaying_trace(),
            "source trace bursty-api.csv at 1/s · service from the trace",
            "arrivals",
        ),
        (fixtures::keeping_up(), "arrivals poisson 1/s", "source"),
    ] {
        let t = text(&panel(120, 2, |area, buf| {
            header::Header {
                snapshot: &s,
                settings: &s.settings,
            }
            .render(area, buf)
        }));
        assert!(t.contains(says), "{t}");
        assert!(!t.contains(not), "{t}");
    }
}

#[test]
fn service_latency_over_whole_run_140x44() {
    let mut app = app(fixtures::overloaded());
    app.update(Action::CycleLatencyKind);
    app.update(Action::ToggleWindow);
    assert_eq!(app.latency_kind(), LatencyKind::Service);
    assert_eq!(app.latency_window(), LatencyWindow::WholeRun);
    let screen = text(&screen(&app, 140, 44));
    assert!(screen.contains("Latency: service · whole run"), "{screen}");
}

// ---- panels, one at a time ----

#[test]
fn header_panel() {
    let s = fixtures::overloaded();
    let t = panel(100, 2, |area, buf| {
        header::Header {
            snapshot: &s,
            settings: &s.settings,
        }
        .render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

#[test]
fn source_panel() {
    let s = fixtures::overloaded();
    let t = panel(36, 11, |area, buf| {
        source::SourcePanel {
            snapshot: &s,
            settings: &s.settings,
        }
        .render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

#[test]
fn queue_panel() {
    let s = fixtures::overloaded();
    let t = panel(66, 12, |area, buf| {
        queue::QueuePanel {
            snapshot: &s,
            trend: Trend::of(&s),
        }
        .render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

/// The queue panel of `s` at 66x12, as text.
fn queue_panel_text(s: &Snapshot) -> String {
    text(&panel(66, 12, |area, buf| {
        queue::QueuePanel {
            snapshot: s,
            trend: Trend::of(s),
        }
        .render(area, buf)
    }))
}

#[test]
fn the_queue_panel_shows_events_held_at_the_source_only_when_there_are_some() {
    let mut s = fixtures::overloaded();
    assert!(!queue_panel_text(&s).contains("at source"));
    s.counters.held_at_source = 84;
    let t = queue_panel_text(&s);
    assert!(t.contains("+84 at source"), "{t}");
}

#[test]
fn the_queue_panel_shows_the_queued_work_beside_the_depth() {
    let mut s = fixtures::overloaded();
    // 37 queued events of 5 s each.
    let t = queue_panel_text(&s);
    assert!(t.contains("work 3.08m"), "{t}");
    s.queued_work_ns = 12_500_000_000;
    let t = queue_panel_text(&s);
    assert!(t.contains("work 12.5s"), "{t}");
    // At the smallest screen too.
    let t = text(&screen(&app(fixtures::overloaded()), 80, 24));
    assert!(t.contains("work 3.08m"), "{t}");
}

#[test]
fn workers_panel_rows() {
    let s = fixtures::overloaded();
    let t = panel(50, 7, |area, buf| {
        workers::WorkersPanel::new(&s, 0).render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

#[test]
fn workers_panel_grid_scrolls() {
    let s = fixtures::many_workers();
    // 64 workers, 28 one-column cells a row: 3 rows, 2 visible; scrolling past the end stops at the last.
    let t = panel(30, 5, |area, buf| {
        workers::WorkersPanel::new(&s, 5).render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
    let screen = text(&t);
    assert!(screen.contains("rows 2-3 of 3"), "{screen}");
}

#[test]
fn a_stretched_cpu_job_shows_its_cpu_progress_and_its_wall_time() {
    // 12 cpu workers on 8 cores: worker #1 has run 3 s of wall time on a 1 s demand and
    // received 0.4 s of CPU; worker #2 has received all of its demand, not yet reported done.
    let mut s = fixtures::overloaded();
    s.settings.work = backlog::engine::settings::WorkMode::Cpu;
    let stretched = |id: u32, event: u64, cpu_ns: u64| backlog::engine::snapshot::WorkerView {
        cpu_ns: Some(cpu_ns),
        ..fixtures::busy_worker(
            id,
            event,
            s.now_ns - 3_000_000_000,
            1_000_000_000,
            s.now_ns,
            36,
        )
    };
    s.workers[0] = stretched(1, 145, 400_000_000);
    s.workers[1] = stretched(2, 146, 1_000_000_000);
    let t = panel(60, 7, |area, buf| {
        workers::WorkersPanel::new(&s, 0).render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
    let t = text(&t);
    let row = |id: &str| t.lines().find(|l| l.contains(id)).unwrap().to_string();
    // Progress is the CPU received against the demand, beside the wall time taken.
    assert!(row("#1 ").contains("40%"), "{t}");
    assert!(row("#1 ").contains("3s wall"), "{t}");
    // A job is never shown done while a worker holds it.
    assert!(row("#2 ").contains("99%"), "{t}");
    assert!(!t.contains("100%"), "{t}");
    // A job within its demand shows no wall time.
    assert!(!row("#3 ").contains("wall"), "{t}");
}

#[test]
fn without_a_cpu_figure_a_stretched_job_stays_below_100_percent() {
    // A snapshot that does not say what CPU a job received (sleep work, or an older
    // recording): progress is the time it has run, never 100% while it runs.
    let mut s = fixtures::overloaded();
    s.workers[0] = fixtures::busy_worker(
        1,
        145,
        s.now_ns - 3_000_000_000,
        1_000_000_000,
        s.now_ns,
        36,
    );
    let t = text(&panel(60, 7, |area, buf| {
        workers::WorkersPanel::new(&s, 0).render(area, buf)
    }));
    let row = t.lines().find(|l| l.contains("#1 ")).unwrap();
    assert!(row.contains("99%") && row.contains("3s wall"), "{row}");
}

#[test]
fn column_names_stay_apart_with_one_digit_event_ids() {
    let mut s = fixtures::overloaded();
    for (i, w) in s.workers.iter_mut().enumerate() {
        *w = fixtures::busy_worker(
            w.id,
            i as u64 + 1,
            s.now_ns - 1_000_000_000,
            5_000_000_000,
            s.now_ns,
            3,
        );
    }
    let t = text(&panel(50, 7, |area, buf| {
        workers::WorkersPanel::new(&s, 0).render(area, buf)
    }));
    let names = t.lines().nth(1).unwrap();
    assert!(names.contains("event progress"), "{names}");
}

#[test]
fn the_source_lists_few_events_right_after_its_label() {
    let mut s = fixtures::overloaded();
    s.counters.generated = 76;
    let t = text(&panel(48, 30, |area, buf| {
        source::SourcePanel {
            snapshot: &s,
            settings: &s.settings,
        }
        .render(area, buf)
    }));
    let lines: Vec<&str> = t.lines().collect();
    let label = lines.iter().position(|l| l.contains("newest")).unwrap();
    assert!(lines[label].contains("newest #1 #2 "), "{t}");
    assert!(
        lines[label + 1].contains(" #"),
        "no blank rows after the label:\n{t}"
    );
    assert!(t.contains(" #76"), "{t}");
}

#[test]
fn latency_panel() {
    let s = fixtures::overloaded();
    let t = panel(50, 9, |area, buf| {
        latency::LatencyPanel::new(&s, LatencyKind::QueueWait, LatencyWindow::WholeRun)
            .render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

#[test]
fn a_zero_percentile_keeps_its_unit() {
    let s = fixtures::keeping_up();
    assert_eq!(
        s.recent_latency.queue_wait.p50_ns, 0,
        "the fixture's premise"
    );
    let t = text(&panel(50, 9, |area, buf| {
        latency::LatencyPanel::new(&s, LatencyKind::QueueWait, LatencyWindow::Recent)
            .render(area, buf)
    }));
    // The table's row, not the histogram's marker.
    let row = t.lines().find(|l| l.contains(" p50 ")).unwrap();
    assert!(row.contains("p50   0s"), "{row}");
}

#[test]
fn latency_panel_narrow_keeps_percentiles() {
    let s = fixtures::overloaded();
    let t = panel(30, 9, |area, buf| {
        latency::LatencyPanel::new(&s, LatencyKind::QueueWait, LatencyWindow::Recent)
            .render(area, buf)
    });
    let screen = text(&t);
    assert!(screen.contains("p99"), "{screen}");
    assert!(
        !screen.contains('≤'),
        "histogram should be dropped:\n{screen}"
    );
}

#[test]
fn the_recent_window_label_shows_its_real_extent_rounded_never_past_the_run() {
    // (model time, reset at, the engine's recent window) → the label.
    let cases = [
        (2_000_000_000, 0, 5_300_000_000, "last 2s"),
        (2_000_000_000, 0, 12_000_000_000, "last 2s"),
        (1_960_000_000, 0, 6_750_000_000, "last 1.9s"),
        (30_000_000_000, 0, 6_750_000_000, "last 6.7s"),
        (30_000_000_000, 0, 12_400_000_000, "last 12s"),
        (30_000_000_000, 27_000_000_000, 12_400_000_000, "last 3s"),
        (400_000_000, 0, 5_400_000_000, "last 400ms"),
    ];
    for (now_ns, stats_since_ns, recent_window_ns, expected) in cases {
        let mut s = fixtures::overloaded();
        (s.now_ns, s.stats_since_ns, s.recent_window_ns) =
            (now_ns, stats_since_ns, recent_window_ns);
        let t = text(&panel(50, 9, |area, buf| {
            latency::LatencyPanel::new(&s, LatencyKind::QueueWait, LatencyWindow::Recent)
                .render(area, buf)
        }));
        let title = t.lines().next().unwrap();
        assert!(
            title.contains(&format!("queue wait · {expected} ")),
            "{now_ns} {recent_window_ns}: {title}"
        );
    }
}

#[test]
fn theory_panel() {
    let s = fixtures::overloaded();
    let t = panel(60, 7, |area, buf| {
        theory::TheoryPanel {
            snapshot: &s,
            verdict: &Verdict::of(&s),
            predictions: &[],
        }
        .render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

/// After a change of settings the measured column is the current phase: "settling" while it is
/// young, then its own figures, never the whole run's.
#[test]
fn the_theory_panel_measures_the_current_phase_after_a_change() {
    use backlog::engine::snapshot::{Phase, PhaseMeasured};
    let mut s = fixtures::keeping_up();
    let now_ns = s.now_ns;
    let phase = |index, start_ns, started| Phase {
        index,
        start_ns,
        settings: s.settings.clone(),
        measured: PhaseMeasured {
            started,
            mean_wait_ns: 4.2e9,
            mean_queue_len: 7.5,
            ..PhaseMeasured::default()
        },
        ..Phase::default()
    };
    let theory_text = |s: &Snapshot| {
        text(&panel(60, 8, |area, buf| {
            theory::TheoryPanel {
                snapshot: s,
                verdict: &Verdict::of(s),
                predictions: &[],
            }
            .render(area, buf)
        }))
    };
    s.phases = vec![phase(1, 0, 500), phase(2, now_ns - 1_000_000_000, 3)];
    let young = theory_text(&s);
    assert!(young.contains("settling (changed 1s ago)"), "{young}");
    let row = young.lines().find(|l| l.contains("mean wait")).unwrap();
    assert!(row.contains("settling"), "{row}");
    s.phases[1] = phase(2, now_ns - 60_000_000_000, 300);
    let settled = theory_text(&s);
    assert!(settled.contains("since the change 1m ago"), "{settled}");
    let row = settled.lines().find(|l| l.contains("mean wait")).unwrap();
    assert!(row.contains("4.2s"), "{row}");
    let row = settled
        .lines()
        .find(|l| l.contains("queue length"))
        .unwrap();
    assert!(row.contains("7.50"), "{row}");
}

#[test]
fn the_theory_panel_says_server_for_one_and_gives_a_zero_wait_its_unit() {
    let mut s = fixtures::keeping_up();
    s.settings.workers = 1;
    s.theory.servers = 1;
    s.theory.mean_wait_s = Some(0.0);
    s.latency.queue_wait.mean_ns = 0.0;
    let t = text(&panel(60, 8, |area, buf| {
        theory::TheoryPanel {
            snapshot: &s,
            verdict: &Verdict::of(&s),
            predictions: &[],
        }
        .render(area, buf)
    }));
    assert!(t.contains("1 server ·"), "{t}");
    let row = t.lines().find(|l| l.contains("mean wait")).unwrap();
    assert!(
        !row.split_whitespace().any(|word| word == "0"),
        "a bare 0: {row}"
    );
    assert!(row.contains("0s"), "{row}");
}

#[test]
fn warnings_panel() {
    let s = fixtures::overloaded();
    let lints = lints(&s);
    let t = panel(50, 7, |area, buf| {
        warnings::WarningsPanel { lints: &lints }.render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

#[test]
fn footer_with_notice() {
    let t = panel(100, 1, |area, buf| {
        footer::Footer {
            notice: Some("already at 1 worker"),
        }
        .render(area, buf)
    });
    insta::assert_snapshot!(t.backend());
}

// ---- meaning carried by style and by words ----

#[test]
fn overloaded_verdict_is_red_and_says_what_to_do() {
    let t = screen(&app(fixtures::overloaded()), 100, 30);
    let buf = t.backend().buffer();
    let screen = text(&t);
    assert!(
        screen.contains("✗ overloaded: backlog grows by 0.2/s, needs ≥ 5 workers"),
        "{screen}"
    );
    let (x, y) = find(buf, "overloaded:").expect("verdict on screen");
    assert_eq!(buf[(x, y)].fg, Color::Red);
}

#[test]
fn keeping_up_verdict_is_green() {
    let t = screen(&app(fixtures::keeping_up()), 100, 30);
    let buf = t.backend().buffer();
    let (x, y) = find(buf, "keeping up").expect("verdict on screen");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    assert!(
        !text(&t).contains("Warnings"),
        "no lint holds:\n{}",
        text(&t)
    );
}

#[test]
fn draining_verdict_gives_time_to_empty() {
    // 10 workers serve 2/s against 1/s arriving: 37 queued drain in 37 s (tests/model.rs).
    let s = fixtures::overloaded_with_workers(10);
    let (line, style) = theory::verdict_line(&Verdict::of(&s));
    assert_eq!(line, "↓ draining: empty in about 37s");
    assert_eq!(style.fg, Some(Color::Yellow));
}

#[test]
fn finished_banner_summarises_and_says_how_to_quit() {
    let screen = text(&screen(&app(fixtures::finished()), 100, 30));
    for expected in [
        "■ finished",
        "598 completed",
        "0 dropped",
        "2 failed",
        "end-to-end mean",
        "press q to quit",
    ] {
        assert!(screen.contains(expected), "{expected} missing:\n{screen}");
    }
}

#[test]
fn header_shows_live_worker_count() {
    let mut app = app(fixtures::overloaded());
    assert!(text(&screen(&app, 100, 30)).contains("workers 4"));
    app.update(Action::AddWorker);
    assert!(text(&screen(&app, 100, 30)).contains("workers 5"));
}

#[test]
fn notice_shows_in_footer() {
    let mut s = fixtures::keeping_up();
    s.settings.workers = 1;
    let mut app = app(s);
    assert_eq!(app.update(Action::RemoveWorker), None);
    assert!(text(&screen(&app, 100, 30)).contains("already at 1 worker"));
}

#[test]
fn cpu_workers_past_cores_note() {
    let screen = text(&screen(&app(fixtures::cpu_past_cores()), 100, 30));
    assert!(
        screen.contains("cpu work: 12 workers share 8 cores"),
        "{screen}"
    );
}

// ---- sizes ----

#[test]
fn too_small_terminal_says_so() {
    let screen = text(&screen(&app(fixtures::overloaded()), 79, 24));
    assert!(
        screen.contains("terminal too small: 79x24, need 80x24"),
        "{screen}"
    );
    assert!(screen.contains("q quits"), "{screen}");
    insta::assert_snapshot!(screen);
    // Too short rather than too narrow: the size shown is the terminal's.
    let short = text(&self::screen(&app(fixtures::overloaded()), 120, 20));
    assert!(short.contains("120x20, need 80x24"), "{short}");
}

#[test]
fn smallest_supported_size_lays_out_every_panel() {
    let screen = text(&screen(&app(fixtures::overloaded()), 80, 24));
    for title in ["Queue", "Source", "Workers", "Latency", "Theory"] {
        assert!(screen.contains(title), "{title} missing:\n{screen}");
    }
}

#[test]
fn every_panel_keeps_its_essential_figures_at_80x24() {
    let line_with = |screen: &str, needle: &str| -> String {
        screen
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} missing:\n{screen}"))
            .to_string()
    };
    for (name, snapshot) in [
        ("overloaded", fixtures::overloaded()),
        ("cpu", fixtures::cpu_past_cores()),
        ("bounded", fixtures::bounded()),
        ("finished", fixtures::finished()),
        ("dropping", fixtures::dropping()),
    ] {
        // 120x36 too: a cpu warning there used to push the table's figures off the panel.
        for (width, height) in [(80, 24), (120, 36)] {
            let t = text(&screen(&app(snapshot.clone()), width, height));
            let wait = line_with(&t, "mean wait");
            let measured = ui::format::duration_ns(snapshot.latency.queue_wait.mean_ns as u64);
            assert!(wait.contains(&measured), "{name}: measured wait in {wait}");
            let len = line_with(&t, "queue length");
            assert!(len.chars().any(|c| c.is_ascii_digit()), "{name}: {len}");
            let footer = t.lines().last().unwrap();
            assert!(footer.contains("q quit"), "{name}: {footer}");
            assert!(footer.contains("? help"), "{name}: {footer}");
        }
    }
    // The predicted share dropped beside the measured one (1,336 of 7,200).
    let dropping = text(&screen(&app(fixtures::dropping()), 80, 24));
    let dropped = line_with(&dropping, "dropped  ");
    assert!(
        dropped.contains("18.6%") && dropped.contains("18.6%"),
        "{dropped}"
    );
    assert!(
        dropping.contains("bounded queue: drops about 19% of arrivals"),
        "{dropping}"
    );
    let bounded = text(&screen(&app(fixtures::bounded()), 80, 24));
    assert!(bounded.contains("cap 40, drop-new"), "{bounded}");
    let cpu = text(&screen(&app(fixtures::cpu_past_cores()), 80, 24));
    assert!(cpu.contains("× retiring"), "{cpu}");
}

#[test]
fn full_screen_never_panics_at_any_size() {
    let fixtures = [
        fixtures::overloaded(),
        fixtures::overloaded_with_forecast(),
        fixtures::keeping_up(),
        fixtures::finished(),
        fixtures::many_workers(),
        fixtures::empty(),
    ];
    for snapshot in fixtures {
        let mut app = app(snapshot);
        app.set_caption(Some(
            "a caption long enough to wrap on a narrow screen, twice over".into(),
        ));
        for help in [false, true] {
            if help {
                app.update(Action::ToggleHelp);
            }
            for width in (0..=150).step_by(7).chain([1, 79, 80, 81]) {
                for height in (0..=50).step_by(5).chain([1, 23, 24, 25]) {
                    screen(&app, width, height);
                }
            }
        }
    }
}

#[test]
fn every_widget_survives_tiny_areas() {
    let sizes = [
        (0, 0),
        (1, 1),
        (2, 1),
        (1, 2),
        (3, 3),
        (5, 2),
        (10, 3),
        (12, 4),
        (20, 5),
        (30, 6),
        (40, 8),
    ];
    for snapshot in [
        fixtures::overloaded(),
        fixtures::overloaded_with_forecast(),
        fixtures::many_workers(),
        fixtures::empty(),
        fixtures::finished(),
        fixtures::from_stdin(),
        fixtures::replaying_trace(),
        fixtures::stdin_failed(),
        fixtures::exec_failing(),
    ] {
        let s = &snapshot;
        let lints = lints(s);
        for (width, height) in sizes {
            let area = Rect::new(0, 0, width, height);
            let mut buf = Buffer::empty(area);
            header::Header {
                snapshot: s,
                settings: &s.settings,
            }
            .render(area, &mut buf);
            source::SourcePanel {
                snapshot: s,
                settings: &s.settings,
            }
            .render(area, &mut buf);
            queue::QueuePanel {
                snapshot: s,
                trend: Trend::of(s),
            }
            .render(area, &mut buf);
            workers::WorkersPanel::new(s, 3).render(area, &mut buf);
            for kind in LatencyKind::ALL {
                latency::LatencyPanel::new(s, kind, LatencyWindow::Recent).render(area, &mut buf);
            }
            theory::TheoryPanel {
                snapshot: s,
                verdict: &Verdict::of(s),
                predictions: &[],
            }
            .render(area, &mut buf);
            warnings::WarningsPanel { lints: &lints }.render(area, &mut buf);
            footer::Footer {
                notice: Some("a notice"),
            }
            .render(area, &mut buf);
            help::HelpPopup.render(area, &mut buf);
            ui::finished::FinishedBanner { snapshot: s }.render(area, &mut buf);
            ui::caption::CaptionBanner { text: "a caption" }.render(area, &mut buf);
            ui::render_too_small(area, &mut buf);
        }
    }
}

/// Widgets rendered into an area that does not start at the origin stay inside it.
#[test]
fn widgets_stay_inside_an_offset_area() {
    let s = fixtures::many_workers();
    let outer = Rect::new(0, 0, 60, 20);
    let inner = Rect::new(7, 5, 40, 9);
    let mut buf = Buffer::empty(outer);
    workers::WorkersPanel::new(&s, 0).render(inner, &mut buf);
    queue::QueuePanel {
        snapshot: &s,
        trend: Trend::of(&s),
    }
    .render(inner, &mut buf);
    for y in outer.top()..outer.bottom() {
        for x in outer.left()..outer.right() {
            if !inner.contains((x, y).into()) {
                assert_eq!(buf[(x, y)].symbol(), " ", "drew outside at ({x}, {y})");
            }
        }
    }
}

#[test]
fn interrupted_run_shows_what_was_abandoned() {
    let mut s = fixtures::overloaded();
    s.state = RunState::Interrupted;
    let screen = text(&screen(&app(s), 100, 30));
    assert!(screen.contains("✗ interrupted"), "{screen}");
    assert!(screen.contains("37 left queued, 4 in flight"), "{screen}");
}

// ---- speed ----

/// One full frame at 120x40 with 64 workers; the budget is 2 ms in release builds
/// (debug builds of this crate are unoptimised: only a loose bound there).
#[test]
fn a_frame_renders_quickly() {
    // A full series (10 minutes of samples), the worst case for the charts.
    let mut snapshot = fixtures::many_workers();
    let sample = snapshot.series.clone();
    snapshot.series = (0..2400u64)
        .map(|k| SeriesPoint {
            t_ns: (k + 1) * 250_000_000,
            ..sample[k as usize % sample.len()]
        })
        .collect();
    let app = app(snapshot);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|frame| ui::draw(frame, &app)).unwrap();
    let frames = 100;
    let start = Instant::now();
    for _ in 0..frames {
        let area = Rect::new(0, 0, 120, 40);
        let mut buf = Buffer::empty(area);
        ui::render(&app, area, &mut buf);
    }
    let per_frame = start.elapsed() / frames;
    let budget_ms = if cfg!(debug_assertions) { 10 } else { 2 };
    eprintln!("one 120x40 frame with 64 workers: {per_frame:?}");
    assert!(per_frame.as_millis() < budget_ms, "{per_frame:?} per frame");
}

#[test]
fn settings_default_is_the_article() {
    // Fixtures lean on this: 1/s, 5 s, 5 workers.
    let s = Settings::default();
    assert_eq!((s.rate.get(), s.service.as_secs(), s.workers), (1.0, 5, 5));
}

/// The finished screen compares every phase with the twin's prediction of it.
#[test]
fn the_finished_screen_shows_each_phase_beside_the_twin() {
    use backlog::engine::snapshot::{Phase, PhaseMeasured};
    let mut s = fixtures::finished();
    let phase = |index: usize, from_s: u64, to_s: u64, workers: usize, wait_s: f64, end: u64| {
        let mut settings = s.settings.clone();
        settings.workers = workers;
        Phase {
            index,
            start_ns: from_s * 1_000_000_000,
            end_ns: to_s * 1_000_000_000,
            settings,
            measured: PhaseMeasured {
                started: 100,
                mean_wait_ns: wait_s * 1e9,
                queue_end: end,
                ..PhaseMeasured::default()
            },
            ..Phase::default()
        }
    };
    s.phases = vec![
        phase(1, 0, 25, 4, 2.95, 50),
        phase(2, 25, 45, 5, 4.82, 50),
        phase(3, 45, 80, 6, 1.42, 0),
    ];
    let mut app = app(s);
    let t = screen(&app, 100, 30);
    let before = text(&t);
    assert!(
        !before.contains("queue end"),
        "no table before the predictions: {before}"
    );
    // Once the run is over the monitor asks the twin for each phase.
    let snapshot = std::sync::Arc::new(app.snapshot().clone());
    let settings = app.settings().clone();
    app.set_snapshot(snapshot, settings);
    assert_eq!(app.phase_predictions().len(), 3);
    insta::assert_snapshot!(
        "the_finished_screen_shows_each_phase_beside_the_twin_200x50",
        screen(&app, 200, 50).backend()
    );
    let t = screen(&app, 100, 30);
    insta::assert_snapshot!(t.backend());
    let screen_text = text(&t);
    for needle in [
        "phase",
        "queue end",
        "1 0-25s",
        "2 25s-45s",
        "3 45s-1.33m",
        "2.95s",
        "4.82s",
    ] {
        assert!(screen_text.contains(needle), "{needle}: {screen_text}");
    }
}
