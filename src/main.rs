//! Parses the command line and picks the face: the live monitor or the headless runner.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use backlog::autoscaler::{AutoscaleControl, Autoscaler};
use backlog::cli::{Cli, PublishArgs, RunArgs, RunPlan, Tool};
use backlog::control::scenario::{self, Scenario, Step};
use backlog::engine::SourceKind;
use backlog::engine::source::broker::url::redact_credentials;
use backlog::engine::{Command, Engine, EngineConfig, EngineHandle, InjectPanic};
use backlog::error::{BAD_INPUT, Error};
use backlog::headless::{self, CsvWriter, HeadlessOptions};
use backlog::model::autoscale::AutoscaleSpec;
use backlog::publish::Progress;
use backlog::record::{self, progress};
use backlog::runlog::{self, MarkKind, RunLogFile, RunLogWriter};
use backlog::tui::{self, TuiOptions};

/// Test only, read once at startup: `BACKLOG_TEST_PANIC=render|engine|worker` makes the program
/// panic about half a second in, inside rendering, in the engine's statistics thread, or in a
/// worker's loop, so tests can check that the terminal is restored and the panic reported;
/// `twin` makes the twin panic at its first estimate, so tests can check that the run goes on.
const TEST_PANIC_VAR: &str = "BACKLOG_TEST_PANIC";

/// Where `BACKLOG_TEST_PANIC` asks for a panic.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TestPanic {
    Render,
    Engine(InjectPanic),
}

fn test_panic() -> Option<TestPanic> {
    match std::env::var(TEST_PANIC_VAR).ok()?.as_str() {
        "render" => Some(TestPanic::Render),
        "engine" => Some(TestPanic::Engine(InjectPanic::Statistics)),
        "worker" => Some(TestPanic::Engine(InjectPanic::Worker)),
        "twin" => Some(TestPanic::Engine(InjectPanic::Twin)),
        _ => None,
    }
}

/// The engine's fault, if one of its threads panicked: reported instead of the run's figures.
fn engine_fault(handle: &EngineHandle) -> Result<(), Error> {
    match handle.fault() {
        Some(fault) => Err(Error::Fault(fault)),
        None => Ok(()),
    }
}

fn main() -> ExitCode {
    backlog::engine::work::quiet_injected_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(&err),
    };
    match cli.command {
        Some(Tool::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "backlog", &mut script);
            print_all(&script, "the completions")
        }
        Some(Tool::Man) => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_all(&page, "the man page"),
                Err(e) => fail(&format!("cannot write the man page: {e}"), 1),
            }
        }
        Some(Tool::Publish(args)) => publish(&args),
        Some(Tool::Replay(args)) => exit_with(backlog::replay::run(&args)),
        Some(Tool::Export(args)) => exit_with(backlog::export::run(&args)),
        Some(Tool::Sweep(args)) => sweep(&args),
        None => run(&cli.run),
    }
}

/// `backlog publish URL`: the publisher on a thread of its own, stopped by Ctrl-C or SIGTERM;
/// its summary either way.
fn publish(args: &PublishArgs) -> ExitCode {
    let plan = match args.plan() {
        Ok(plan) => plan,
        Err(error) => return fail(&error.to_string(), error.exit_code()),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    let publisher = {
        let (stop, progress) = (Arc::clone(&stop), Arc::clone(&progress));
        std::thread::spawn(move || backlog::publish::run(&plan, &progress, &stop))
    };
    let watched = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|runtime| runtime.block_on(watch_publisher(&publisher, &stop, &progress)));
    if watched.is_err() {
        stop.store(true, Ordering::Relaxed);
    }
    match publisher.join() {
        Ok(Ok(summary)) => {
            println!("backlog publish: {summary}");
            ExitCode::SUCCESS
        }
        Ok(Err(message)) => fail(&message, BAD_INPUT),
        Err(_) => fail("the publisher panicked", 101),
    }
}

/// Until the publisher ends: a progress line each second on a terminal's stderr; a quit signal
/// stops it.
async fn watch_publisher(
    publisher: &std::thread::JoinHandle<Result<backlog::publish::PublishSummary, String>>,
    stop: &AtomicBool,
    progress: &Progress,
) {
    let mut signals = backlog::terminal::QuitSignals::new().ok();
    let show = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    while !publisher.is_finished() {
        tokio::select! {
            () = async { match signals.as_mut() { Some(s) => s.recv().await, None => std::future::pending().await } } => {
                stop.store(true, Ordering::Relaxed);
            }
            _ = tick.tick() => if show {
                eprint!(
                    "\rpublished {}, confirmed {}, failed {}   ",
                    progress.published.load(Ordering::Relaxed),
                    progress.confirmed.load(Ordering::Relaxed),
                    progress.failed.load(Ordering::Relaxed)
                );
            },
            () = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
        }
    }
    if show {
        eprintln!();
    }
}

fn exit_with(result: Result<(), Error>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error.to_string(), error.exit_code()),
    }
}

/// `backlog sweep`: exit code 1 when no candidate meets the SLO.
fn sweep(args: &backlog::sweep::SweepArgs) -> ExitCode {
    match backlog::sweep::run(args) {
        Ok(backlog::sweep::Ending::Done) => ExitCode::SUCCESS,
        Ok(backlog::sweep::Ending::SloUnmet(message)) => fail(&message, 1),
        Err(error) => fail(&error.to_string(), error.exit_code()),
    }
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
            // clap repeats the value it refused: never a password in an address.
            let message = redact_credentials(&message.join(" "));
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

/// Writes a tool's whole output to stdout. A reader that closed the pipe early (`| head`) had
/// what it wanted: that ends quietly, with success, as the headless log does.
fn print_all(output: &[u8], what: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(output).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("cannot write {what}: {e}"), 1),
    }
}

/// The reader of stdout has gone: its choice, not an error.
fn is_closed_pipe(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe
}

fn fail(message: &str, code: u8) -> ExitCode {
    // One line, whatever the user typed (a path or value with a line break in it).
    eprintln!("backlog: {}", backlog::text::escape_controls(message));
    ExitCode::from(code)
}

fn run(args: &RunArgs) -> ExitCode {
    if args.list_scenarios {
        return print_all(list_scenarios().as_bytes(), "the scenarios");
    }
    match run_plan(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error.to_string(), error.exit_code()),
    }
}

/// Checks everything that can be checked before the run (bad input exits 2 with nothing run),
/// then runs the face the options ask for.
fn run_plan(args: &RunArgs) -> Result<(), Error> {
    let RunPlan {
        mut config,
        scenario,
        autoscale,
    } = args.plan()?;
    let test_panic = test_panic();
    if let Some(TestPanic::Engine(site)) = test_panic {
        config.inject_panic = Some(site);
    }
    check_face(args, &config)?;
    // A headless run against a broker that does not answer is bad input: said before it runs.
    if let (true, SourceKind::Broker(broker)) = (args.headless, &config.source) {
        broker
            .probe(backlog::engine::source::broker::CONNECT_TIMEOUT)
            .map_err(Error::Usage)?;
    }
    let recording = args
        .record
        .as_deref()
        .map(record::Output::create)
        .transpose()?;
    let csv = args.csv.as_deref().map(open_csv).transpose()?;
    let scenario_name = scenario.as_ref().map(|s| s.name.as_str());
    let save = args
        .save_run
        .as_deref()
        .map(|path| open_run_log(path, &config, scenario_name))
        .transpose()?;
    let runtime = backlog::runtime::multi_thread(2, "backlog-runtime")?;
    if args.headless {
        let options = HeadlessOptions {
            json: args.json,
            csv,
            preamble: scenario
                .iter()
                .map(|s| format!("# scenario {}: {}", s.name, s.description))
                .collect(),
            notes: None,
            autoscale: None,
        };
        let steps = scenario.map(|s| s.steps).unwrap_or_default();
        runtime.block_on(run_headless(config, options, steps, save, autoscale))
    } else {
        let render_panic = test_panic == Some(TestPanic::Render);
        let faces = MonitorRun {
            scenario,
            record: recording,
            save,
            render_panic,
            autoscale,
        };
        runtime.block_on(run_monitor(config, args, faces))
    }
}

/// The face needs what it needs: the monitor a terminal, an offscreen run an end.
fn check_face(args: &RunArgs, config: &EngineConfig) -> Result<(), Error> {
    if !args.headless && !args.offscreen && !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "stdout is not a terminal: the monitor needs one; use --headless for a log, --json or --csv, or --offscreen to record without a terminal".into(),
        ));
    }
    if args.offscreen && config.max_events.is_none() && config.duration.is_none() {
        return Err(Error::Usage(
            "--offscreen needs a run that ends: give --duration or --events, or a scenario with an [end]".into(),
        ));
    }
    Ok(())
}

fn open_csv(path: &std::path::Path) -> Result<CsvWriter, Error> {
    CsvWriter::create(path).map_err(|source| Error::Unwritable {
        option: "--csv",
        path: path.to_path_buf(),
        source,
    })
}

fn open_run_log(
    path: &std::path::Path,
    config: &EngineConfig,
    scenario: Option<&str>,
) -> Result<RunLogFile, Error> {
    RunLogFile::create(path, &runlog::RunInfo::of(config, scenario)).map_err(|source| {
        Error::Unwritable {
            option: "--save-run",
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Starts the run log's writer on the engine's trace (passed on to the headless log with `tee`).
fn start_run_log(
    save: Option<RunLogFile>,
    handle: &EngineHandle,
    tee: bool,
) -> Result<Option<RunLogWriter>, Error> {
    save.map(|file| file.start(handle.trace(), tee))
        .transpose()
        .map_err(|source| Error::System {
            what: "cannot start the run log's writer",
            source,
        })
}

/// Writes the rest of the run log, and says if it lost anything.
fn close_run_log(
    writer: Option<RunLogWriter>,
    last: Option<&std::sync::Arc<backlog::engine::Snapshot>>,
) -> Result<(), Error> {
    let Some(writer) = writer else {
        return Ok(());
    };
    let end = writer.finish(last).map_err(Error::Output)?;
    if let Some(warning) = runlog::lost_warning(&end) {
        eprintln!("backlog: {warning}");
    }
    Ok(())
}

/// The bundled scenarios, one a line: name, then description.
fn list_scenarios() -> String {
    let mut list = String::from("Bundled scenarios (play one with --scenario NAME):\n");
    for (name, description) in scenario::bundled_list() {
        list.push_str(&format!("  {name:<18}{description}\n"));
    }
    list
}

async fn run_headless(
    config: EngineConfig,
    mut options: HeadlessOptions,
    steps: Vec<Step>,
    save: Option<RunLogFile>,
    autoscale: Option<AutoscaleSpec>,
) -> Result<(), Error> {
    let handle = Engine::start(config)?;
    let writer = start_run_log(save, &handle, !options.json)?;
    let signals = backlog::terminal::QuitSignals::new().map_err(|source| Error::System {
        what: "cannot watch for signals",
        source,
    })?;
    let (notes_tx, notes_rx) = tokio::sync::mpsc::unbounded_channel();
    options.notes = Some(notes_rx);
    let control = AutoscaleControl::default();
    let autoscaler = autoscale.as_ref().map(|spec| {
        let mut autoscaler = Autoscaler::new(&handle, spec, control.clone());
        autoscaler.notes = Some(notes_tx.clone());
        options.autoscale = Some(autoscaler.subscribe());
        options
            .preamble
            .push(format!("# autoscale {}", spec.describe()));
        autoscaler
    });
    let effects = StepEffects {
        handle: &handle,
        captions: None,
        notes: Some(&notes_tx),
        writer: writer.as_ref(),
        control: &control,
    };
    let on_step = |step: &Step| effects.apply(step);
    let face = headless::run_saving(&handle, options, signals, writer.as_ref());
    let face = backlog::autoscaler::run_alongside(&handle, autoscaler, face);
    let result = backlog::control::timeline::play_alongside(&handle, &steps, on_step, face).await;
    engine_fault(&handle)?;
    close_run_log(writer, result.as_ref().ok())?;
    // A broker that refused the login or the subscription: bad input, said last in one line.
    let source = handle.snapshot().source.clone();
    if let (Some(_), Some(error)) = (&source.broker, source.error) {
        return Err(Error::Usage(format!("--source: {error}")));
    }
    match result {
        Ok(_) => Ok(()),
        Err(e) if is_closed_pipe(&e) => Ok(()),
        Err(e) => Err(Error::Output(e)),
    }
}

/// What the monitor runs with besides the engine's configuration.
struct MonitorRun {
    scenario: Option<Scenario>,
    record: Option<record::Output>,
    save: Option<RunLogFile>,
    render_panic: bool,
    autoscale: Option<AutoscaleSpec>,
}

async fn run_monitor(config: EngineConfig, args: &RunArgs, run: MonitorRun) -> Result<(), Error> {
    let MonitorRun {
        scenario,
        record,
        save,
        render_panic,
        autoscale,
    } = run;
    let total = progress_total(&config);
    let handle = Engine::start(config)?;
    let saving = MonitorSave::start(save, &handle)?;
    let writer = saving.as_ref().map(|s| &s.writer);
    let control = AutoscaleControl::default();
    let autoscaler = autoscale
        .as_ref()
        .map(|spec| Autoscaler::new(&handle, spec, control.clone()));
    let (caption_tx, caption_rx) = tokio::sync::watch::channel(None);
    let (title, label) = monitor_titles(scenario.as_ref(), record.as_ref());
    let options = TuiOptions {
        fps: args.fps,
        exit_when_done: args.exit_when_done,
        captions: scenario.as_ref().map(|_| caption_rx),
        record,
        title,
        // A few frames in, so the monitor has drawn before it panics.
        panic_at_frame: render_panic.then_some(10),
        autoscale: autoscaler
            .as_ref()
            .map(|a| (a.subscribe(), control.clone())),
    };
    let steps = scenario.map(|s| s.steps).unwrap_or_default();
    let effects = StepEffects {
        handle: &handle,
        captions: Some(&caption_tx),
        notes: None,
        writer,
        control: &control,
    };
    let on_step = |step: &Step| effects.apply(step);
    let result = if args.offscreen {
        let screen = args.screen_size();
        let size = ratatui::layout::Rect::new(0, 0, screen.width, screen.height);
        let progress = progress::Progress::new(label, total);
        let face = tui::run_offscreen(&handle, options, size, progress);
        let face = backlog::autoscaler::run_alongside(&handle, autoscaler, face);
        backlog::control::timeline::play_alongside(&handle, &steps, on_step, face).await
    } else {
        let face = tui::run(&handle, options);
        let face = backlog::autoscaler::run_alongside(&handle, autoscaler, face);
        let result =
            backlog::control::timeline::play_alongside(&handle, &steps, on_step, face).await;
        if let Ok(Some(summary)) = &result {
            eprintln!("backlog: {summary}");
        }
        result
    };
    handle.send(Command::Stop);
    engine_fault(&handle)?;
    if let Some(saving) = saving {
        saving.close(&handle).await?;
    }
    result.map(|_| ()).map_err(Error::Terminal)
}

/// What a scenario's step does beside its commands: its lines go to the headless log (`notes`,
/// and marked in the run log), its caption to the monitor (`captions`, and marked), its policy
/// is switched to. Each at the model time it was applied (just now), not at its schedule.
struct StepEffects<'a> {
    handle: &'a EngineHandle,
    captions: Option<&'a tokio::sync::watch::Sender<Option<String>>>,
    notes: Option<&'a tokio::sync::mpsc::UnboundedSender<(u64, String)>>,
    writer: Option<&'a RunLogWriter>,
    control: &'a AutoscaleControl,
}

impl StepEffects<'_> {
    fn apply(&self, step: &Step) {
        let applied_ns = self.handle.now_ns();
        let mark = |kind, text: &String| {
            if let Some(writer) = self.writer {
                writer.sender().mark(applied_ns, kind, text.clone());
            }
        };
        if let Some(notes) = self.notes {
            for line in scenario::log_lines(step, applied_ns) {
                mark(MarkKind::Step, &line);
                let _ = notes.send((applied_ns, line));
            }
        }
        if let Some(caption) = &step.caption {
            if let Some(captions) = self.captions {
                captions.send_replace(Some(caption.clone()));
            }
            mark(MarkKind::Caption, caption);
        }
        if let Some(spec) = &step.autoscale {
            self.control.switch_to(spec.clone());
        }
    }
}

/// The monitor's window title, and the offscreen progress line's label.
fn monitor_titles(
    scenario: Option<&Scenario>,
    record: Option<&record::Output>,
) -> (String, String) {
    let title = match scenario {
        Some(s) => format!("backlog --scenario {}", s.name),
        None => "backlog".to_string(),
    };
    let label = match record {
        Some(output) => format!("recording {}", output.path().display()),
        None => "offscreen".to_string(),
    };
    (title, label)
}

/// The run log of a monitor's run: the writer, and the task that hands it every snapshot (the
/// monitor draws on its own clock).
struct MonitorSave {
    writer: RunLogWriter,
    follow: tokio::task::JoinHandle<()>,
}

impl MonitorSave {
    fn start(save: Option<RunLogFile>, handle: &EngineHandle) -> Result<Option<Self>, Error> {
        Ok(start_run_log(save, handle, false)?.map(|writer| {
            let follow = runlog::writer::follow(handle.subscribe(), writer.sender().clone());
            Self { writer, follow }
        }))
    }

    async fn close(self, handle: &EngineHandle) -> Result<(), Error> {
        self.follow.abort();
        let _ = self.follow.await;
        close_run_log(Some(self.writer), Some(&handle.snapshot()))
    }
}

/// What an offscreen run's progress is measured against: the source's end.
fn progress_total(config: &EngineConfig) -> Option<progress::Total> {
    match (config.duration, config.max_events) {
        (Some(d), _) => Some(progress::Total::ModelNs(
            d.as_nanos().min(u128::from(u64::MAX)) as u64,
        )),
        (None, Some(n)) => Some(progress::Total::Events(n)),
        (None, None) => None,
    }
}
