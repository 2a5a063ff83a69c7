//! The engine end to end: conservation under churn, agreement with queueing theory, cpu vs sleep.

use std::collections::HashMap;
use std::time::Duration;

use backlog::engine::event::{DropReason, Trace};
use backlog::engine::settings::{ArrivalProcess, Overflow, Rate, ServiceDist, Settings, WorkMode};
use backlog::engine::snapshot::{LatencyKind, WorkerActivity};
use backlog::engine::work::Outcome;
use backlog::engine::{
    Command, Engine, EngineConfig, InjectFault, RunState, Snapshot, available_cores,
};
use backlog::model::achieved::Achieved;
use backlog::model::theory::erlang_c;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// Timing-sensitive tests take this lock so they never share the cores with each other.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// A snapshot whose figures were read after this call: the latest one may be 50 ms old, so wait
/// for two more (the first may have read its counters just before the call).
fn fresh_snapshot(handle: &backlog::engine::EngineHandle) -> std::sync::Arc<Snapshot> {
    let mut snapshots = handle.subscribe();
    snapshots.borrow_and_update();
    for _ in 0..2 {
        loop {
            match snapshots.has_changed() {
                Ok(true) => break,
                Ok(false) => std::thread::sleep(Duration::from_millis(1)),
                // The run is over: its last snapshot is final.
                Err(_) => return handle.snapshot(),
            }
        }
        snapshots.borrow_and_update();
    }
    std::sync::Arc::clone(&snapshots.borrow())
}

fn config(settings: Settings) -> EngineConfig {
    EngineConfig {
        settings,
        seed: 7,
        ..EngineConfig::default()
    }
}

fn rate(per_s: f64) -> Rate {
    Rate::per_s(per_s).unwrap()
}

/// Checks a trace for the invariants: each id started once and ended once (or dropped once),
/// no worker holds two events at a time, and every generated id is accounted for.
fn check_trace(trace: &[Trace], last: &Snapshot) {
    let mut started: HashMap<u64, u32> = HashMap::new();
    let mut ended: HashMap<u64, u32> = HashMap::new();
    let mut dropped: HashMap<u64, u32> = HashMap::new();
    let mut holding: HashMap<u32, u64> = HashMap::new();
    let mut submitted = 0u64;
    // Held at the source (a full `block` queue) when the source ended: never submitted.
    let mut abandoned = 0u64;
    for t in trace {
        match *t {
            Trace::Submitted { .. } => submitted += 1,
            Trace::Dropped {
                id,
                reason: DropReason::SourceEnded,
                ..
            } => {
                abandoned += 1;
                *dropped.entry(id).or_default() += 1;
            }
            Trace::Dropped { id, .. } => *dropped.entry(id).or_default() += 1,
            Trace::Started { worker, id, .. } => {
                *started.entry(id).or_default() += 1;
                assert!(
                    holding.insert(worker, id).is_none(),
                    "worker {worker} took event {id} while busy"
                );
            }
            Trace::Finished { worker, id, .. } => {
                *ended.entry(id).or_default() += 1;
                assert_eq!(
                    holding.remove(&worker),
                    Some(id),
                    "worker {worker} finished {id} it did not hold"
                );
            }
            _ => {}
        }
    }
    assert!(started.values().all(|&n| n == 1), "an event started twice");
    assert!(ended.values().all(|&n| n == 1), "an event finished twice");
    assert!(dropped.values().all(|&n| n == 1), "an event dropped twice");
    assert!(
        dropped.keys().all(|id| !started.contains_key(id)),
        "a dropped event was also processed"
    );
    let c = last.counters;
    assert_eq!(submitted + abandoned + c.held_at_source, c.generated);
    assert_eq!(ended.len() as u64, c.completed + c.failed);
    assert_eq!(dropped.len() as u64, c.dropped);
    if last.state == RunState::Finished {
        for id in 1..=c.generated {
            assert!(
                ended.contains_key(&id) || dropped.contains_key(&id),
                "event {id} lost"
            );
        }
    }
}

#[derive(Debug, Clone)]
enum Step {
    Workers(usize),
    Rate(f64),
    /// A very high rate for a few milliseconds, then back to the rate before.
    Flood {
        per_s: f64,
        ms: u64,
    },
    Arrival(ArrivalProcess),
    Pause(bool),
    Cap(Option<usize>),
    Overflow(Overflow),
    Work(WorkMode),
    Service(u64),
    ServiceDist(ServiceDist),
    Burst(u32),
    FailRate(f64),
    EndSource,
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1usize..=12).prop_map(Step::Workers),
        1 => prop_oneof![Just(5.0), Just(200.0), Just(5_000.0)].prop_map(Step::Rate),
        1 => (prop_oneof![Just(200_000.0), Just(1_000_000.0)], 1u64..6)
            .prop_map(|(per_s, ms)| Step::Flood { per_s, ms }),
        1 => prop_oneof![
            Just(ArrivalProcess::Fixed),
            Just(ArrivalProcess::Poisson),
            Just(ArrivalProcess::Bursty)
        ]
        .prop_map(Step::Arrival),
        1 => any::<bool>().prop_map(Step::Pause),
        1 => prop_oneof![Just(None), Just(Some(1)), Just(Some(8)), Just(Some(100))]
            .prop_map(Step::Cap),
        1 => overflow().prop_map(Step::Overflow),
        1 => work_mode().prop_map(Step::Work),
        1 => (0u64..3_000).prop_map(Step::Service),
        1 => prop_oneof![
            Just(ServiceDist::Fixed),
            Just(ServiceDist::Exp),
            Just(ServiceDist::Uniform),
            Just(ServiceDist::Lognormal)
        ]
        .prop_map(Step::ServiceDist),
        1 => (1u32..50).prop_map(Step::Burst),
        1 => prop_oneof![Just(0.0), Just(0.3), Just(1.0)].prop_map(Step::FailRate),
        // Rare, so most runs churn for a while before the source ends (and go on churning).
        1 => Just(Step::EndSource),
        3 => (1u64..30).prop_map(Step::Wait),
    ]
}

fn overflow() -> impl Strategy<Value = Overflow> {
    prop_oneof![
        Just(Overflow::Block),
        Just(Overflow::DropNew),
        Just(Overflow::DropOld)
    ]
}

fn work_mode() -> impl Strategy<Value = WorkMode> {
    prop_oneof![Just(WorkMode::Sleep), Just(WorkMode::Cpu)]
}

/// Watches every snapshot the engine publishes until the run is over (or `timeout`); returns
/// how many it saw and the first whose counters did not add up.
fn watch_snapshots(
    handle: &backlog::engine::EngineHandle,
    timeout: Duration,
) -> std::thread::JoinHandle<(u64, Option<String>)> {
    let mut snapshots = handle.subscribe();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + timeout;
        let mut seen = 0;
        while std::time::Instant::now() < deadline {
            // Closed once the last snapshot is out; that one is still to be read.
            let closed = snapshots.has_changed().is_err();
            if closed || snapshots.has_changed().unwrap_or(false) {
                let snap = std::sync::Arc::clone(&snapshots.borrow_and_update());
                seen += 1;
                if !snap.counters.conserved() {
                    return (seen, Some(format!("{:?}", snap.counters)));
                }
                if closed || snap.state.is_over() {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        (seen, None)
    })
}

/// Runs `steps` against an engine started with `settings`, then ends the source and checks the
/// invariants: every snapshot conserved, nothing left, no event lost, duplicated or held twice.
fn churn(settings: Settings, steps: &[Step]) -> Result<(), TestCaseError> {
    churn_with_fault(settings, steps, None)
}

/// `churn`, with a test-only fault in the workers (see `InjectFault`).
fn churn_with_fault(
    settings: Settings,
    steps: &[Step],
    fault: Option<InjectFault>,
) -> Result<(), TestCaseError> {
    // Floods and cpu work take both cores: never beside the timed tests.
    let _serial = timing();
    let handle = Engine::start(EngineConfig {
        trace: true,
        inject_fault: fault,
        ..config(settings)
    })
    .unwrap();
    let trace_rx = handle.trace().unwrap();
    let watcher = watch_snapshots(&handle, Duration::from_secs(90));
    let mut current_rate = handle.settings().rate;
    for s in steps {
        match *s {
            Step::Workers(n) => handle.send(Command::SetWorkers(n)),
            Step::Rate(r) => {
                current_rate = rate(r);
                handle.send(Command::SetRate(current_rate));
            }
            Step::Flood { per_s, ms } => {
                handle.send(Command::SetRate(rate(per_s)));
                std::thread::sleep(Duration::from_millis(ms));
                handle.send(Command::SetRate(current_rate));
            }
            Step::Arrival(a) => handle.send(Command::SetArrival(a)),
            Step::Pause(p) => handle.send(Command::Pause(p)),
            Step::Cap(c) => handle.send(Command::SetQueueCap(c)),
            Step::Overflow(o) => handle.send(Command::SetOverflow(o)),
            Step::Work(w) => handle.send(Command::SetWork(w)),
            Step::Service(us) => handle.send(Command::SetService(Duration::from_micros(us))),
            Step::ServiceDist(d) => handle.send(Command::SetServiceDist(d)),
            Step::Burst(b) => handle.send(Command::SetBurst(b)),
            Step::FailRate(p) => handle.send(Command::SetFailRate(p)),
            Step::EndSource => handle.send(Command::EndSource),
            Step::Wait(ms) => std::thread::sleep(Duration::from_millis(ms)),
        }
        let snap = handle.snapshot();
        prop_assert!(snap.counters.conserved(), "{:?}", snap.counters);
    }
    handle.send(Command::SetQueueCap(None));
    handle.send(Command::SetWorkers(12));
    handle.send(Command::EndSource);
    let last = handle.wait(Duration::from_secs(60));
    prop_assert_eq!(last.state, RunState::Finished);
    prop_assert!(last.counters.conserved());
    prop_assert_eq!(last.counters.queued, 0);
    prop_assert_eq!(last.counters.in_flight, 0);
    let (seen, broken) = watcher.join().unwrap();
    prop_assert!(broken.is_none(), "a snapshot did not add up: {:?}", broken);
    prop_assert!(seen > 0);
    let trace: Vec<Trace> = trace_rx.try_iter().collect();
    check_trace(&trace, &last);
    let failed = trace
        .iter()
        .filter(|t| {
            matches!(
                t,
                Trace::Finished {
                    outcome: Outcome::Failed(_),
                    ..
                }
            )
        })
        .count();
    prop_assert_eq!(failed as u64, last.counters.failed);
    Ok(())
}

/// The starting work mode and queue policy: `None` is unbounded, else a cap of 16 with a policy.
fn start_settings(
    work: WorkMode,
    policy: Option<Overflow>,
    service_us: u64,
    fail: bool,
) -> Settings {
    Settings {
        arrival: ArrivalProcess::Poisson,
        rate: rate(2_000.0),
        service: Duration::from_micros(service_us),
        service_dist: ServiceDist::Exp,
        work,
        workers: 3,
        max_workers: 12,
        queue_cap: policy.map(|_| 16),
        overflow: policy.unwrap_or(Overflow::Block),
        fail_rate: if fail { 0.2 } else { 0.0 },
        ..Settings::default()
    }
}

proptest! {
    // Seeded, so a failure comes back on the next run (the engine's timing still varies).
    #![proptest_config(ProptestConfig {
        cases: 32,
        rng_seed: RngSeed::Fixed(6),
        ..ProptestConfig::default()
    })]

    /// Random interleavings of resizes, rate changes (floods of up to 1,000,000/s), arrival
    /// changes, pauses, queue policy changes and a source end, from any work mode and queue
    /// policy: at every snapshot generated == completed + failed + dropped + queued + in_flight;
    /// at the end nothing is queued or in flight, and no event is lost, duplicated or held twice.
    #[test]
    fn conservation_under_churn(
        steps in prop::collection::vec(step(), 1..25),
        work in work_mode(),
        policy in prop::option::of(overflow()),
        service_us in 0u64..2_000,
        fail in prop::bool::ANY,
    ) {
        churn(start_settings(work, policy, service_us, fail), &steps)?;
    }
}

/// The same churn, scripted, in every work mode and queue policy, so each is covered whatever
/// the random cases draw.
#[test]
fn conservation_in_every_work_mode_and_queue_policy() {
    let script = [
        Step::Workers(1),
        Step::Flood {
            per_s: 1_000_000.0,
            ms: 3,
        },
        Step::Workers(8),
        Step::Wait(10),
        Step::Arrival(ArrivalProcess::Bursty),
        Step::Rate(5_000.0),
        Step::Workers(2),
        Step::Pause(true),
        Step::Wait(5),
        Step::Pause(false),
        Step::Workers(12),
        Step::Wait(10),
        Step::EndSource,
        Step::Workers(1),
        Step::Wait(5),
    ];
    for work in [WorkMode::Sleep, WorkMode::Cpu] {
        for policy in [
            None,
            Some(Overflow::Block),
            Some(Overflow::DropNew),
            Some(Overflow::DropOld),
        ] {
            churn(start_settings(work, policy, 100, true), &script)
                .unwrap_or_else(|e| panic!("{work} {policy:?}: {e}"));
        }
    }
}

/// The conservation checks are real: a worker that loses one event in 10,000, or reports one
/// twice, fails the churn (its snapshots, its end, its trace), in every work mode.
#[test]
fn the_churn_catches_a_lost_or_doubled_event() {
    // A flood of about 40,000 events, so several ids are multiples of 10,000.
    let script = [
        Step::Flood {
            per_s: 1_000_000.0,
            ms: 40,
        },
        Step::Workers(8),
        Step::Wait(20),
        Step::EndSource,
    ];
    for work in [WorkMode::Sleep, WorkMode::Cpu] {
        for fault in [
            InjectFault::LoseOneIn(10_000),
            InjectFault::StartTwiceOneIn(10_000),
        ] {
            let settings = start_settings(work, None, 20, false);
            let caught =
                std::panic::catch_unwind(|| churn_with_fault(settings, &script, Some(fault)));
            assert!(
                matches!(caught, Err(_) | Ok(Err(_))),
                "{work} {fault:?} went unnoticed"
            );
        }
    }
    // And without the fault the same script passes.
    churn(start_settings(WorkMode::Sleep, None, 20, false), &script).unwrap();
}

#[test]
fn a_stopped_run_reports_queued_and_in_flight_as_such() {
    let settings = Settings {
        rate: rate(1_000.0),
        service: Duration::from_millis(50),
        service_dist: ServiceDist::Fixed,
        workers: 2,
        ..Settings::default()
    };
    let handle = Engine::start(config(settings)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    handle.send(Command::Stop);
    let last = handle.wait(Duration::from_secs(10));
    assert_eq!(last.state, RunState::Interrupted);
    assert!(last.counters.conserved(), "{:?}", last.counters);
    assert!(last.counters.queued > 100, "{:?}", last.counters);
    assert!(last.counters.in_flight <= 2);
}

#[test]
fn shrinking_lets_workers_finish_and_growing_starts_them_at_once() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(400.0),
        service: Duration::from_millis(20),
        service_dist: ServiceDist::Fixed,
        workers: 8,
        max_workers: 16,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        trace: true,
        max_events: Some(400),
        ..config(settings)
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    handle.send(Command::SetWorkers(2));
    std::thread::sleep(Duration::from_millis(300));
    let snap = handle.snapshot();
    let live = snap
        .workers
        .iter()
        .filter(|w| {
            w.id > 2
                && (w.retiring
                    || matches!(
                        w.activity,
                        backlog::engine::snapshot::WorkerActivity::Busy { .. }
                    ))
        })
        .count();
    assert_eq!(
        live, 0,
        "workers above the target should have left: {:?}",
        snap.workers
    );
    handle.send(Command::SetWorkers(16));
    let last = handle.wait(Duration::from_secs(30));
    assert_eq!(last.state, RunState::Finished);
    let traces: Vec<Trace> = trace.try_iter().collect();
    check_trace(&traces, &last);
    let busy_ids: std::collections::HashSet<u32> = traces
        .iter()
        .filter_map(|t| {
            if let Trace::Started { worker, .. } = t {
                Some(*worker)
            } else {
                None
            }
        })
        .collect();
    assert!(
        busy_ids.iter().any(|&w| w > 8),
        "grown workers never took work: {busy_ids:?}"
    );
}

/// Idle workers wait off the queue (only one watches it): a burst must still reach every one of
/// them at once, not when each next polls (every 100 ms, all in step since they started
/// together; the groups come at other phases of that poll: 30, 60, 90 and 20 ms into it).
#[test]
fn a_burst_reaches_every_idle_worker_at_once() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Bursty,
        // Groups of 16 every 0.43 s.
        rate: rate(16.0 / 0.43),
        burst: 16,
        service: Duration::from_millis(300),
        service_dist: ServiceDist::Fixed,
        work: WorkMode::Sleep,
        workers: 16,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        duration: Some(Duration::from_millis(1900)),
        ..config(settings)
    })
    .unwrap();
    let last = handle.wait(Duration::from_secs(30));
    assert_eq!(last.state, RunState::Finished);
    assert_eq!(last.counters.completed, 64);
    let wait = &last.latency.queue_wait;
    assert!(
        wait.max_ns < 20_000_000,
        "an idle worker left an event waiting {} ms",
        wait.max_ns as f64 / 1e6
    );
}

/// Resizing an idle pool (workers leaving, the one watching the queue perhaps among them) never
/// leaves events waiting for an idle worker's next poll (100 ms) or for the next arrival to wake
/// one: every event after the first resize, those in the 200 ms right after each resize
/// included, starts within 20 ms. The watch moves between idle workers, so a shrink from 6 to 1
/// retires the watcher most of the time: four such shrinks. Arrivals come every 77 ms, out of
/// step with the 100 ms poll, so a parked worker's poll does not happen to land on one.
#[test]
fn a_shrunk_pool_still_serves_events_at_once() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(13.0),
        service: Duration::ZERO,
        service_dist: ServiceDist::Fixed,
        workers: 6,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        trace: true,
        duration: Some(Duration::from_millis(2_500)),
        ..config(settings)
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    let mut resized_ns = Vec::new();
    for workers in [1, 6, 1, 6, 1, 6, 1, 3, 2] {
        std::thread::sleep(Duration::from_millis(250));
        resized_ns.push(handle.now_ns());
        handle.send(Command::SetWorkers(workers));
    }
    let last = handle.wait(Duration::from_secs(30));
    assert_eq!(last.state, RunState::Finished);
    let records: Vec<Trace> = trace.try_iter().collect();
    check_trace(&records, &last);
    let arrivals: HashMap<u64, u64> = records
        .iter()
        .filter_map(|t| match *t {
            Trace::Submitted { id, at_ns, .. } => Some((id, at_ns)),
            _ => None,
        })
        .collect();
    // (arrival, queue wait) of every event, from the trace: no reset, no sampling.
    let waits: Vec<(u64, u64)> = records
        .iter()
        .filter_map(|t| match *t {
            Trace::Started { id, at_ns, .. } => {
                let arrival = arrivals[&id];
                Some((arrival, at_ns.saturating_sub(arrival)))
            }
            _ => None,
        })
        .collect();
    for (i, &at) in resized_ns.iter().enumerate() {
        let right_after = waits
            .iter()
            .filter(|(arrival, _)| (at..at + 200_000_000).contains(arrival))
            .count();
        assert!(
            right_after >= 2,
            "resize {}: only {right_after} events in the 200 ms after it",
            i + 1
        );
    }
    let after_first: Vec<&(u64, u64)> = waits.iter().filter(|(a, _)| *a >= resized_ns[0]).collect();
    assert!(after_first.len() >= 25, "{} events", after_first.len());
    let (arrival, wait) = after_first.iter().max_by_key(|(_, w)| *w).unwrap();
    eprintln!("longest wait after a resize: {:.3} ms", *wait as f64 / 1e6);
    assert!(
        *wait < 20_000_000,
        "an event arriving at {:.3}s waited {} ms with idle workers (resizes at {:?} ns)",
        *arrival as f64 / 1e9,
        *wait as f64 / 1e6,
        resized_ns
    );
}

/// Ending the source while it waits for room in a full queue, far behind its schedule: it puts
/// the event it holds in the queue and stops there, instead of going on with every event
/// already due (a second of backlog here), and the run finishes with its source's end.
#[test]
fn ending_a_blocked_source_stops_it_at_the_event_it_holds() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(100_000.0),
        service: Duration::from_millis(10),
        service_dist: ServiceDist::Fixed,
        workers: 1,
        queue_cap: Some(1),
        overflow: Overflow::Block,
        ..Settings::default()
    };
    let handle = Engine::start(config(settings)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    handle.send(Command::EndSource);
    // Counted after the end was asked for (the latest snapshot may be 50 ms older, and the
    // source admits an event per 10 ms meanwhile): at most the one event whose offer had begun
    // can follow. Going on with what is due would be thousands more.
    let before = fresh_snapshot(&handle).counters.generated;
    let last = handle.wait(Duration::from_secs(5));
    assert_eq!(last.state, RunState::Finished, "{:?}", last.counters);
    assert!(
        last.counters.generated <= before + 1,
        "the source went on after the end: {} then {}",
        before,
        last.counters.generated
    );
    assert_eq!(last.counters.queued + last.counters.in_flight, 0);
    assert!(last.counters.conserved());
}

/// A fault (here a worker's loop panicking) stops the whole engine, including a paused source,
/// which otherwise sleeps until the handle is dropped.
#[test]
fn a_fault_ends_even_a_paused_source() {
    let settings = Settings {
        paused: true,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        trace: true,
        inject_panic: Some(backlog::engine::InjectPanic::Worker),
        ..config(settings)
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    // The panic comes half a second in.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let ended = std::iter::from_fn(|| trace.recv_deadline(deadline).ok())
        .any(|t| matches!(t, Trace::SourceEnded { .. }));
    assert!(ended, "the paused source never ended");
    assert!(handle.fault().is_some());
}

/// M/M/c at utilisation 0.7: the mean queue wait agrees with Erlang C (given the service time the
/// workers actually took) within statistical error. Services of 10 ms: a host that takes a
/// thread's core for a millisecond several times a second (seen on this VM, 2026-12-01) made
/// 2 ms services wait 1.3-1.6 times Erlang C, the code of the day before as much as the new.
#[test]
fn mmc_queue_wait_agrees_with_erlang_c() {
    let _serial = timing();
    let (c, service_s, rho) = (3usize, 0.010, 0.7);
    let lambda = rho * c as f64 / service_s;
    let settings = Settings {
        arrival: ArrivalProcess::Poisson,
        rate: rate(lambda),
        service: Duration::from_secs_f64(service_s),
        service_dist: ServiceDist::Exp,
        workers: c,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        duration: Some(Duration::from_secs(10)),
        ..config(settings)
    })
    .unwrap();
    let last = handle.wait(Duration::from_secs(60));
    assert_eq!(last.state, RunState::Finished);
    let measured_service_s = last.latency.service.mean_ns / 1e9;
    // A sleep never ends early; a busy machine wakes it late (0.2 ms on a 2 ms sleep has been
    // seen on this VM), which the Erlang C below takes into account.
    assert!(
        (0.98..1.3).contains(&(measured_service_s / service_s)),
        "service mean {measured_service_s}"
    );
    let a = lambda * measured_service_s;
    let expected_wait_s = erlang_c(c, a) / (c as f64 / measured_service_s - lambda);
    let measured_wait_s = last.latency.queue_wait.mean_ns / 1e9;
    let ratio = measured_wait_s / expected_wait_s;
    eprintln!(
        "M/M/{c}: measured wait {measured_wait_s:.6}s, Erlang C {expected_wait_s:.6}s, service {measured_service_s:.6}s, Lq {:.3}",
        last.mean_queue_len
    );
    // Plus the engine's own hand-off (the mean wait of the events that found a worker idle),
    // which the ideal model does not have: on a bad day for this VM's host (hand-offs of 35 ms
    // at p99) CI waited 1.34x Erlang C.
    let overhead_s = last.engine_overhead.mean_ns / 1e9;
    assert!(
        ratio >= 0.75 && measured_wait_s <= 1.25 * expected_wait_s + overhead_s,
        "wait {measured_wait_s} vs Erlang C {expected_wait_s}, hand-off {overhead_s}"
    );
    // The engine's own prediction uses the configured service time.
    let predicted = last.theory.mean_wait_s.unwrap();
    assert!(
        (0.6..1.4).contains(&(measured_wait_s / predicted)),
        "wait {measured_wait_s} vs predicted {predicted}"
    );
    assert_eq!(last.theory.model, "M/M/c (Erlang C)");
    // Little's law between two instruments: sampled queue length vs arrival rate x mean wait.
    let little = last.arrival_rate_per_s * measured_wait_s;
    assert!(
        (last.mean_queue_len / little - 1.0).abs() < 0.35,
        "Lq {} vs lambda*Wq {little}",
        last.mean_queue_len
    );
}

/// Fixed arrivals at twice a single worker's capacity: the backlog grows at lambda - mu.
#[test]
fn deterministic_overload_grows_at_the_predicted_rate() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(100.0),
        service: Duration::from_millis(20),
        service_dist: ServiceDist::Fixed,
        workers: 1,
        ..Settings::default()
    };
    let handle = Engine::start(config(settings)).unwrap();
    let predicted = handle.snapshot().theory.backlog_growth_per_s.unwrap();
    assert!((predicted - 50.0).abs() < 1e-9);
    std::thread::sleep(Duration::from_millis(500));
    let a = handle.snapshot();
    std::thread::sleep(Duration::from_millis(1500));
    let b = handle.snapshot();
    let backlog = |s: &Snapshot| (s.counters.queued + s.counters.in_flight) as f64;
    let growth = (backlog(&b) - backlog(&a)) / ((b.now_ns - a.now_ns) as f64 / 1e9);
    eprintln!("grew {growth:.2}/s, predicted {predicted}/s");
    assert!(
        (growth / predicted - 1.0).abs() < 0.15,
        "grew {growth}/s, predicted {predicted}/s"
    );
    assert_eq!(b.theory.min_stable_workers, Some(2));
}

/// With twice as many workers as cores, cpu work is capped near cores/service; sleep work is not.
#[test]
fn cpu_work_is_capped_by_cores_and_sleep_work_is_not() {
    let _serial = timing();
    let cores = available_cores();
    let workers = cores * 2;
    let service = Duration::from_millis(20);
    let throughput = |work: WorkMode| {
        let settings = Settings {
            arrival: ArrivalProcess::Fixed,
            rate: rate(workers as f64 / service.as_secs_f64() * 1.5),
            service,
            service_dist: ServiceDist::Fixed,
            workers,
            work,
            max_workers: workers,
            ..Settings::default()
        };
        let handle = Engine::start(config(settings)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let a = handle.snapshot();
        std::thread::sleep(Duration::from_millis(1500));
        let b = handle.snapshot();
        let done = |s: &Snapshot| (s.counters.completed + s.counters.failed) as f64;
        (done(&b) - done(&a)) / ((b.now_ns - a.now_ns) as f64 / 1e9)
    };
    let cpu = throughput(WorkMode::Cpu);
    let sleep = throughput(WorkMode::Sleep);
    let cpu_cap = cores as f64 / service.as_secs_f64();
    eprintln!("cpu {cpu:.1}/s (cap {cpu_cap:.1}/s), sleep {sleep:.1}/s");
    assert!(
        cpu <= cpu_cap * 1.1,
        "cpu {cpu}/s above the core cap {cpu_cap}/s"
    );
    assert!(
        sleep >= workers as f64 / service.as_secs_f64() * 0.8,
        "sleep {sleep}/s"
    );
    assert!(cpu < sleep * 0.7, "cpu {cpu}/s vs sleep {sleep}/s");
}

/// Four cpu workers per core, 400 ms demands: mid-job, the CPU the busy workers have received
/// together is at most what the cores gave (cores × wall), so their progress is CPU time against
/// demand, well below wall time against demand; no running job shows 100%.
#[test]
fn cpu_progress_is_cpu_time_received_not_wall_time() {
    let _serial = timing();
    let cores = available_cores();
    let workers = cores * 4;
    let demand_ns = 400_000_000u64;
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        // Every job arrives within the first 50 ms.
        rate: rate(workers as f64 * 20.0),
        service: Duration::from_nanos(demand_ns),
        service_dist: ServiceDist::Fixed,
        workers,
        max_workers: workers,
        work: WorkMode::Cpu,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        max_events: Some(workers as u64),
        ..config(settings)
    })
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mid = fresh_snapshot(&handle);
    // 4 jobs of 400 ms per core need 1.6 s of wall time: most are still running at 0.7 s.
    let busy = cpu_progress_mid_job(&mid, cores);
    assert!(busy >= workers / 2, "{:?}", mid.workers);
    no_running_job_shown_done(&handle, Duration::from_secs(30));
    let last = handle.wait(Duration::from_secs(1));
    assert_eq!(last.state, RunState::Finished, "{last:?}");
    assert_eq!(last.counters.completed, workers as u64);
}

/// Checks that each busy worker's progress is the CPU time its meter read, against its
/// demand, and that together they received no more than `cores` gave since the first began
/// (well below the wall time they ran); returns how many were busy.
fn cpu_progress_mid_job(mid: &Snapshot, cores: usize) -> usize {
    let (mut cpu_ns, mut ran_ns, mut first_start) = (0.0, 0.0, mid.now_ns);
    let mut busy = 0;
    for w in &mid.workers {
        let WorkerActivity::Busy {
            started_ns,
            demand_ns,
            ..
        } = w.activity
        else {
            continue;
        };
        let cpu = w.cpu_ns.expect("a busy cpu worker's CPU time") as f64;
        let ran = (mid.now_ns - started_ns) as f64;
        let progress = w.progress(mid.now_ns).unwrap();
        assert_eq!(progress, (cpu / demand_ns as f64).min(0.99), "{w:?}");
        assert!(progress < 1.0, "{w:?}");
        assert!(progress <= ran / demand_ns as f64 + 0.05, "{w:?}");
        cpu_ns += progress * demand_ns as f64;
        ran_ns += ran;
        first_start = first_start.min(started_ns);
        busy += 1;
    }
    let cores_gave_ns = cores as f64 * (mid.now_ns - first_start) as f64;
    let seen = format!("cpu {cpu_ns:.0} ns, wall {ran_ns:.0} ns, cores gave {cores_gave_ns:.0} ns");
    eprintln!("{busy} busy: {seen}");
    assert!(
        cpu_ns <= cores_gave_ns * 1.2 + 20e6,
        "{seen}: {:?}",
        mid.workers
    );
    assert!(cpu_ns <= ran_ns * 0.5, "{seen}: {:?}", mid.workers);
    busy
}

/// Watches the run until it is over (or `timeout`): no worker holding a job shows it done.
fn no_running_job_shown_done(handle: &backlog::engine::EngineHandle, timeout: Duration) {
    let mut snapshots = handle.subscribe();
    let deadline = std::time::Instant::now() + timeout;
    while !snapshots.borrow_and_update().state.is_over() && std::time::Instant::now() < deadline {
        let s = std::sync::Arc::clone(&snapshots.borrow());
        for w in &s.workers {
            assert!(w.progress(s.now_ns).is_none_or(|p| p < 1.0), "{w:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Queued work is the sum of the queued events' demands: with fixed 50 ms demands, 50 ms per
/// queued event, in an unbounded queue, one that evicts (drop-old), and one that holds arrivals
/// at the source (block: those are not queued work).
#[test]
fn queued_work_is_the_sum_of_the_queued_demands() {
    let _timing = timing();
    for (cap, overflow) in [
        (None, Overflow::DropNew),
        (Some(5), Overflow::DropOld),
        (Some(5), Overflow::Block),
    ] {
        let settings = Settings {
            arrival: ArrivalProcess::Fixed,
            rate: rate(1_000.0),
            service: Duration::from_millis(50),
            service_dist: ServiceDist::Fixed,
            workers: 2,
            queue_cap: cap,
            overflow,
            ..Settings::default()
        };
        let handle = Engine::start(config(settings)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let live = fresh_snapshot(&handle);
        assert!(live.queued_work_ns > 0, "{cap:?} {overflow}: {live:?}");
        handle.send(Command::Stop);
        let last = handle.wait(Duration::from_secs(10));
        let c = &last.counters;
        assert!(c.queued > 0, "{cap:?} {overflow}: {c:?}");
        assert_eq!(
            last.queued_work_ns,
            c.queued * 50_000_000,
            "{cap:?} {overflow}: {c:?}"
        );
    }
}

#[test]
fn a_bounded_queue_drops_and_counts() {
    for overflow in [Overflow::DropNew, Overflow::DropOld] {
        let settings = Settings {
            arrival: ArrivalProcess::Fixed,
            rate: rate(1_000.0),
            service: Duration::from_millis(10),
            service_dist: ServiceDist::Fixed,
            workers: 1,
            queue_cap: Some(5),
            overflow,
            ..Settings::default()
        };
        let handle = Engine::start(EngineConfig {
            trace: true,
            max_events: Some(200),
            ..config(settings)
        })
        .unwrap();
        let trace = handle.trace().unwrap();
        let last = handle.wait(Duration::from_secs(30));
        assert_eq!(last.state, RunState::Finished);
        assert!(
            last.counters.dropped > 150,
            "{overflow}: {:?}",
            last.counters
        );
        assert!(
            last.max_queue_depth <= 5,
            "{overflow}: depth {}",
            last.max_queue_depth
        );
        let traces: Vec<Trace> = trace.try_iter().collect();
        check_trace(&traces, &last);
        // drop-new refuses arrivals; drop-old evicts the oldest queued, so the newest always runs.
        let expected = if overflow == Overflow::DropNew {
            DropReason::QueueFull
        } else {
            DropReason::Evicted
        };
        assert!(
            traces
                .iter()
                .all(|t| !matches!(t, Trace::Dropped { reason, .. } if *reason != expected))
        );
        if overflow == Overflow::DropOld {
            assert!(
                traces
                    .iter()
                    .any(|t| matches!(t, Trace::Finished { id: 200, .. }))
            );
        }
    }
}

#[test]
fn a_blocking_bounded_queue_never_exceeds_its_cap_and_loses_nothing() {
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(2_000.0),
        service: Duration::from_millis(2),
        service_dist: ServiceDist::Fixed,
        workers: 2,
        queue_cap: Some(10),
        overflow: Overflow::Block,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        trace: true,
        max_events: Some(300),
        ..config(settings)
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    let last = handle.wait(Duration::from_secs(30));
    assert_eq!(last.state, RunState::Finished);
    assert_eq!(last.counters.dropped, 0);
    assert_eq!(last.counters.completed, 300);
    assert!(last.max_queue_depth <= 10, "depth {}", last.max_queue_depth);
    check_trace(&trace.try_iter().collect::<Vec<_>>(), &last);
    // Latency counts from the scheduled arrival: blocked events show the wait upstream.
    assert!(
        last.latency.queue_wait.max_ns > 50_000_000,
        "{:?}",
        last.latency.queue_wait
    );
}

/// Each event's (scheduled arrival, demand) by id, from a finished run's trace.
fn arrivals_and_demands(seed: u64, workers: usize) -> Vec<(u64, u64)> {
    arrivals_and_demands_in(seed, workers, None, Duration::from_micros(200))
}

/// The same, with a `block` queue capped at `cap` (events wait at the source for room) and a
/// mean service of `service`.
fn arrivals_and_demands_in(
    seed: u64,
    workers: usize,
    cap: Option<usize>,
    service: Duration,
) -> Vec<(u64, u64)> {
    const EVENTS: u64 = 300;
    let settings = Settings {
        arrival: ArrivalProcess::Poisson,
        rate: rate(2_000.0),
        service,
        service_dist: ServiceDist::Lognormal,
        workers,
        queue_cap: cap,
        overflow: Overflow::Block,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        seed,
        trace: true,
        max_events: Some(EVENTS),
        ..config(settings)
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    let last = handle.wait(Duration::from_secs(30));
    assert_eq!(last.state, RunState::Finished);
    assert_eq!(last.counters.completed, EVENTS);
    let (mut arrivals, mut demands) = (HashMap::new(), HashMap::new());
    for t in trace.try_iter() {
        match t {
            // An event enters at its scheduled arrival, or that long after it held at the source.
            Trace::Submitted {
                id,
                at_ns,
                blocked_ns,
            } => {
                arrivals.insert(id, at_ns - blocked_ns);
            }
            Trace::Started { id, demand_ns, .. } => {
                demands.insert(id, demand_ns);
            }
            _ => {}
        }
    }
    (1..=EVENTS)
        .map(|id| (arrivals[&id], demands[&id]))
        .collect()
}

/// Events held at the source by a full `block` queue enter as the schedule made them: one
/// worker behind a queue of 2 (2,000/s offered, 2 ms each, so nearly every event waits at the
/// source, and the generator draws them again as room appears) or six with no cap, event k
/// has the same arrival and demand.
#[test]
fn events_held_at_the_source_enter_as_they_were_drawn() {
    let held = arrivals_and_demands_in(3, 1, Some(2), Duration::from_millis(2));
    let free = arrivals_and_demands_in(3, 6, None, Duration::from_millis(2));
    if let Some(k) = (0..held.len()).find(|&k| held[k] != free[k]) {
        panic!(
            "event {}: (arrival, demand) {:?} held, {:?} not",
            k + 1,
            held[k],
            free[k]
        );
    }
}

/// The seed alone decides what each event asks for: one worker or six, event k arrives at the
/// same time with the same demand; another seed draws other demands.
#[test]
fn same_seed_same_demands_whatever_the_workers() {
    let one = arrivals_and_demands(7, 1);
    let six = arrivals_and_demands(7, 6);
    if let Some(k) = (0..one.len()).find(|&k| one[k] != six[k]) {
        panic!(
            "event {}: (arrival, demand) {:?} with 1 worker, {:?} with 6",
            k + 1,
            one[k],
            six[k]
        );
    }
    // The demands are drawn (lognormal), not one value for all.
    let distinct: std::collections::HashSet<u64> = one.iter().map(|&(_, d)| d).collect();
    assert!(distinct.len() > 290, "{} distinct demands", distinct.len());
    let other = arrivals_and_demands(8, 6);
    let differ = |pick: fn(&(u64, u64)) -> u64| {
        one.iter()
            .zip(&other)
            .filter(|(a, b)| pick(a) != pick(b))
            .count()
    };
    assert!(
        differ(|e| e.1) > 290,
        "seed 8 kept {} demands of seed 7",
        300 - differ(|e| e.1)
    );
    assert!(
        differ(|e| e.0) > 290,
        "seed 8 kept {} arrivals of seed 7",
        300 - differ(|e| e.0)
    );
}

#[test]
fn a_snapshot_is_written_and_read_back_whole() {
    let settings = Settings {
        arrival: ArrivalProcess::Poisson,
        rate: Rate::per_s(400.0).unwrap(),
        service: Duration::from_millis(3),
        service_dist: ServiceDist::Exp,
        workers: 2,
        queue_cap: Some(50),
        overflow: Overflow::DropOld,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        settings,
        max_events: Some(400),
        ..EngineConfig::default()
    })
    .unwrap();
    let last = handle.wait(Duration::from_secs(30));
    assert_eq!(last.state, RunState::Finished);
    let json = serde_json::to_string(&*last).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, *last);
    // A default snapshot is an empty run: what a fixture leaves out is zero.
    let empty = Snapshot::default();
    assert_eq!(empty.counters.generated, 0);
    assert_eq!(empty.state, RunState::Running);
    assert!(empty.counters.conserved());
}

/// `ResetStats` restarts what describes the run so far from the moment of the reset (latency
/// histograms, the deepest queue, the mean queue length, the time series, per-worker totals) and
/// keeps the event counts, so conservation still holds over the whole run.
#[test]
fn resetting_statistics_restarts_latencies_peaks_and_series_and_keeps_the_counts() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(200.0),
        service: Duration::from_millis(10),
        service_dist: ServiceDist::Fixed,
        workers: 1,
        max_workers: 8,
        ..Settings::default()
    };
    let handle = Engine::start(config(settings)).unwrap();
    // One worker of 100/s against 200/s: a backlog of about 50 builds in half a second, and
    // events wait up to a quarter of a second.
    std::thread::sleep(Duration::from_millis(500));
    handle.send(Command::SetWorkers(8));
    // Eight workers drain it in about 80 ms, then keep up with waits of well under a ms.
    std::thread::sleep(Duration::from_millis(400));
    let before = fresh_snapshot(&handle);
    assert!(
        before.max_queue_depth >= 20,
        "depth {}",
        before.max_queue_depth
    );
    assert!(
        before.mean_queue_len > 3.0,
        "mean queue {}",
        before.mean_queue_len
    );
    assert!(
        before.recent_latency.queue_wait.max_ns > 100_000_000,
        "{:?}",
        before.recent_latency.queue_wait
    );
    assert!(before.counters.queued <= 3, "{:?}", before.counters);
    let reset_ns = handle.now_ns();
    handle.send(Command::ResetStats);
    std::thread::sleep(Duration::from_millis(500));
    handle.send(Command::EndSource);
    let last = handle.wait(Duration::from_secs(10));
    assert_eq!(last.state, RunState::Finished);

    // The counts are the whole run's.
    let c = last.counters;
    assert!(c.conserved(), "{c:?}");
    assert_eq!(c.completed, c.generated, "{c:?}");
    assert!(c.completed > before.counters.completed + 50, "{c:?}");
    // The statistics start at the reset.
    assert!(
        (reset_ns..reset_ns + 100_000_000).contains(&last.stats_since_ns),
        "statistics since {} ns, reset at {reset_ns} ns",
        last.stats_since_ns
    );
    // Only events that had not started (queue wait) or not finished (service, end-to-end) when
    // `before` was read can be measured now.
    let b = before.counters;
    let not_started_before = c.generated - b.generated + b.queued;
    let not_finished_before = not_started_before + b.in_flight;
    for (kind, bound) in [
        (LatencyKind::QueueWait, not_started_before),
        (LatencyKind::Service, not_finished_before),
        (LatencyKind::EndToEnd, not_finished_before),
    ] {
        let count = last.latency.get(kind).count;
        assert!(
            (50..=bound).contains(&count),
            "{}: {count} measured, at most {bound} could be since the reset",
            kind.name()
        );
    }
    let wait = &last.latency.queue_wait;
    assert!(
        wait.max_ns < 50_000_000,
        "max queue wait {} ms since the reset",
        wait.max_ns as f64 / 1e6
    );
    assert!(last.max_queue_depth < 10, "depth {}", last.max_queue_depth);
    assert!(
        last.mean_queue_len < 1.0,
        "mean queue {}",
        last.mean_queue_len
    );
    assert!(before.series.iter().any(|p| p.t_ns < reset_ns));
    assert!(!last.series.is_empty());
    assert!(
        last.series.iter().all(|p| p.t_ns >= last.stats_since_ns),
        "series from before the reset: {:?}",
        last.series.first()
    );
    let per_worker: u64 = last.workers.iter().map(|w| w.completed + w.failed).sum();
    assert!(
        per_worker <= not_finished_before,
        "workers count {per_worker} events since the reset"
    );
}

/// Settings for the queue tests below: one worker takes the first event and holds it for 10 s,
/// so from then on only the source moves the queue and the trace tells its depth exactly.
fn one_stuck_worker(rate_per_s: f64, cap: Option<usize>, overflow: Overflow) -> Settings {
    Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(rate_per_s),
        service: Duration::from_secs(10),
        service_dist: ServiceDist::Fixed,
        work: WorkMode::Sleep,
        workers: 1,
        queue_cap: cap,
        overflow,
        ..Settings::default()
    }
}

/// drop-old evicts the oldest queued event: replaying the queue from the trace (FIFO, the
/// source's records in their order), each evicted id is the one at its front.
#[test]
fn drop_old_evicts_the_oldest_queued_event() {
    let handle = Engine::start(EngineConfig {
        trace: true,
        max_events: Some(300),
        ..config(one_stuck_worker(1_000.0, Some(5), Overflow::DropOld))
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut records = Vec::new();
    while let Ok(t) = trace.recv_deadline(deadline) {
        records.push(t);
        if matches!(t, Trace::SourceEnded { .. }) {
            break;
        }
    }
    assert!(
        matches!(records.last(), Some(Trace::SourceEnded { .. })),
        "the source did not end"
    );
    handle.send(Command::Stop);
    handle.wait(Duration::from_secs(10));
    records.extend(trace.try_iter());
    let started: std::collections::HashSet<u64> = records
        .iter()
        .filter_map(|t| match *t {
            Trace::Started { id, .. } => Some(id),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 1, "the worker took {started:?}");
    let mut queue = std::collections::VecDeque::new();
    let mut evictions = 0;
    for t in &records {
        match *t {
            Trace::Submitted { id, .. } => queue.push_back(id),
            Trace::Dropped {
                id,
                reason: DropReason::Evicted,
                ..
            } => {
                // The one event the worker took left from the front, at some point before.
                while queue
                    .front()
                    .is_some_and(|f| *f != id && started.contains(f))
                {
                    queue.pop_front();
                }
                assert_eq!(
                    queue.front(),
                    Some(&id),
                    "evicted event {id}, but the oldest queued was {:?} (queue {queue:?})",
                    queue.front()
                );
                queue.pop_front();
                evictions += 1;
            }
            Trace::Dropped { id, reason, .. } => panic!("event {id} dropped as {reason:?}"),
            _ => {}
        }
    }
    assert!(evictions >= 280, "{evictions} evictions");
}

/// A bounded queue's cap holds at every admission, not only at the sampled depths, and when
/// the cap changes: from unbounded back to a cap, from a large cap to a small one (the source
/// must not admit on room it counted under the old cap), from a small one to a larger one.
/// The queue's depth is replayed from the trace: the source's records are in their true order,
/// and the only event a worker takes is the first.
#[test]
fn the_queue_cap_holds_at_every_admission_even_when_it_changes() {
    /// Within this (model time) of a change, either cap may apply: the source reads the
    /// settings between wakes (every 0.5 ms here), and a late one offers events due before.
    const GRACE_NS: u64 = 50_000_000;
    let _serial = timing();
    for overflow in [Overflow::Block, Overflow::DropNew, Overflow::DropOld] {
        let handle = Engine::start(EngineConfig {
            trace: true,
            ..config(one_stuck_worker(2_000.0, Some(1_000), overflow))
        })
        .unwrap();
        let trace = handle.trace().unwrap();
        // (model ns from when it may apply, cap), in order.
        let mut caps: Vec<(u64, Option<usize>)> = vec![(0, Some(1_000))];
        let mut change = |cap: Option<usize>, then_ms: u64| {
            caps.push((handle.now_ns(), cap));
            handle.send(Command::SetQueueCap(cap));
            std::thread::sleep(Duration::from_millis(then_ms));
        };
        // About 200 events in a queue capped at 1000, then 100 more unbounded, then a cap of
        // 10 (block waits from here on), then room up to 400.
        std::thread::sleep(Duration::from_millis(100));
        change(None, 50);
        change(Some(10), 200);
        if overflow != Overflow::Block {
            change(Some(400), 150);
        }
        // A stop hands the event a blocked source holds to the queue (so that it is counted):
        // from here on the cap is not the question.
        let stop_ns = handle.now_ns();
        handle.send(Command::Stop);
        handle.wait(Duration::from_secs(10));
        let records: Vec<Trace> = trace.try_iter().collect();
        let started = records
            .iter()
            .filter(|t| matches!(t, Trace::Started { .. }))
            .count();
        assert_eq!(started, 1, "{overflow}: {started} events taken");
        // The caps that may apply to an offer at `at_ns` (its scheduled time): any in force
        // within the grace of it, since the source reads the settings between wakes, and a late
        // source may offer an event due just before a change after it.
        let allowed = |at_ns: u64| -> Option<usize> {
            let mut cap = Some(0);
            for (i, (from, c)) in caps.iter().enumerate() {
                let until = caps.get(i + 1).map_or(u64::MAX, |(next, _)| *next);
                if *from <= at_ns + GRACE_NS && at_ns < until.saturating_add(GRACE_NS) {
                    cap = match (cap, *c) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        _ => None,
                    };
                }
            }
            cap
        };
        // Counting the worker's one event as taken from the start: never more than the true
        // depth, so a depth over the cap here is over it in the queue.
        let mut depth: i64 = -1;
        let mut checked = [0u32; 4];
        let source: Vec<&Trace> = records
            .iter()
            .filter(|t| matches!(t, Trace::Submitted { .. } | Trace::Dropped { .. }))
            .collect();
        let mut i = 0;
        while i < source.len() {
            let (id, at_ns) = match *source[i] {
                Trace::Submitted { id, at_ns, .. } => (id, at_ns),
                Trace::Dropped {
                    id,
                    reason: DropReason::Evicted,
                    ..
                } => {
                    depth -= 1;
                    i += 1;
                    // Eviction makes room for the offer that follows it: check that one.
                    assert!(
                        matches!(source.get(i), Some(Trace::Submitted { .. })),
                        "{overflow}: eviction of {id} not followed by an offer"
                    );
                    let Trace::Submitted { id, at_ns, .. } = *source[i] else {
                        unreachable!()
                    };
                    let before = depth + 1;
                    depth += 1;
                    check_depth(overflow, id, at_ns, depth, before, allowed(at_ns), stop_ns);
                    checked[phase(&caps, at_ns)] += 1;
                    i += 1;
                    continue;
                }
                Trace::Dropped { id, .. } => panic!("{overflow}: drop of {id} with no offer"),
                _ => unreachable!(),
            };
            i += 1;
            // drop-new traces the offer, then the drop.
            if let Some(Trace::Dropped {
                id: dropped,
                reason: DropReason::QueueFull,
                ..
            }) = source.get(i)
            {
                assert_eq!(
                    *dropped, id,
                    "{overflow}: dropped another event than offered"
                );
                i += 1;
                checked[phase(&caps, at_ns)] += 1;
                continue;
            }
            let before = depth;
            depth += 1;
            check_depth(overflow, id, at_ns, depth, before, allowed(at_ns), stop_ns);
            checked[phase(&caps, at_ns)] += 1;
        }
        // Every phase offered events to check (block waits for good once the cap is 10).
        let phases = if overflow == Overflow::Block { 2 } else { 4 };
        for (p, n) in checked.iter().enumerate().take(phases) {
            assert!(
                *n >= 50,
                "{overflow}: phase {}: {n} offers: {checked:?}",
                p + 1
            );
        }
    }
}

/// Which cap change an offer at `at_ns` came after (0: the starting cap).
fn phase(caps: &[(u64, Option<usize>)], at_ns: u64) -> usize {
    caps.iter().rposition(|(from, _)| *from <= at_ns).unwrap()
}

/// An offer may leave the queue deeper than before only within the cap.
fn check_depth(
    overflow: Overflow,
    id: u64,
    at_ns: u64,
    depth: i64,
    before: i64,
    cap: Option<usize>,
    stop_ns: u64,
) {
    if at_ns >= stop_ns {
        return;
    }
    if let Some(cap) = cap {
        assert!(
            depth <= before.max(cap as i64),
            "{overflow}: event {id} at {:.3}s left {depth} queued (from {before}), cap {cap}",
            at_ns as f64 / 1e9
        );
    }
}

/// The queue panel's chart peak (the highest point of the series) and its "max" are one
/// figure: the deepest the queue was seen, with one definition.
#[test]
fn the_series_peak_is_the_max_queue_depth() {
    let _serial = timing();
    // Bursts of 20 every 330 ms (off the sampling grid), drained in 200 ms: the depth spikes
    // between samples.
    let settings = Settings {
        arrival: ArrivalProcess::Bursty,
        burst: 20,
        rate: rate(20.0 / 0.33),
        service: Duration::from_millis(10),
        service_dist: ServiceDist::Fixed,
        workers: 1,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        duration: Some(Duration::from_secs(4)),
        ..config(settings)
    })
    .unwrap();
    let last = handle.wait(Duration::from_secs(60));
    assert_eq!(last.state, RunState::Finished);
    let series_peak = last.series.iter().map(|p| p.queue_depth).max().unwrap();
    assert!(last.max_queue_depth > 0);
    assert_eq!(series_peak, last.max_queue_depth);
}

/// The achieved rate counts the source's active time only: a pause, and the drain after the
/// source's end, are not time the source could have sent events in.
#[test]
fn the_achieved_rate_leaves_out_paused_and_finished_time() {
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(100.0),
        service: Duration::from_millis(600),
        service_dist: ServiceDist::Fixed,
        workers: 64,
        ..Settings::default()
    };
    let handle = Engine::start(config(settings)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    handle.send(Command::Pause(true));
    std::thread::sleep(Duration::from_millis(800));
    let paused = fresh_snapshot(&handle);
    assert_eq!(paused.state, RunState::Paused);
    assert_eq!(
        backlog::model::achieved::achieved(&paused),
        Achieved::Paused
    );
    handle.send(Command::Pause(false));
    std::thread::sleep(Duration::from_millis(600));
    handle.send(Command::EndSource);
    // The last events take 600 ms to finish: the source has ended by then.
    let last = handle.wait(Duration::from_secs(60));
    assert_eq!(last.state, RunState::Finished);
    let achieved = |s: &Snapshot| match backlog::model::achieved::achieved(s) {
        Achieved::Rate(r) => r,
        Achieved::Paused => panic!("finished, not paused"),
    };
    eprintln!(
        "arrival rate {:.2}/s, achieved {:.2}/s",
        last.arrival_rate_per_s,
        achieved(&last)
    );
    assert!(
        (last.arrival_rate_per_s / 100.0 - 1.0).abs() < 0.1,
        "{}",
        last.arrival_rate_per_s
    );
    assert!(
        (achieved(&last) / 100.0 - 1.0).abs() < 0.1,
        "{}",
        achieved(&last)
    );
}

/// The twin off the hot path: a burst's theory turns simulated once the twin's estimate is
/// ready, and after a change of settings no snapshot carries the estimate of the old ones.
#[test]
fn the_theory_takes_the_twins_estimate_for_the_current_settings_only() {
    use backlog::model::theory::Method;
    let _serial = timing();
    let settings = Settings {
        arrival: ArrivalProcess::Bursty,
        burst: 20,
        rate: rate(10.0),
        service: Duration::from_millis(300),
        service_dist: ServiceDist::Exp,
        workers: 4,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        speed: 20.0,
        ..config(settings)
    })
    .unwrap();
    let simulated_for = |workers: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let s = fresh_snapshot(&handle);
            let t = &s.theory;
            if t.servers == workers {
                // Until the twin has these settings, the prediction is the labelled
                // approximation, never the estimate of other settings.
                match t.method {
                    Method::Simulated => return t.clone(),
                    method => assert_eq!(method, Method::Approximation, "{t:?}"),
                }
            }
            assert!(std::time::Instant::now() < deadline, "{t:?}");
        }
    };
    let four = simulated_for(4);
    assert_eq!(four.formula, "twin");
    handle.send(Command::SetWorkers(5));
    let five = simulated_for(5);
    // One worker more at 75% busy: the bursts drain a row faster.
    assert!(
        five.mean_wait_s.unwrap() < 0.9 * four.mean_wait_s.unwrap(),
        "{four:?} {five:?}"
    );
}

/// The first snapshot, within `timeout`, that `done` accepts.
fn snapshot_where(
    handle: &backlog::engine::EngineHandle,
    timeout: Duration,
    done: impl Fn(&Snapshot) -> bool,
) -> Option<std::sync::Arc<Snapshot>> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        let s = handle.snapshot();
        if done(&s) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

/// The snapshot carries a forecast for the current settings, refreshed on a change.
#[test]
fn the_snapshot_carries_a_forecast_for_the_current_settings() {
    let _serial = timing();
    // falling-behind's start: 10/s against 4 workers of 500 ms grows by 2/s.
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: rate(10.0),
        service: Duration::from_millis(500),
        service_dist: ServiceDist::Fixed,
        workers: 4,
        ..Settings::default()
    };
    let handle = Engine::start(config(settings)).unwrap();
    let s = snapshot_where(&handle, Duration::from_secs(3), |s| s.forecast.is_some())
        .expect("a forecast within 3 s");
    let f = s.forecast.as_ref().unwrap();
    assert!((f.growth_per_s - 2.0).abs() < 0.1, "{f:?}");
    assert!(s.forecast_from_ns <= s.now_ns);
    // A backlog of a few events, then 12/s of capacity.
    std::thread::sleep(Duration::from_secs(2));
    handle.send(Command::SetWorkers(6));
    // From the change on, no snapshot shows the old settings' forecast...
    let changed = snapshot_where(&handle, Duration::from_secs(1), |s| s.settings.workers == 6)
        .expect("the change is applied");
    let old = |s: &Snapshot| s.forecast.as_ref().is_some_and(|f| f.growth_per_s > 1.0);
    assert!(!old(&changed), "{:?}", changed.forecast);
    // ...and the new one comes within a few frames: 12/s of capacity drains the backlog.
    let s = snapshot_where(&handle, Duration::from_secs(1), |s| {
        s.forecast
            .as_ref()
            .is_some_and(|f| f.queue_end.p50 < f.path[0].backlog.p50)
    });
    assert!(s.is_some(), "{:?}", handle.snapshot().forecast);
    handle.send(Command::Stop);
}
