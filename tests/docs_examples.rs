//! The documentation's examples work as written: every headless command in the ```sh blocks of
//! README.md and docs/*.md runs (all at once, in parallel) and exits 0 with output, and every
//! relative link between those pages points to a file (and a heading, if it names one).

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_backlog");

/// Longest any example may run. The longest documented one takes about 15 s.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Fewest headless examples the pages must hold, so the test cannot pass by finding none.
const MIN_EXAMPLES: usize = 5;

/// Options whose value is a file the run writes: redirected into a scratch directory.
const OUTPUT_OPTIONS: &[&str] = &["--csv", "--record", "--save-run"];

/// README.md and every docs/*.md, README first.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut docs: Vec<PathBuf> = fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("docs/ is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    docs.sort();
    let mut pages = vec![root.join("README.md")];
    pages.extend(docs);
    pages
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The page's path as the messages show it: relative to the crate root.
fn shown(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A fenced code block: its info string's first word, its body, the line its body starts on.
struct Block {
    lang: String,
    body: String,
    first_line: usize,
}

/// The opening or closing fence on a line: its character and length, and the info string.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.len() - rest.trim_start_matches(ch).len();
    (len >= 3).then(|| (ch, len, rest[len..].trim()))
}

/// Every fenced code block of a page, and the page's lines outside them (number, text).
fn split_fences(text: &str) -> (Vec<Block>, Vec<(usize, &str)>) {
    let mut blocks = Vec::new();
    let mut prose = Vec::new();
    let mut open: Option<(char, usize, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        match open.take() {
            None => match fence(line) {
                Some((ch, len, info)) => {
                    let lang = info.split_whitespace().next().unwrap_or("").to_string();
                    let block = Block {
                        lang,
                        body: String::new(),
                        first_line: number + 1,
                    };
                    open = Some((ch, len, block));
                }
                None => prose.push((number, line)),
            },
            Some((ch, len, mut block)) => match fence(line) {
                Some((c, l, info)) if c == ch && l >= len && info.is_empty() => blocks.push(block),
                _ => {
                    block.body.push_str(line);
                    block.body.push('\n');
                    open = Some((ch, len, block));
                }
            },
        }
    }
    if let Some((_, _, block)) = open {
        panic!(
            "a code block starting on line {} is never closed",
            block.first_line - 1
        );
    }
    (blocks, prose)
}

/// One command of a shell block, split into words as a shell would.
#[derive(Debug, PartialEq)]
struct ShellCommand {
    words: Vec<String>,
    /// Line of the block (0-based) the command starts on.
    line: usize,
    /// Unquoted characters a shell would act on (pipes, redirections, variables, globs...).
    special: Vec<char>,
}

/// Splits a shell block into commands: one per line, `\` + newline continues a line, `#` at the
/// start of a word begins a comment, single and double quotes and backslashes quote as in sh.
fn shell_commands(body: &str) -> Vec<ShellCommand> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut special = Vec::new();
    let mut word: Option<String> = None;
    let mut line = 0;
    let mut start = 0;
    let mut chars = body.chars().peekable();
    let end_command = |words: &mut Vec<String>, special: &mut Vec<char>, start: usize| {
        let command = ShellCommand {
            words: std::mem::take(words),
            line: start,
            special: std::mem::take(special),
        };
        (!command.words.is_empty()).then_some(command)
    };
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
                commands.extend(end_command(&mut words, &mut special, start));
                line += 1;
                start = line;
            }
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '#' if word.is_none() => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {
                    line += 1;
                    if let Some(w) = word.take() {
                        words.push(w);
                    }
                }
                Some(escaped) => word.get_or_insert_with(String::new).push(escaped),
                None => {}
            },
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    line += usize::from(q == '\n');
                    w.push(q);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' if chars.peek().is_some_and(|n| "\"\\$`\n".contains(*n)) => {
                            let n = chars.next().unwrap_or('\\');
                            if n == '\n' {
                                line += 1;
                            } else {
                                w.push(n);
                            }
                        }
                        '$' | '`' => {
                            special.push(q);
                            w.push(q);
                        }
                        _ => {
                            line += usize::from(q == '\n');
                            w.push(q);
                        }
                    }
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' => {
                special.push(c);
                word.get_or_insert_with(String::new).push(c);
            }
            '~' if word.is_none() => {
                special.push(c);
                word = Some(c.to_string());
            }
            _ => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word.take() {
        words.push(w);
    }
    commands.extend(end_command(&mut words, &mut special, start));
    commands
}

/// A documented headless run: where it is written, and backlog's arguments.
struct Example {
    place: String,
    written: String,
    args: Vec<String>,
    /// `PRODUCER | backlog ...`: the producer's words; its output is backlog's stdin.
    input: Option<Vec<String>>,
}

/// A command split at a lone `|` into the producer and the rest, if it is a simple pipe.
fn split_pipe(command: &ShellCommand) -> (Option<Vec<String>>, Vec<String>, Vec<char>) {
    let mut special = command.special.clone();
    match command.words.iter().position(|w| w == "|") {
        Some(i) => {
            if let Some(at) = special.iter().position(|&c| c == '|') {
                special.remove(at);
            }
            (
                Some(command.words[..i].to_vec()),
                command.words[i + 1..].to_vec(),
                special,
            )
        }
        None => (None, command.words.clone(), special),
    }
}

/// backlog's arguments if the command runs backlog (`backlog ...` or `cargo run --release -- ...`).
fn backlog_args(words: &[String]) -> Option<&[String]> {
    match words {
        [first, rest @ ..] if first == "backlog" => Some(rest),
        [cargo, run, release, dashes, rest @ ..]
            if cargo == "cargo" && run == "run" && release == "--release" && dashes == "--" =>
        {
            Some(rest)
        }
        _ => None,
    }
}

/// Every headless example in the pages' ```sh blocks.
fn examples() -> Vec<Example> {
    let mut found = Vec::new();
    for page in pages() {
        let text = read(&page);
        let (blocks, _) = split_fences(&text);
        for block in blocks.iter().filter(|b| b.lang == "sh") {
            for command in shell_commands(&block.body) {
                let (input, words, special) = split_pipe(&command);
                let Some(args) = backlog_args(&words) else {
                    continue;
                };
                if !args.iter().any(|a| a == "--headless") {
                    continue; // opens the monitor: not run here
                }
                let place = format!("{}:{}", shown(&page), block.first_line + command.line);
                assert!(
                    special.is_empty(),
                    "{place}: the example uses {special:?}, which needs a shell; the docs' headless examples must run without one (a pipe from one simple command is allowed)"
                );
                // Input piped in ends with its producer, and a trace with its last row.
                let ends = input.is_some()
                    || args.iter().any(|a| a.starts_with("trace:"))
                    || ["--events", "--duration", "--preset", "--scenario"]
                        .iter()
                        .any(|end| {
                            args.iter()
                                .any(|a| a == end || a.starts_with(&format!("{end}=")))
                        });
                assert!(
                    ends,
                    "{place}: the example would run forever: give it --events or --duration"
                );
                found.push(Example {
                    place,
                    written: command.words.join(" "),
                    args: args.to_vec(),
                    input,
                });
            }
        }
    }
    found
}

/// The arguments with every output file moved into `scratch` (keeping its name), and those files.
fn redirect_outputs(args: &[String], scratch: &Path) -> (Vec<String>, Vec<PathBuf>) {
    let mut out = Vec::with_capacity(args.len());
    let mut files = Vec::new();
    let mut moved = |path: &str| {
        let name = Path::new(path)
            .file_name()
            .unwrap_or(std::ffi::OsStr::new("output"));
        let file = scratch.join(name);
        files.push(file.clone());
        file.display().to_string()
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if OUTPUT_OPTIONS.contains(&arg.as_str()) {
            out.push(arg.clone());
            if let Some(path) = args.next() {
                out.push(moved(path));
            }
        } else if let Some((option, path)) = arg
            .split_once('=')
            .filter(|(option, _)| OUTPUT_OPTIONS.contains(option))
        {
            out.push(format!("{option}={}", moved(path)));
        } else {
            out.push(arg.clone());
        }
    }
    (out, files)
}

/// What one example did.
struct Outcome {
    code: Option<i32>,
    timed_out: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    took: Duration,
}

/// Reads a child's pipe to the end on its own thread, so a full pipe never blocks the child.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for the child, killing it after `TIMEOUT`.
fn finish(mut child: Child, started: Instant) -> Outcome {
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("can wait for the example") {
            Some(status) => break status,
            None if started.elapsed() > TIMEOUT => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("can wait for the killed example");
            }
            None => thread::sleep(Duration::from_millis(20)),
        }
    };
    Outcome {
        code: status.code(),
        timed_out,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        took: started.elapsed(),
    }
}

/// Runs one example from the crate root; returns its report line, or why it failed.
fn run(example: &Example, scratch: &Path) -> Result<String, String> {
    fs::create_dir_all(scratch).expect("can create the scratch directory");
    let (args, files) = redirect_outputs(&example.args, scratch);
    let started = Instant::now();
    let stdin = match &example.input {
        Some(producer) => {
            let (program, producer_args) = producer
                .split_first()
                .ok_or_else(|| format!("{}: nothing before the pipe", example.place))?;
            let child = Command::new(program)
                .args(producer_args)
                .current_dir(ROOT)
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("{}: cannot start {program}: {e}", example.place))?;
            Stdio::from(child.stdout.expect("a piped stdout"))
        }
        None => Stdio::null(),
    };
    let child = Command::new(BIN)
        .args(&args)
        .current_dir(ROOT)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: cannot start {BIN}: {e}", example.place))?;
    let outcome = finish(child, started);
    let report = format!(
        "{:>5.1}s  exit {:?}  {:>6} bytes  {}: {}",
        outcome.took.as_secs_f64(),
        outcome.code,
        outcome.stdout.len(),
        example.place,
        example.written
    );
    let mut problems = Vec::new();
    if outcome.timed_out {
        problems.push(format!("still running after {TIMEOUT:?}; killed"));
    } else if outcome.code != Some(0) {
        problems.push(format!("exit code {:?}, expected 0", outcome.code));
    }
    if outcome.stdout.is_empty() {
        problems.push("printed nothing on stdout".to_string());
    }
    for file in &files {
        if !fs::metadata(file).is_ok_and(|m| m.len() > 0) {
            problems.push(format!("did not write {}", file.display()));
        }
    }
    if problems.is_empty() {
        Ok(report)
    } else {
        Err(format!(
            "{report}\n    {}\n    stderr: {}",
            problems.join("; "),
            String::from_utf8_lossy(&outcome.stderr).trim_end()
        ))
    }
}

#[test]
fn every_headless_example_in_the_readme_and_docs_runs_as_written() {
    let examples = examples();
    assert!(
        examples.len() >= MIN_EXAMPLES,
        "found only {} headless examples in README.md and docs/*.md, expected at least {MIN_EXAMPLES}",
        examples.len()
    );
    let scratch =
        std::env::temp_dir().join(format!("backlog-docs-examples-{}", std::process::id()));
    let started = Instant::now();
    let results: Vec<Result<String, String>> = thread::scope(|s| {
        let runs: Vec<_> = examples
            .iter()
            .enumerate()
            .map(|(i, example)| {
                let scratch = scratch.join(i.to_string());
                s.spawn(move || run(example, &scratch))
            })
            .collect();
        runs.into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("the runner panicked".into()))
            })
            .collect()
    });
    let _ = fs::remove_dir_all(&scratch);
    println!(
        "ran {} headless examples from README.md and docs/ in {:.1}s:",
        examples.len(),
        started.elapsed().as_secs_f64()
    );
    for result in &results {
        match result {
            Ok(report) => println!("  ok   {report}"),
            Err(report) => println!("  FAIL {report}"),
        }
    }
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {} documented examples failed:\n{}",
        failed.len(),
        results.len(),
        failed
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    // Links show their text only.
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](").zip(after.find(')')) {
            Some((mid, close)) if mid < close => {
                text.push_str(&after[..mid]);
                rest = &after[close + 1..];
            }
            _ => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside code blocks), with GitHub's -1, -2 for repeats.
fn anchors(text: &str) -> Vec<String> {
    let (_, prose) = split_fences(text);
    let mut seen: HashMap<String, usize> = HashMap::new();
    prose
        .iter()
        .filter_map(|(_, line)| {
            let hashes = line.len() - line.trim_start_matches('#').len();
            let title = &line[hashes..];
            ((1..=6).contains(&hashes) && (title.is_empty() || title.starts_with(' ')))
                .then(|| slug(title.trim().trim_end_matches('#').trim()))
        })
        .map(|base| {
            let n = seen.entry(base.clone()).or_insert(0);
            let anchor = if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            *n += 1;
            anchor
        })
        .collect()
}

/// A line with its code spans blanked out (a `[x](y)` in code is not a link).
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let ticks = rest[open..].len() - rest[open..].trim_start_matches('`').len();
        let delimiter = &rest[open..open + ticks];
        let after = &rest[open + ticks..];
        match after.find(delimiter) {
            Some(close) => rest = &after[close + ticks..],
            None => {
                out.push_str(delimiter);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The link targets on a prose line: `[text](target)`, `![alt](target)`, `[ref]: target`.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut targets = Vec::new();
    if let Some(definition) = line.trim_start().strip_prefix('[') {
        if let Some((_, target)) = definition.split_once("]:") {
            if let Some(target) = target.split_whitespace().next() {
                targets.push(target.to_string());
            }
        }
    }
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(close) = after.find(')') else { break };
        let inside = after[..close].trim();
        let target = inside.split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_string());
        rest = &after[close + 1..];
    }
    targets
}

#[test]
fn every_relative_link_in_the_readme_and_docs_points_to_a_file() {
    let pages = pages();
    let mut anchors_of: HashMap<PathBuf, Vec<String>> = HashMap::new();
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in &pages {
        let text = read(page);
        let dir = page.parent().expect("a page is in a directory");
        let (_, prose) = split_fences(&text);
        for (number, line) in prose {
            for target in link_targets(line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target.as_str(), None),
                };
                let place = format!("{}:{number}: ({target})", shown(page));
                if path.is_empty() {
                    continue; // an anchor in the same page: checked below
                }
                checked += 1;
                let file = dir.join(path);
                if !file.exists() {
                    broken.push(format!("{place}: no such file {}", shown(&file)));
                    continue;
                }
                if let Some(anchor) = anchor.filter(|_| path.ends_with(".md")) {
                    let file = fs::canonicalize(&file).expect("an existing file has a path");
                    let known = anchors_of
                        .entry(file.clone())
                        .or_insert_with(|| anchors(&read(&file)));
                    if !known.iter().any(|a| a == anchor) {
                        broken.push(format!(
                            "{place}: {} has no heading #{anchor}",
                            shown(&file)
                        ));
                    }
                }
            }
        }
        // Anchors within the page.
        let own = anchors(&text);
        for (number, line) in split_fences(&text).1 {
            for target in link_targets(line) {
                if let Some(anchor) = target.strip_prefix('#') {
                    if !own.iter().any(|a| a == anchor) {
                        broken.push(format!(
                            "{}:{number}: (#{anchor}): no such heading in the page",
                            shown(page)
                        ));
                    }
                }
            }
        }
    }
    println!("checked {checked} relative links in {} pages", pages.len());
    assert!(checked > 0, "found no relative links at all");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn examples_are_split_like_a_shell_would() {
    let body = "backlog --rate 9/s \\\n        --headless   # a comment\n\
                cargo run --release -- --scenario 'my demo.toml' --csv \"a b.csv\" --headless\n\
                # only a comment\n\
                backlog --rate fast --headless | head\n";
    let commands = shell_commands(body);
    let words: Vec<Vec<&str>> = commands
        .iter()
        .map(|c| c.words.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        words,
        vec![
            vec!["backlog", "--rate", "9/s", "--headless"],
            vec![
                "cargo",
                "run",
                "--release",
                "--",
                "--scenario",
                "my demo.toml",
                "--csv",
                "a b.csv",
                "--headless"
            ],
            vec!["backlog", "--rate", "fast", "--headless", "|", "head"],
        ]
    );
    assert_eq!(
        commands.iter().map(|c| c.line).collect::<Vec<_>>(),
        vec![0, 2, 4]
    );
    assert!(commands[..2].iter().all(|c| c.special.is_empty()));
    assert_eq!(commands[2].special, vec!['|']);
    assert_eq!(
        backlog_args(&commands[1].words).map(<[String]>::len),
        Some(5)
    );

    let scratch = Path::new("/scratch");
    let args: Vec<String> = ["--csv", "out/q.csv", "--record=demo.gif", "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (moved, files) = redirect_outputs(&args, scratch);
    assert_eq!(
        moved,
        vec![
            "--csv",
            "/scratch/q.csv",
            "--record=/scratch/demo.gif",
            "--json"
        ]
    );
    assert_eq!(
        files,
        vec![
            PathBuf::from("/scratch/q.csv"),
            PathBuf::from("/scratch/demo.gif")
        ]
    );
}

#[test]
fn anchors_are_made_like_github_makes_them() {
    assert_eq!(slug("Command line"), "command-line");
    assert_eq!(
        slug("JSON summary (`--headless --json`)"),
        "json-summary---headless---json"
    );
    assert_eq!(slug("Headless output: the log"), "headless-output-the-log");
    assert_eq!(
        anchors("# A\n## B\n```\n# not a heading\n```\n## B\n#nope\n"),
        vec!["a", "b", "b-1"]
    );
    assert_eq!(
        link_targets("see [a](docs/a.md#x), ![img](demo.gif) and `[no](link)`"),
        vec!["docs/a.md#x", "demo.gif"]
    );
}

/// The number `text` starts with ("2.64 M/s" → 2.64; "1,600" → 1600), and what follows it.
fn leading_number(text: &str) -> Option<(f64, &str)> {
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(text.len());
    let number = text[..end].trim_end_matches(['.', ',']).replace(',', "");
    let value = number.parse().ok()?;
    Some((value, &text[end..]))
}

/// The median a table cell states and the range after it: "median 100% (3 runs: 91-120%)"
/// → (100, 91, 120).
fn stated_median_and_range(cell: &str) -> Option<(f64, f64, f64)> {
    let (_, after) = cell.split_once("median ")?;
    let (median, mut rest) = leading_number(after)?;
    // The range: the first "low-high" after the median.
    while let Some(start) = rest.find(|c: char| c.is_ascii_digit()) {
        let (low, tail) = leading_number(&rest[start..])?;
        if let Some((high, _)) = tail.strip_prefix('-').and_then(leading_number) {
            return Some((median, low, high));
        }
        rest = tail;
    }
    None
}

/// Every ratio in the performance tables (a row whose goal is "… vs" a baseline) states the
/// median over its runs and their range (the median inside it), or says it is one run: one
/// run, the best or any other, must not read as the rule.
#[test]
fn every_ratio_in_the_performance_tables_states_a_median_and_a_range() {
    let page = Path::new(ROOT).join("docs/performance.md");
    let text = read(&page);
    let mut ratios = 0;
    for (n, line) in text.lines().enumerate() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // "| goal | measured | target | ..." splits into "", goal, measured, ...
        let (Some(goal), Some(measured)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        if !line.starts_with('|') || !goal.contains(" vs ") {
            continue;
        }
        ratios += 1;
        let at = format!("{}:{}: {line}", shown(&page), n + 1);
        if measured.contains("one run") {
            continue;
        }
        let (median, low, high) = stated_median_and_range(measured)
            .unwrap_or_else(|| panic!("{at}: no \"median X (runs low-high)\""));
        assert!(
            low <= median && median <= high,
            "{at}: median outside its range"
        );
    }
    assert!(ratios >= 3, "the ratio rows were not found: {ratios}");
}

#[test]
fn a_stated_median_and_range_is_read_from_its_cell() {
    let cell = "median 316× (3 runs: about 310-360×, against one Python run)";
    assert_eq!(stated_median_and_range(cell), Some((316.0, 310.0, 360.0)));
    let cell = "median 2.64 M/s (3 runs: 2.60-3.00 M/s)";
    assert_eq!(stated_median_and_range(cell), Some((2.64, 2.6, 3.0)));
    assert_eq!(stated_median_and_range("100% (runs 91-120%)"), None);
    assert_eq!(stated_median_and_range("median 100%"), None);
    assert_eq!(leading_number("1,600 events"), Some((1600.0, " events")));
}
