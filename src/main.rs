//! Parses the command line and picks the face: the live monitor or the headless runner.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use backlog::cli::{Cli, RunArgs, Tool};
use backlog::engine::{Command, Engine, EngineConfig};
use backlog::headless::{self, CsvWriter, HeadlessOptions, Interrupt};
use backlog::tui::{self, TuiOptions};

/// Exit code for bad input.
const BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    quiet_injected_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err),
    };
    match cli.command {
        Some(Tool::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "backlog",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Some(Tool::Man) => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("cannot write the man page: {e}"), 1),
            }
        }
        None => run(&cli.run),
    }
}

/// Panics injected by `--fail-rate` are counted as failed events, not reported as crashes.
fn quiet_injected_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info
            .payload()
            .downcast_ref::<backlog::engine::pool::InjectedPanic>()
            .is_none()
        {
            previous(info);
        }
    }));
}

/// Prints clap's message as one line (help and version as they are) and picks the exit code.
fn clap_exit(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        _ => {
            // clap's message spans lines (a list of missing options, usage, a tip): keep its first
            // paragraph, joined into one line.
            let rendered = err.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let message = message.join(" ");
            fail(
                &format!(
                    "{} (see backlog --help)",
                    message.trim_start_matches("error: ")
                ),
                BAD_INPUT,
            )
        }
    }
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("backlog: {message}");
    ExitCode::from(code)
}

fn run(args: &RunArgs) -> ExitCode {
    let config = match args.engine_config() {
        Ok(config) => config,
        Err(message) => return fail(&message, BAD_INPUT),
    };
    if !args.headless && !std::io::stdout().is_terminal() {
        return fail(
            "stdout is not a terminal: the monitor needs one; use --headless for a log, --json or --csv",
            BAD_INPUT,
        );
    }
    let csv = match &args.csv {
        Some(path) => match CsvWriter::create(path) {
            Ok(csv) => Some(csv),
            Err(e) => {
                return fail(
                    &format!("--csv: cannot write {}: {e}", path.display()),
                    BAD_INPUT,
                );
            }
        },
        None => None,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("backlog-runtime")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    let result = if args.headless {
        runtime.block_on(run_headless(
            config,
            HeadlessOptions {
                json: args.json,
                csv,
            },
        ))
    } else {
        runtime.block_on(run_monitor(config, args))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message, 1),
    }
}

async fn run_headless(config: EngineConfig, options: HeadlessOptions) -> Result<(), String> {
    let handle = Engine::start(config)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(forward_signals(tx));
    let result = headless::run(&handle, options, rx).await;
    match result {
        Ok(_) => Ok(()),
        // A closed pipe (e.g. `| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
    }
}

/// First SIGINT/SIGTERM/SIGHUP: stop and report. Second: leave at once.
async fn forward_signals(tx: tokio::sync::mpsc::UnboundedSender<Interrupt>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        return;
    };
    for nth in 0.. {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
        if nth == 0 {
            let _ = tx.send(Interrupt::Stop);
        } else {
            eprintln!("backlog: second interrupt, leaving now");
            std::process::exit(130);
        }
    }
}

async fn run_monitor(config: EngineConfig, args: &RunArgs) -> Result<(), String> {
    let handle = Engine::start(config)?;
    let options = TuiOptions {
        fps: args.fps,
        exit_when_done: args.exit_when_done,
    };
    let result = tui::run(&handle, options).await;
    handle.send(Command::Stop);
    result.map_err(|e| format!("terminal error: {e}"))
}
