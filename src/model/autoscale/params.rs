//! `--autoscale POLICY[:key=value,...]`: the policy, its parameters checked, and the policy
//! made from them (fresh state each time).

use std::time::Duration;

use super::celery::{Celery, CeleryParams};
use super::hpa::{Hpa, HpaParams, Metric, trim};
use super::target_wait::{TargetWait, TargetWaitParams, WaitStat};
use super::{Bounds, Policy, keda};
use crate::engine::settings::{WORKER_LIMIT, format_duration, parse_duration};

/// The accepted forms, for error messages.
pub const POLICY_FORMS: &str = "expected hpa, keda, celery:MIN,MAX or target-wait, each with optional :key=value,... (see docs/autoscale.md)";

const HPA_KEYS: &[&str] = &[
    "metric",
    "target",
    "tolerance",
    "sync",
    "window",
    "up_window",
    "up_pods",
    "up_percent",
    "up_period",
    "down_percent",
    "down_period",
    "min",
    "max",
    "warmup",
];
const KEDA_KEYS: &[&str] = &[
    "target",
    "interval",
    "tolerance",
    "window",
    "up_window",
    "up_pods",
    "up_percent",
    "up_period",
    "down_percent",
    "down_period",
    "min",
    "max",
    "warmup",
];
const CELERY_KEYS: &[&str] = &["min", "max", "keepalive", "interval", "warmup"];
const TARGET_WAIT_KEYS: &[&str] = &[
    "target", "stat", "interval", "window", "drain", "min", "max", "warmup",
];

/// A policy's own parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyParams {
    /// `hpa` and `keda` (an HPA on a queue metric, with KEDA's defaults).
    Hpa(HpaParams),
    Celery(CeleryParams),
    TargetWait(TargetWaitParams),
}

/// `--autoscale`: the policy, and how long a new worker warms up before it takes events.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoscaleSpec {
    pub params: PolicyParams,
    /// `warmup=D` (any policy): model time a worker added while the run goes takes no events.
    pub warmup: Duration,
}

impl std::str::FromStr for AutoscaleSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, rest) = text.split_once(':').unwrap_or((text, ""));
        let mut pairs = Pairs::split(name, rest)?;
        let warmup = Duration::from_nanos(pairs.duration("warmup", 0, true)?);
        let (params, accepted) = match name {
            "hpa" => (
                PolicyParams::Hpa(hpa_params(&mut pairs, HpaParams::default(), "sync")?),
                HPA_KEYS,
            ),
            "keda" => (
                PolicyParams::Hpa(hpa_params(&mut pairs, keda::default_params(), "interval")?),
                KEDA_KEYS,
            ),
            "celery" => (
                PolicyParams::Celery(celery_params(&mut pairs)?),
                CELERY_KEYS,
            ),
            "target-wait" => (
                PolicyParams::TargetWait(target_wait_params(&mut pairs)?),
                TARGET_WAIT_KEYS,
            ),
            _ => {
                return Err(format!(
                    "'{name}' is not an autoscaling policy; {POLICY_FORMS}"
                ));
            }
        };
        pairs.finish(accepted)?;
        Ok(AutoscaleSpec { params, warmup })
    }
}

impl AutoscaleSpec {
    pub fn name(&self) -> &'static str {
        match &self.params {
            PolicyParams::Hpa(p) => p.name,
            PolicyParams::Celery(_) => "celery",
            PolicyParams::TargetWait(_) => "target-wait",
        }
    }

    /// "hpa (metric=utilization, target=0.8, ...)": the policy and every value in force.
    pub fn describe(&self) -> String {
        let params: Vec<String> = self
            .values()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        format!("{} ({})", self.name(), params.join(", "))
    }

    /// A policy with no history.
    pub fn policy(&self) -> Box<dyn Policy> {
        match &self.params {
            PolicyParams::Hpa(p) => Box::new(Hpa::new(p.clone())),
            PolicyParams::Celery(p) => Box::new(Celery::new(*p)),
            PolicyParams::TargetWait(p) => Box::new(TargetWait::new(*p)),
        }
    }

    /// Every parameter with its value in force, defaults included.
    pub fn values(&self) -> Vec<(String, String)> {
        let d = |ns: u64| format_duration(Duration::from_nanos(ns));
        let max = |b: &Bounds| {
            b.max
                .map_or_else(|| "max_workers".into(), |m| m.to_string())
        };
        let mut list: Vec<(&str, String)> = match &self.params {
            PolicyParams::Hpa(p) => {
                let (metric, target) = match p.metric {
                    Metric::Utilization { target_percent } => {
                        ("utilization", trim(f64::from(target_percent) / 100.0))
                    }
                    Metric::Queue { target } => ("queue", trim(target)),
                };
                let sync = if p.name == "keda" { "interval" } else { "sync" };
                let mut list = vec![("target", target)];
                if p.name == "hpa" {
                    list.insert(0, ("metric", metric.to_string()));
                }
                list.extend([
                    ("tolerance", trim(p.tolerance)),
                    (sync, d(p.sync_ns)),
                    ("window", d(p.down_window_ns)),
                    ("up_window", d(p.up_window_ns)),
                    ("up_pods", p.up_pods.to_string()),
                    ("up_percent", trim(p.up_percent)),
                    ("up_period", d(p.up_period_ns)),
                    ("down_percent", trim(p.down_percent)),
                    ("down_period", d(p.down_period_ns)),
                    ("min", p.bounds.min.to_string()),
                    ("max", max(&p.bounds)),
                ]);
                list
            }
            PolicyParams::Celery(p) => vec![
                ("min", p.min.to_string()),
                ("max", p.max.to_string()),
                ("keepalive", d(p.keepalive_ns)),
                ("interval", d(p.interval_ns)),
            ],
            PolicyParams::TargetWait(p) => vec![
                ("target", d(p.target_ns)),
                ("stat", p.stat.name().to_string()),
                ("interval", d(p.interval_ns)),
                ("window", d(p.window_ns)),
                ("drain", d(p.drain_ns)),
                ("min", p.bounds.min.to_string()),
                ("max", max(&p.bounds)),
            ],
        };
        list.push(("warmup", format_duration(self.warmup)));
        list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

/// The `key=value` pairs after the policy's name, taken one by one as they are read; plain
/// values (Celery's `MIN,MAX`) apart.
struct Pairs<'a> {
    policy: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
    positional: Vec<&'a str>,
}

impl<'a> Pairs<'a> {
    fn split(policy: &'a str, text: &'a str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        let mut positional = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item.split_once('=') {
                Some((k, v)) => {
                    let k = k.trim();
                    if pairs.iter().any(|(seen, _)| *seen == k) {
                        return Err(format!("{policy}: '{k}' is given twice"));
                    }
                    pairs.push((k, v.trim()));
                }
                None => positional.push(item),
            }
        }
        Ok(Self {
            policy,
            pairs,
            positional,
        })
    }

    fn take(&mut self, key: &str) -> Option<&'a str> {
        let at = self.pairs.iter().position(|(k, _)| *k == key)?;
        Some(self.pairs.remove(at).1)
    }

    fn error(&self, key: &str, value: &str, expected: &str) -> String {
        format!(
            "{}: {key}={value} is not accepted; expected {expected}",
            self.policy
        )
    }

    /// A number above 0 (and at most `most`).
    fn positive(&mut self, key: &str, default: f64, most: f64) -> Result<f64, String> {
        let Some(v) = self.take(key) else {
            return Ok(default);
        };
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 && x <= most => Ok(x),
            _ => Err(self.error(key, v, &format!("a number above 0, at most {}", trim(most)))),
        }
    }

    /// A number from 0 to `most`.
    fn non_negative(&mut self, key: &str, default: f64, most: f64) -> Result<f64, String> {
        let Some(v) = self.take(key) else {
            return Ok(default);
        };
        match v.parse::<f64>() {
            Ok(x) if x.is_finite() && (0.0..=most).contains(&x) => Ok(x),
            _ => Err(self.error(key, v, &format!("a number from 0 to {}", trim(most)))),
        }
    }

    fn count(&mut self, key: &str, default: usize, least: usize) -> Result<usize, String> {
        let Some(v) = self.take(key) else {
            return Ok(default);
        };
        match v.parse::<usize>() {
            Ok(n) if (least..=WORKER_LIMIT).contains(&n) => Ok(n),
            _ => Err(self.error(
                key,
                v,
                &format!("a whole number from {least} to {WORKER_LIMIT}"),
            )),
        }
    }

    /// A duration in model time, ns (`15s`, `500ms`); above 0 unless `zero_ok`.
    fn duration(&mut self, key: &str, default: u64, zero_ok: bool) -> Result<u64, String> {
        let Some(v) = self.take(key) else {
            return Ok(default);
        };
        match parse_duration(v) {
            Ok(d) if zero_ok || !d.is_zero() => Ok(d.as_nanos().min(u128::from(u64::MAX)) as u64),
            _ => Err(self.error(key, v, "a duration such as 500ms, 15s or 5m")),
        }
    }

    /// `min` and `max` workers, min ≤ max.
    fn bounds(&mut self) -> Result<Bounds, String> {
        let min = self.count("min", 1, 1)?;
        let max = if self.pairs.iter().any(|(k, _)| *k == "max") {
            Some(self.count("max", 1, 1)?)
        } else {
            None
        };
        if let Some(max) = max.filter(|m| *m < min) {
            return Err(format!("{}: min {min} is above max {max}", self.policy));
        }
        Ok(Bounds { min, max })
    }

    /// Refuses what is left: unknown keys, plain values.
    fn finish(self, accepted: &[&str]) -> Result<(), String> {
        if let Some((key, _)) = self.pairs.first() {
            return Err(format!(
                "{}: unknown key '{key}'; accepted keys: {}",
                self.policy,
                accepted.join(", ")
            ));
        }
        if let Some(value) = self.positional.first() {
            return Err(format!(
                "{}: '{value}' is not key=value; accepted keys: {}",
                self.policy,
                accepted.join(", ")
            ));
        }
        Ok(())
    }
}

fn hpa_params(pairs: &mut Pairs<'_>, d: HpaParams, sync_key: &str) -> Result<HpaParams, String> {
    let queue = match d.metric {
        // keda has no `metric` key: its metric is the queue.
        Metric::Queue { .. } => true,
        Metric::Utilization { .. } => match pairs.take("metric") {
            None | Some("utilization") => false,
            Some("queue") => true,
            Some(other) => return Err(pairs.error("metric", other, "utilization or queue")),
        },
    };
    let metric = match d.metric {
        Metric::Queue { target } => Metric::Queue {
            target: pairs.positive("target", target, 1e9)?,
        },
        Metric::Utilization { .. } if queue => Metric::Queue {
            target: pairs.positive("target", 10.0, 1e9)?,
        },
        Metric::Utilization { target_percent } => {
            let default = f64::from(target_percent) / 100.0;
            let target = pairs.positive("target", default, 1.0)?;
            Metric::Utilization {
                target_percent: ((target * 100.0).round() as u32).max(1),
            }
        }
    };
    Ok(HpaParams {
        metric,
        tolerance: pairs.non_negative("tolerance", d.tolerance, 10.0)?,
        sync_ns: pairs.duration(sync_key, d.sync_ns, false)?,
        down_window_ns: pairs.duration("window", d.down_window_ns, true)?,
        up_window_ns: pairs.duration("up_window", d.up_window_ns, true)?,
        up_pods: pairs.count("up_pods", d.up_pods, 0)?,
        up_percent: pairs.non_negative("up_percent", d.up_percent, 10_000.0)?,
        up_period_ns: pairs.duration("up_period", d.up_period_ns, false)?,
        down_percent: pairs.positive("down_percent", d.down_percent, 100.0)?,
        down_period_ns: pairs.duration("down_period", d.down_period_ns, false)?,
        bounds: pairs.bounds()?,
        ..d
    })
}

fn celery_params(pairs: &mut Pairs<'_>) -> Result<CeleryParams, String> {
    let plain = std::mem::take(&mut pairs.positional);
    match plain.as_slice() {
        [] => {}
        [min, max] => {
            for (key, value) in [("min", *min), ("max", *max)] {
                if pairs.take(key).is_some() {
                    return Err(format!("celery: {key} is given twice"));
                }
                pairs.pairs.push((key, value));
            }
        }
        _ => {
            return Err(format!(
                "celery: '{}' is not MIN,MAX; expected celery:MIN,MAX[,keepalive=30s] (Celery's own --autoscale is MAX,MIN)",
                plain.join(",")
            ));
        }
    }
    let min = pairs.count("min", 1, 1)?;
    let max = pairs.count("max", min.max(8), 1)?;
    if min > max {
        return Err(format!(
            "celery: min {min} is above max {max}; expected celery:MIN,MAX (Celery's own --autoscale is MAX,MIN)"
        ));
    }
    let d = CeleryParams::new(min, max);
    Ok(CeleryParams {
        keepalive_ns: pairs.duration("keepalive", d.keepalive_ns, true)?,
        interval_ns: pairs.duration("interval", d.interval_ns, false)?,
        ..d
    })
}

fn target_wait_params(pairs: &mut Pairs<'_>) -> Result<TargetWaitParams, String> {
    let d = TargetWaitParams::default();
    let stat = match pairs.take("stat") {
        None | Some("p99") => WaitStat::P99,
        Some("mean") => WaitStat::Mean,
        Some(other) => return Err(pairs.error("stat", other, "p99 or mean")),
    };
    Ok(TargetWaitParams {
        target_ns: pairs.duration("target", d.target_ns, false)?,
        stat,
        interval_ns: pairs.duration("interval", d.interval_ns, false)?,
        window_ns: pairs.duration("window", d.window_ns, true)?,
        drain_ns: pairs.duration("drain", d.drain_ns, false)?,
        bounds: pairs.bounds()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AutoscaleSpec, String> {
        text.parse()
    }

    #[test]
    fn defaults_are_kubernetes_and_celery_ones() {
        let PolicyParams::Hpa(p) = parse("hpa").unwrap().params else {
            panic!()
        };
        assert_eq!(p, HpaParams::default());
        let PolicyParams::Hpa(p) = parse("keda").unwrap().params else {
            panic!()
        };
        assert_eq!(p, keda::default_params());
        assert_eq!(
            parse("celery:2,10").unwrap().params,
            PolicyParams::Celery(CeleryParams::new(2, 10))
        );
        let spec = parse("target-wait:warmup=10s").unwrap();
        assert_eq!(
            spec.params,
            PolicyParams::TargetWait(TargetWaitParams::default())
        );
        assert_eq!(spec.warmup, Duration::from_secs(10));
    }

    #[test]
    fn keys_override_the_defaults() {
        let PolicyParams::Hpa(p) =
            parse("hpa:metric=queue,target=10,window=60s,tolerance=0,min=2,max=20")
                .unwrap()
                .params
        else {
            panic!()
        };
        assert_eq!(p.metric, Metric::Queue { target: 10.0 });
        assert_eq!(p.down_window_ns, 60_000_000_000);
        assert_eq!(p.tolerance, 0.0);
        assert_eq!(
            p.bounds,
            Bounds {
                min: 2,
                max: Some(20)
            }
        );
        let PolicyParams::Celery(c) = parse("celery:min=1,max=4,keepalive=10s").unwrap().params
        else {
            panic!()
        };
        assert_eq!((c.min, c.max, c.keepalive_ns), (1, 4, 10_000_000_000));
        let PolicyParams::TargetWait(t) =
            parse("target-wait:target=200ms,stat=mean").unwrap().params
        else {
            panic!()
        };
        assert_eq!((t.target_ns, t.stat), (200_000_000, WaitStat::Mean));
    }

    #[test]
    fn bad_parameters_are_refused_in_one_line_naming_the_problem() {
        for (text, says) in [
            ("hpa:target=0", "target=0"),
            ("hpa:target=1.5", "target=1.5"),
            ("hpa:speed=3", "unknown key 'speed'"),
            ("celery:5,2", "min 5 is above max 2"),
            ("celery:5", "not MIN,MAX"),
            ("hpa:min=4,max=2", "min 4 is above max 2"),
            ("hpa:metric=latency", "utilization or queue"),
            ("keda:sync=5s", "unknown key 'sync'"),
            ("target-wait:target=soon", "a duration"),
            ("kubernetes", "not an autoscaling policy"),
            ("hpa:target=0.5,target=0.6", "given twice"),
            ("hpa:5", "not key=value"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
            assert!(!err.contains('\n'), "{text}: {err}");
        }
    }

    #[test]
    fn params_list_every_value_in_force() {
        let params = parse("hpa:metric=queue,target=10").unwrap().values();
        assert!(params.contains(&("metric".into(), "queue".into())));
        assert!(params.contains(&("target".into(), "10".into())));
        assert!(params.contains(&("window".into(), "5m".into())));
        let keda = parse("keda").unwrap().values();
        assert!(keda.contains(&("interval".into(), "30s".into())));
        assert!(!keda.iter().any(|(k, _)| k == "metric"));
    }
}
