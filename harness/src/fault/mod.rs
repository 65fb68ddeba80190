//! Every fault the harness injects, in one vocabulary the robustness and the cluster steps share:
//! a [`Fault`] (what is done: stop, pause, restart, kill, delete, scale to zero; on a network
//! link latency, a throttle, a cut, a black hole, a reset, slicing) is injected
//! into a [`Target`] and, where it does not undo itself, undone again; each injection and undo
//! answers with an [`Applied`]: what was done, when, how long it took, and what counts as
//! recovered after it.
//!
//! One module per kind of target:
//!
//! | module | target | faults |
//! |---|---|---|
//! | [`container`] | a Docker container, by id | stop, pause, restart, kill |
//! | [`backing`] | the Redis or MongoDB of a test: its container, then its readiness | stop, pause, restart, kill |
//! | [`process`] | a child process of ours ([`crate::launch::process::ChildService`]) | stop (SIGTERM), kill (SIGKILL) |
//! | [`service`] | one of our services in this process ([`crate::launch::RunningService`]) | stop |
//! | [`pod`] | the pods of a deployed workload | delete, kill (their containers) |
//! | [`deployment`] | the replicas of a deployed Deployment | scale to zero |
//! | [`network`] | a service's link to a dependency, through a TCP fault proxy of its own or the cluster's | latency, throttle, cut, black hole, reset, slice |
//! | [`proxy`] | the TCP fault proxy itself: the `fault-proxy` crate (Toxiproxy's toxics and admin API), re-exported | every toxic; disable (cut) and enable (heal) |
//! | [`proxy_admin`] | a fault proxy elsewhere (the cluster's `fault-proxy` pod), through its admin API | the same |
//!
//! Next to them, [`silent`] stands in for a dependency that accepts connections and never
//! answers. A new kind of target is one more module implementing [`Target`], and a new kind
//! of fault one more [`Fault`] variant.
//!
//! Injecting a fault a target does not take is an error naming both. Waiting for a deployed
//! workload to be Ready again is [`crate::cluster::recovery`]'s business.

pub mod backing;
pub mod container;
pub mod deployment;
pub mod network;
pub mod pod;
pub mod process;
pub mod proxy_admin;
pub mod service;
pub mod silent;

/// The TCP fault proxy the network faults go through: the `fault-proxy` crate, with Toxiproxy's
/// toxics and admin API.
pub use ::fault_proxy as proxy;

use std::{
    collections::BTreeSet,
    fmt,
    future::Future,
    time::{Duration, Instant},
};

/// How long an orderly stop waits after SIGTERM before it SIGKILLs.
pub const GRACEFUL_STOP: Duration = Duration::from_secs(10);

/// What a fault does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// An orderly stop: SIGTERM, SIGKILL after [`GRACEFUL_STOP`]. Undone by starting it again.
    Stop,
    /// Frozen: connections stay open, nothing answers (a hung server). Undone by thawing it.
    Pause,
    /// Stopped and started again at once: it undoes itself.
    Restart,
    /// SIGKILL: a crash, without any of its own code running. Undone by starting it again (a
    /// pod's kubelet does that by itself).
    Kill,
    /// Deleted: its controller replaces it, so it undoes itself.
    Delete,
    /// Scaled to zero replicas, until its pods are gone. Undone by scaling it back.
    ScaleToZero,
    /// Every answer on a link delayed by `millis` ms (a slow dependency). Undone by healing it.
    Latency { millis: u64 },
    /// A link capped at `kilobytes_per_second` KB/s each way. Undone by healing it.
    Throttle { kilobytes_per_second: u64 },
    /// A partition: the link's open connections cut, new ones refused. Undone by healing it.
    Cut,
    /// A link whose connections stay open and pass nothing, either way (a black hole).
    /// Undone by healing it.
    Blackhole,
    /// A link's connections reset (TCP RST) as soon as data flows on them, old and new alike.
    /// Undone by healing it.
    Reset,
    /// A link's answers delivered in pieces of about `bytes` bytes. Undone by healing it.
    Slice { bytes: u64 },
    /// A link's requests pass, but each connection is closed as its answer starts: the server
    /// did the work, the client never hears of it (what a retry must survive). Undone by
    /// healing it.
    LoseAnswers,
}

impl Fault {
    /// The fault done, as messages say it: `stopped`, `SIGKILLed`, …
    pub fn done(self) -> &'static str {
        match self {
            Fault::Stop => "stopped",
            Fault::Pause => "paused",
            Fault::Restart => "restarted",
            Fault::Kill => "SIGKILLed",
            Fault::Delete => "deleted",
            Fault::ScaleToZero => "scaled to 0",
            Fault::Latency { .. } => "slowed down",
            Fault::Throttle { .. } => "throttled",
            Fault::Cut => "cut",
            Fault::Blackhole => "stopped passing data",
            Fault::Reset => "reset",
            Fault::Slice { .. } => "sliced",
            Fault::LoseAnswers => "losing its answers",
        }
    }

    /// The fault undone, as messages say it; `None` for a fault that undoes itself.
    pub fn undone(self) -> Option<&'static str> {
        match self {
            Fault::Stop | Fault::Kill => Some("started again"),
            Fault::Pause => Some("unpaused"),
            Fault::ScaleToZero => Some("scaled back"),
            Fault::Latency { .. }
            | Fault::Throttle { .. }
            | Fault::Cut
            | Fault::Blackhole
            | Fault::Reset
            | Fault::Slice { .. }
            | Fault::LoseAnswers => Some("healed"),
            Fault::Restart | Fault::Delete => None,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Stop => f.write_str("stop"),
            Fault::Pause => f.write_str("pause"),
            Fault::Restart => f.write_str("restart"),
            Fault::Kill => f.write_str("kill"),
            Fault::Delete => f.write_str("delete"),
            Fault::ScaleToZero => f.write_str("scale to zero"),
            Fault::Latency { millis } => write!(f, "{millis} ms of latency"),
            Fault::Throttle {
                kilobytes_per_second,
            } => write!(f, "a throttle to {kilobytes_per_second} KB/s"),
            Fault::Cut => f.write_str("cut"),
            Fault::Blackhole => f.write_str("black hole"),
            Fault::Reset => f.write_str("reset"),
            Fault::Slice { bytes } => write!(f, "slicing into {bytes}-byte pieces"),
            Fault::LoseAnswers => f.write_str("lost answers"),
        }
    }
}

/// What counts as recovered after a fault, beyond the target answering again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Answering again is enough.
    Answering,
    /// None of these instances (pod uids) may be among the live ones: the deleted ones are
    /// replaced.
    Replaced(BTreeSet<String>),
    /// More container restarts in total than this: the killed ones came back.
    RestartedBeyond(i32),
}

/// What one injection or undo did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// What was done, e.g. `pod(s) event-consumer-5d9c… deleted`.
    pub what: String,
    /// When it began: recovery times are measured from here.
    pub at: Instant,
    /// How long it took to complete (for a scale to zero: until the last pod was gone).
    pub took: Duration,
    /// What counts as recovered after it.
    pub recovered: Recovered,
}

impl Applied {
    /// `what`, begun `at` and complete now, after which answering again is recovery.
    pub fn since(at: Instant, what: impl Into<String>) -> Applied {
        Applied {
            what: what.into(),
            at,
            took: at.elapsed(),
            recovered: Recovered::Answering,
        }
    }
}

/// Something a [`Fault`] is injected into.
pub trait Target {
    /// The target in messages, e.g. `container 3f2a9c1b7d4e`.
    fn describe(&self) -> String;

    /// Injects `fault`; a fault this kind of target does not take is an error.
    fn inject(&mut self, fault: Fault) -> impl Future<Output = anyhow::Result<Applied>> + Send;

    /// Undoes an injected `fault` (starts again what was stopped or killed, thaws what was
    /// paused, scales back what was scaled to zero); an error for a fault this kind of target
    /// does not take or that undoes itself.
    fn undo(&mut self, fault: Fault) -> impl Future<Output = anyhow::Result<Applied>> + Send;
}

/// The error for `fault` on a `target` that does not take it; `action` is `inject` or `undo`.
pub fn unsupported(target: &impl Target, action: &str, fault: Fault) -> anyhow::Error {
    let reason = match (action, fault.undone()) {
        ("undo", None) => "it undoes itself",
        ("undo", Some(_)) => "this kind of target cannot undo it",
        _ => "not a fault this kind of target takes",
    };
    anyhow::anyhow!("cannot {action} {fault} on {}: {reason}", target.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    impl Target for Nothing {
        fn describe(&self) -> String {
            "nothing".to_owned()
        }

        async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
            Err(unsupported(self, "inject", fault))
        }

        async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
            Err(unsupported(self, "undo", fault))
        }
    }

    #[test]
    fn an_unsupported_fault_names_the_target_and_why() {
        assert_eq!(
            unsupported(&Nothing, "inject", Fault::ScaleToZero).to_string(),
            "cannot inject scale to zero on nothing: not a fault this kind of target takes"
        );
        assert_eq!(
            unsupported(&Nothing, "undo", Fault::Restart).to_string(),
            "cannot undo restart on nothing: it undoes itself"
        );
    }

    #[test]
    fn faults_say_how_they_are_done_and_undone() {
        assert_eq!(Fault::Kill.done(), "SIGKILLed");
        assert_eq!(Fault::Stop.undone(), Some("started again"));
        assert_eq!(Fault::Pause.undone(), Some("unpaused"));
        assert_eq!(Fault::Delete.undone(), None);
        assert_eq!(Fault::Cut.undone(), Some("healed"));
        assert_eq!(Fault::Reset.undone(), Some("healed"));
        assert_eq!(
            Fault::Latency { millis: 800 }.to_string(),
            "800 ms of latency"
        );
    }
}
