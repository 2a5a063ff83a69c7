//! Text for people: messages that quote what a user typed or wrote stay on one line.

/// Shows control characters as escapes (`\n`, `\u{1b}`), so a message quoting what the user
/// typed or wrote in a file stays on one line and cannot drive the terminal.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quoting_input_stay_on_one_line() {
        assert_eq!(escape_controls("no 'a\nb'"), "no 'a\\nb'");
        assert_eq!(escape_controls("x\r\u{1b}[2J"), "x\\r\\u{1b}[2J");
        assert_eq!(escape_controls("µs 日本 ok"), "µs 日本 ok");
    }
}
