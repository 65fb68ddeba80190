//! [`AdaptiveLimit`]: a latency-based (AIMD) concurrency limit, so that load shedding keeps the
//! queue inside a service short whatever its bottleneck is (CPU, a pool, a store).
//!
//! A fixed limit of N requests in flight lets a request wait behind N others: with 512 slots and
//! a capacity of 100 requests a second, a served request may take five seconds. This limit
//! learns instead. It keeps, per route, the lowest latency seen lately (a windowed minimum, so
//! it follows a store that became slower for good; only requests admitted at low concurrency
//! may replace an old minimum, so sustained overload cannot teach it its own queueing). A
//! request's *target* is `tolerance ×` that minimum plus `slack`. The ratio of latency to target
//! is smoothed over the recent requests; while it is above 1 the limit shrinks multiplicatively
//! (by that ratio, at least to half, at most once per observed latency); while it is not, each
//! request grows the limit by `1 / limit` while the limit is in use (about one slot per round
//! trip); while less than half of it is in use, it decays towards twice the requests in flight,
//! so that a surge after a quiet spell meets a limit near what was used, not one left over from
//! long ago — but not below what the current traffic needs to ride out a stall as long as the
//! target (Little's law: requests completed a second × the target), so that a busy, fast service
//! whose store pauses for a few milliseconds queues those requests instead of refusing them. The
//! limit stays within `[min, max]`; `max` is the configured hard limit.
//!
//! A request over the limit is refused at once ([`AdaptiveLimit::try_acquire`] returns `None`):
//! the caller answers 429 + `Retry-After` (HTTP) or `RESOURCE_EXHAUSTED` (gRPC), never a queue.
//! Only answers that say something about the service's speed are samples: successes, and
//! anything slower than its route's target (a timeout is congestion); fast errors (a 404, a
//! 503 while the store is down) are not, or they would teach the limit a minimum no real
//! request reaches. Long-lived calls (streams) hold a slot but give no sample
//! ([`Permit::release`]).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// The default starting limit: permissive (a burst of a few dozen calls to an idle service is
/// served), shrunk by the first evidence of queueing.
pub const INITIAL_LIMIT: usize = 64;

/// How the limit adapts; [`LimitSettings::new`] gives the defaults for a hard limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitSettings {
    /// The hard limit: never more requests in flight than this.
    pub max: usize,
    /// The limit never shrinks below this (clamped to `max`).
    pub min: usize,
    /// The limit it starts at (clamped to `[min, max]`).
    pub initial: usize,
    /// A request slower than `tolerance ×` its route's minimum latency `+ slack` is congested.
    pub tolerance: f64,
    /// See `tolerance`: absolute room for the jitter of fast requests.
    pub slack: Duration,
    /// How long a route's minimum latency is remembered (a minimum older than that, and older
    /// than half of it, is replaced by what was seen since).
    pub window: Duration,
}

impl LimitSettings {
    /// The defaults under a hard limit of `max`: at least four slots per core (at least 16, so
    /// that the bursts of a light load are never refused), starting at [`INITIAL_LIMIT`],
    /// congestion above twice the minimum latency plus 20 ms (room for a scheduler's or a CPU
    /// quota's stalls, which are not queueing), minima
    /// remembered for 10 s.
    pub fn new(max: usize) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            max,
            min: (4 * cores).max(16),
            initial: INITIAL_LIMIT,
            tolerance: 2.0,
            slack: Duration::from_millis(20),
            window: Duration::from_secs(10),
        }
    }
}

/// A concurrency limit that adapts to the latency the service gives; cheap to clone (clones
/// share the limit).
#[derive(Debug, Clone)]
pub struct AdaptiveLimit {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    settings: LimitSettings,
    in_flight: AtomicUsize,
    /// The current limit, as a whole number of slots (read without the lock).
    slots: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: f64,
    /// The recent requests' latency as a share of their route's target, smoothed
    /// ([`SMOOTHING`]) so that one slow request among fast ones does not shrink the limit.
    load: f64,
    /// No decrease before this instant (one per observed latency).
    calm_until: Option<Instant>,
    /// The windowed minimum latency per route.
    minima: HashMap<String, MinFilter>,
    /// Requests completed a second, over the last whole [`RATE_WINDOW`].
    rate: f64,
    /// The current rate window: when it began, how many requests completed in it.
    rate_since: Option<Instant>,
    rate_count: u64,
}

/// A windowed minimum: the minimum of the current half-window and of the previous one.
#[derive(Debug, Clone, Copy)]
struct MinFilter {
    current: Duration,
    previous: Duration,
    since: Instant,
}

impl MinFilter {
    fn new(sample: Duration, now: Instant) -> Self {
        Self {
            current: sample,
            previous: sample,
            since: now,
        }
    }

    /// Adds `sample`; only an uncontended sample (`rotate`) may start a new half-window, so a
    /// minimum learnt at low load is not forgotten while the service stays overloaded.
    fn add(&mut self, sample: Duration, now: Instant, half_window: Duration, rotate: bool) {
        if rotate && now.saturating_duration_since(self.since) >= half_window {
            self.previous = self.current;
            self.current = sample;
            self.since = now;
        } else {
            self.current = self.current.min(sample);
        }
    }

    fn min(&self) -> Duration {
        self.current.min(self.previous)
    }
}

/// Per request served while less than half the limit is in use, the limit shrinks by this
/// factor (towards twice the requests in flight, never below the minimum).
const IDLE_DECAY: f64 = 0.97;

/// The weight of the newest sample in the smoothed load.
const SMOOTHING: f64 = 0.25;

/// How long the completion rate is counted over.
const RATE_WINDOW: Duration = Duration::from_millis(250);

/// Routes remembered at most; a service has a handful (matched patterns, not paths).
const MAX_ROUTES: usize = 64;

impl AdaptiveLimit {
    /// A limit that adapts as `settings` say.
    pub fn new(settings: LimitSettings) -> Self {
        let max = settings.max.max(1);
        let min = settings.min.clamp(1, max);
        let settings = LimitSettings {
            max,
            min,
            initial: settings.initial.clamp(min, max),
            ..settings
        };
        Self {
            shared: Arc::new(Shared {
                settings,
                in_flight: AtomicUsize::new(0),
                slots: AtomicUsize::new(settings.initial),
                state: Mutex::new(State {
                    limit: settings.initial as f64,
                    load: 0.0,
                    calm_until: None,
                    minima: HashMap::new(),
                    rate: 0.0,
                    rate_since: None,
                    rate_count: 0,
                }),
            }),
        }
    }

    /// A slot, when fewer requests than the limit are in flight; `None` means: refuse now.
    pub fn try_acquire(&self) -> Option<Permit> {
        let shared = &self.shared;
        let limit = shared.slots.load(Ordering::Relaxed);
        let taken = shared
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            });
        taken.ok().map(|before| Permit {
            shared: Arc::clone(shared),
            started: Instant::now(),
            in_flight: before + 1,
            done: false,
        })
    }

    /// The current limit.
    pub fn limit(&self) -> usize {
        self.shared.slots.load(Ordering::Relaxed)
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Relaxed)
    }

    /// The settings in force (after clamping).
    pub fn settings(&self) -> LimitSettings {
        self.shared.settings
    }
}

/// One admitted request's slot; given back when dropped (without a sample) or by
/// [`Permit::complete`] (with one).
#[derive(Debug)]
pub struct Permit {
    shared: Arc<Shared>,
    started: Instant,
    /// Requests in flight when this one was admitted, itself included.
    in_flight: usize,
    done: bool,
}

impl Permit {
    /// Gives the slot back and teaches the limit how long the request took on `route`.
    /// `success` says whether the answer was a success (a fast failure is no sample; a slow one
    /// is congestion).
    pub fn complete(mut self, route: &str, success: bool) {
        let latency = self.started.elapsed();
        self.give_back();
        self.shared
            .sample(route, latency, success, self.in_flight, Instant::now());
    }

    /// Gives the slot back without a sample (a stream, a cancelled request).
    pub fn release(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if !self.done {
            self.done = true;
            self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.give_back();
    }
}

impl State {
    /// Counts one completed request at `now` towards the completion rate.
    fn count_completion(&mut self, now: Instant) {
        let since = *self.rate_since.get_or_insert(now);
        self.rate_count += 1;
        let elapsed = now.saturating_duration_since(since);
        if elapsed >= RATE_WINDOW {
            self.rate = self.rate_count as f64 / elapsed.as_secs_f64();
            self.rate_since = Some(now);
            self.rate_count = 0;
        }
    }
}

impl Shared {
    fn sample(
        &self,
        route: &str,
        latency: Duration,
        success: bool,
        in_flight: usize,
        now: Instant,
    ) {
        let settings = &self.settings;
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        state.count_completion(now);
        let half_window = settings.window / 2;
        let minimum = match state.minima.get_mut(route) {
            Some(filter) => {
                let minimum = filter.min();
                if success {
                    filter.add(latency, now, half_window, in_flight <= settings.min);
                }
                minimum
            }
            None if success => {
                if state.minima.len() >= MAX_ROUTES {
                    state.minima.clear();
                }
                state
                    .minima
                    .insert(route.to_owned(), MinFilter::new(latency, now));
                latency
            }
            // A failure on a route never seen to succeed says nothing.
            None => return,
        };
        let target = minimum.mul_f64(settings.tolerance) + settings.slack;
        if !success && latency <= target {
            return;
        }
        let share = latency.as_secs_f64() / target.as_secs_f64();
        state.load = state.load * (1.0 - SMOOTHING) + share * SMOOTHING;
        let limit = state.limit;
        let new_limit = if state.load > 1.0 {
            if state.calm_until.is_some_and(|calm| now < calm) {
                return;
            }
            state.calm_until =
                Some(now + latency.clamp(Duration::from_millis(10), Duration::from_secs(1)));
            limit * (1.0 / state.load).clamp(0.5, 0.9)
        } else if !success {
            return;
        } else if in_flight as f64 * 2.0 >= limit {
            limit + 1.0 / limit
        } else {
            // Far more room than is used: decay towards twice what is used, so that a surge
            // after a quiet spell is not admitted by the hundred before the latency tells; but
            // keep what this rate needs to queue a stall as long as the target.
            (limit * IDLE_DECAY)
                .max(2.0 * in_flight as f64)
                .max(state.rate * target.as_secs_f64())
        };
        let new_limit = new_limit.clamp(settings.min as f64, settings.max as f64);
        state.limit = new_limit;
        // Whole slots; never below the minimum.
        let slots = (new_limit.floor() as usize).clamp(settings.min, settings.max);
        self.slots.store(slots, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LimitSettings {
        LimitSettings {
            max: 100,
            min: 2,
            initial: 20,
            tolerance: 2.0,
            slack: Duration::from_millis(5),
            window: Duration::from_secs(10),
        }
    }

    /// Feeds one completed request of `latency` on `route`, admitted with `in_flight` in flight.
    fn feed(
        limit: &AdaptiveLimit,
        route: &str,
        latency: Duration,
        ok: bool,
        in_flight: usize,
        at: Instant,
    ) {
        limit.shared.sample(route, latency, ok, in_flight, at);
    }

    #[test]
    fn refuses_at_once_over_the_limit_and_frees_slots_on_drop() {
        let limit = AdaptiveLimit::new(LimitSettings {
            initial: 2,
            ..settings()
        });
        let first = limit.try_acquire().unwrap();
        let second = limit.try_acquire().unwrap();
        assert!(limit.try_acquire().is_none());
        assert_eq!(limit.in_flight(), 2);
        drop(first);
        second.release();
        assert_eq!(limit.in_flight(), 0);
        assert!(limit.try_acquire().is_some());
    }

    #[test]
    fn congestion_shrinks_the_limit_and_calm_lets_it_grow() {
        let limit = AdaptiveLimit::new(settings());
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // The route's floor: 10 ms, so the target is 25 ms.
        feed(&limit, "/users", ms(10), true, 20, t0);
        assert_eq!(limit.limit(), 20);
        // One slow request among fast ones is smoothed away.
        feed(&limit, "/users", ms(30), true, 20, t0 + ms(1));
        assert_eq!(limit.limit(), 20);
        // 100 ms, four times the target, again and again: the smoothed load passes 1, the
        // limit shrinks, at most once per observed latency.
        for n in 0..4 {
            feed(&limit, "/users", ms(100), true, 20, t0 + ms(2 + n));
        }
        assert_eq!(limit.limit(), 15, "one decrease (load 1.28) within 100 ms");
        feed(&limit, "/users", ms(100), true, 15, t0 + ms(200));
        assert_eq!(limit.limit(), 7, "load ~3: halved (the largest step)");
        // Fast answers while the limit is in use: the load decays below 1, then the limit
        // grows by about one per round of `limit`.
        let mut low = limit.limit();
        for n in 0..60 {
            feed(&limit, "/users", ms(12), true, 9, t0 + ms(400 + n));
            low = low.min(limit.limit());
        }
        let grown = limit.limit();
        assert!(low >= 2 && grown >= low + 3, "{low} → {grown}");
        // ... and decays towards twice what is used while it is not used.
        for n in 0..10 {
            feed(&limit, "/users", ms(12), true, 3, t0 + ms(500 + n));
        }
        let decayed = limit.limit();
        assert!(decayed < grown && decayed >= 6, "{grown} → {decayed}");
        // One request every 20 ms (50 a second, a slot's worth at the 25 ms target).
        for n in 0..200 {
            feed(&limit, "/users", ms(12), true, 1, t0 + ms(600 + 20 * n));
        }
        assert_eq!(limit.limit(), 2, "down to the minimum");
    }

    #[test]
    fn a_busy_fast_route_keeps_room_for_a_stall_as_long_as_its_target() {
        let limit = AdaptiveLimit::new(settings());
        let t0 = Instant::now();
        let us = Duration::from_micros;
        // 4,000 requests a second of 1 ms, one in flight at a time: the target is 7 ms (twice
        // 1 ms plus 5), so riding out a 7 ms stall takes 28 slots, not the 2 that are used.
        for n in 0..4_000 {
            feed(&limit, "/event", us(1_000), true, 1, t0 + us(250 * n));
        }
        let kept = limit.limit();
        assert!((26..=30).contains(&kept), "{kept}");
        // At a tenth of that rate, the room decays to a tenth.
        for n in 0..2_000 {
            feed(
                &limit,
                "/event",
                us(1_000),
                true,
                1,
                t0 + us(1_000_000 + 2_500 * n),
            );
        }
        let decayed = limit.limit();
        assert!((2..=3).contains(&decayed), "{decayed}");
    }

    #[test]
    fn the_limit_stays_within_its_bounds() {
        let limit = AdaptiveLimit::new(settings());
        let t0 = Instant::now();
        feed(&limit, "/", Duration::from_millis(1), true, 1, t0);
        for n in 0..50 {
            feed(
                &limit,
                "/",
                Duration::from_secs(1),
                true,
                1,
                t0 + Duration::from_secs(2 * n),
            );
        }
        assert_eq!(limit.limit(), 2);
        for n in 0..100_000 {
            feed(
                &limit,
                "/",
                Duration::from_millis(1),
                true,
                100,
                t0 + Duration::from_secs(200) + Duration::from_micros(n),
            );
        }
        assert_eq!(limit.limit(), 100);
        let clamped = AdaptiveLimit::new(LimitSettings {
            max: 1,
            ..settings()
        });
        assert_eq!((clamped.limit(), clamped.settings().min), (1, 1));
    }

    #[test]
    fn fast_failures_teach_nothing_and_slow_ones_are_congestion() {
        let limit = AdaptiveLimit::new(settings());
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // Fast 503s on a new route: no sample, no minimum.
        feed(&limit, "/movies", ms(1), false, 20, t0);
        assert!(limit.shared.state.lock().unwrap().minima.is_empty());
        feed(&limit, "/movies", ms(10), true, 20, t0);
        // A fast failure does not lower the minimum ...
        feed(&limit, "/movies", ms(1), false, 20, t0 + ms(1));
        assert_eq!(
            limit.shared.state.lock().unwrap().minima["/movies"].min(),
            ms(10)
        );
        assert_eq!(limit.limit(), 20);
        // ... nor the load; a slow one (a timeout) shrinks the limit.
        assert!(limit.shared.state.lock().unwrap().load < 0.2);
        feed(&limit, "/movies", ms(1_000), false, 20, t0 + ms(2));
        assert_eq!(limit.limit(), 10);
    }

    #[test]
    fn each_route_has_its_own_floor() {
        let limit = AdaptiveLimit::new(settings());
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        feed(&limit, "/fast", ms(1), true, 20, t0);
        feed(&limit, "/slow", ms(40), true, 20, t0);
        // 40 ms is the slow route's usual latency, not congestion.
        feed(&limit, "/slow", ms(45), true, 20, t0 + ms(1));
        assert!(limit.limit() >= 20);
    }

    #[test]
    fn old_minima_are_forgotten() {
        let mut filter = MinFilter::new(Duration::from_millis(1), Instant::now());
        let t0 = filter.since;
        let half = Duration::from_secs(5);
        filter.add(
            Duration::from_millis(9),
            t0 + Duration::from_secs(6),
            half,
            true,
        );
        assert_eq!(filter.min(), Duration::from_millis(1));
        // Under load (no rotation) the old minimum stays.
        filter.add(
            Duration::from_millis(8),
            t0 + Duration::from_secs(12),
            half,
            false,
        );
        assert_eq!(filter.min(), Duration::from_millis(1));
        filter.add(
            Duration::from_millis(8),
            t0 + Duration::from_secs(12),
            half,
            true,
        );
        assert_eq!(filter.min(), Duration::from_millis(8));
    }
}
