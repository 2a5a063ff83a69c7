//! Key bindings: which key press means which [`Action`] (pure, no state).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::app::Action;

/// Rows the worker grid scrolls per key press.
const SCROLL_ROWS: i32 = 1;

/// The action a key press asks for; `None` for releases, repeats and unbound keys.
pub fn action_for(key: KeyEvent) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    let shift = key.modifiers.contains(KeyModifiers::SHIFT);
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let action = match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        _ if ctrl => return None,
        KeyCode::Char('+' | '=') => Action::AddWorker,
        KeyCode::Char('-' | '_') => Action::RemoveWorker,
        KeyCode::Up => Action::RateUp { coarse: shift },
        KeyCode::Down => Action::RateDown { coarse: shift },
        KeyCode::PageUp => Action::RateUp { coarse: true },
        KeyCode::PageDown => Action::RateDown { coarse: true },
        KeyCode::Right => Action::ServiceUp,
        KeyCode::Left => Action::ServiceDown,
        KeyCode::Char('A') => Action::ToggleAutoscale,
        KeyCode::Char('a') => Action::CycleArrival,
        KeyCode::Char('d') => Action::CycleServiceDist,
        KeyCode::Char('w') => Action::ToggleWorkMode,
        KeyCode::Char(' ') => Action::TogglePause,
        KeyCode::Char('r') => Action::ResetStats,
        KeyCode::Tab => Action::CycleLatencyKind,
        KeyCode::Char('v') => Action::ToggleWindow,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('j') => Action::ScrollWorkers(SCROLL_ROWS),
        KeyCode::Char('k') => Action::ScrollWorkers(-SCROLL_ROWS),
        KeyCode::Char('q' | 'Q') => Action::Quit,
        KeyCode::Esc => Action::Back,
        _ => return None,
    };
    Some(action)
}

/// One line per binding, for the help overlay: (keys, what they do).
pub const BINDINGS: &[(&str, &str)] = &[
    ("+ / =", "one worker more"),
    ("-", "one worker less"),
    ("↑ / ↓", "arrival rate up / down (×1.1)"),
    ("Shift+↑↓ PgUp/PgDn", "arrival rate ×2 / ÷2"),
    ("→ / ←", "service time longer / shorter (×1.25)"),
    ("a", "cycle arrival process"),
    ("d", "cycle service distribution"),
    ("w", "toggle work mode (sleep / cpu)"),
    ("A", "pause / resume the autoscaling policy"),
    ("space", "pause / resume the source"),
    ("r", "reset statistics"),
    ("tab", "cycle latency: wait / service / end-to-end"),
    ("v", "latency: recent window / whole run"),
    ("j / k", "scroll the worker grid"),
    ("?", "this help"),
    ("q  Esc  Ctrl-C", "quit (Esc closes help first)"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventState;

    fn press(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn with(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn worker_keys() {
        assert_eq!(
            action_for(press(KeyCode::Char('+'))),
            Some(Action::AddWorker)
        );
        // `+` is Shift+= on most layouts; terminals report it with SHIFT.
        assert_eq!(
            action_for(with(KeyCode::Char('+'), KeyModifiers::SHIFT)),
            Some(Action::AddWorker)
        );
        assert_eq!(
            action_for(press(KeyCode::Char('='))),
            Some(Action::AddWorker)
        );
        assert_eq!(
            action_for(press(KeyCode::Char('-'))),
            Some(Action::RemoveWorker)
        );
    }

    #[test]
    fn rate_and_service_keys() {
        assert_eq!(
            action_for(press(KeyCode::Up)),
            Some(Action::RateUp { coarse: false })
        );
        assert_eq!(
            action_for(press(KeyCode::Down)),
            Some(Action::RateDown { coarse: false })
        );
        assert_eq!(
            action_for(with(KeyCode::Up, KeyModifiers::SHIFT)),
            Some(Action::RateUp { coarse: true })
        );
        assert_eq!(
            action_for(with(KeyCode::Down, KeyModifiers::SHIFT)),
            Some(Action::RateDown { coarse: true })
        );
        assert_eq!(
            action_for(press(KeyCode::PageUp)),
            Some(Action::RateUp { coarse: true })
        );
        assert_eq!(
            action_for(press(KeyCode::PageDown)),
            Some(Action::RateDown { coarse: true })
        );
        assert_eq!(action_for(press(KeyCode::Right)), Some(Action::ServiceUp));
        assert_eq!(action_for(press(KeyCode::Left)), Some(Action::ServiceDown));
    }

    #[test]
    fn other_keys() {
        let cases = [
            (KeyCode::Char('a'), Action::CycleArrival),
            (KeyCode::Char('d'), Action::CycleServiceDist),
            (KeyCode::Char('w'), Action::ToggleWorkMode),
            (KeyCode::Char(' '), Action::TogglePause),
            (KeyCode::Char('r'), Action::ResetStats),
            (KeyCode::Tab, Action::CycleLatencyKind),
            (KeyCode::Char('v'), Action::ToggleWindow),
            (KeyCode::Char('?'), Action::ToggleHelp),
            (KeyCode::Char('q'), Action::Quit),
            (KeyCode::Esc, Action::Back),
        ];
        for (code, action) in cases {
            assert_eq!(action_for(press(code)), Some(action), "{code:?}");
        }
    }

    #[test]
    fn ctrl_c_quits_and_other_ctrl_keys_do_nothing() {
        assert_eq!(
            action_for(with(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(with(KeyCode::Char('a'), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(action_for(press(KeyCode::Char('c'))), None);
    }

    #[test]
    fn only_presses_count() {
        for kind in [KeyEventKind::Release, KeyEventKind::Repeat] {
            let key = KeyEvent::new_with_kind_and_state(
                KeyCode::Char('+'),
                KeyModifiers::NONE,
                kind,
                KeyEventState::NONE,
            );
            assert_eq!(action_for(key), None, "{kind:?}");
        }
    }

    #[test]
    fn unbound_keys_do_nothing() {
        assert_eq!(action_for(press(KeyCode::Char('x'))), None);
        assert_eq!(action_for(press(KeyCode::F(1))), None);
    }
}
