//! What one direction of one connection remembers about its toxics: whether each applies (drawn
//! against its toxicity when the connection first sees it, and again when it changes), since
//! when, and the counters and clocks of the stateful ones (`limit_data`, `bandwidth`,
//! `reset_peer`, `timeout`).

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::{ActiveToxic, End};
use crate::ToxicKind;

/// How far behind its schedule a `bandwidth` toxic may be and still catch up (after longer, say
/// an idle link, it starts afresh rather than sending a burst).
const BANDWIDTH_SLACK: Duration = Duration::from_millis(100);

/// One toxic as this direction of this connection sees it.
#[derive(Debug)]
pub(super) struct Slot {
    name: String,
    id: u64,
    /// Whether it applies to this connection (drawn against its toxicity).
    pub(super) applies: bool,
    pub(super) kind: ToxicKind,
    /// When this connection first saw it as it is now.
    since: Instant,
    /// `limit_data`: the bytes passed so far.
    pub(super) passed: u64,
    /// `bandwidth`: when the bytes sent so far are paid for.
    paid_until: Option<Instant>,
    /// `reset_peer`: when the reset is due, once data has come.
    pub(super) reset_at: Option<Instant>,
}

/// The toxics of one direction of one connection, in the order of the proxy's list.
#[derive(Debug, Default)]
pub(super) struct Toxics {
    pub(super) slots: Vec<Slot>,
}

impl Toxics {
    /// Catches up with the proxy's current `list`. A toxic seen for the first time, or changed,
    /// is drawn again; state survives a change as in Toxiproxy. Answers [`End::Closed`] when an
    /// applied `timeout` toxic was removed: the data it swallowed is lost, so the connection
    /// cannot go on (Toxiproxy closes it too).
    pub(super) fn sync(&mut self, list: &[ActiveToxic]) -> Option<End> {
        let unchanged = self.slots.len() == list.len()
            && self
                .slots
                .iter()
                .zip(list)
                .all(|(slot, active)| slot.id == active.id);
        if unchanged {
            return None;
        }
        let now = Instant::now();
        let mut old = std::mem::take(&mut self.slots);
        let swallowed = old.iter().any(|slot| {
            slot.applies
                && matches!(slot.kind, ToxicKind::Timeout { .. })
                && !list.iter().any(|active| active.toxic.name == slot.name)
        });
        self.slots = list
            .iter()
            .map(|active| {
                let previous = old
                    .iter()
                    .position(|slot| slot.name == active.toxic.name)
                    .map(|index| old.swap_remove(index));
                match previous {
                    Some(slot) if slot.id == active.id => slot,
                    previous => Slot {
                        name: active.toxic.name.clone(),
                        id: active.id,
                        applies: draw(active.toxic.toxicity),
                        kind: active.toxic.kind.clone(),
                        since: now,
                        passed: previous.as_ref().map_or(0, |slot| slot.passed),
                        paid_until: None,
                        reset_at: None,
                    },
                }
            })
            .collect();
        swallowed.then_some(End::Closed)
    }

    /// Whether any toxic applies to this connection: if none does, bytes are simply copied.
    pub(super) fn active(&self) -> bool {
        self.slots.iter().any(|slot| slot.applies)
    }

    /// The indexes of the toxics that apply, in order: the stages a chunk goes through.
    pub(super) fn stages(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.applies)
            .map(|(index, _)| index)
            .collect()
    }

    /// The next thing due whatever the data does: a `timeout` closing the connection or a
    /// `reset_peer` resetting it.
    pub(super) fn deadline(&self) -> Option<(Instant, End)> {
        self.slots
            .iter()
            .filter(|slot| slot.applies)
            .filter_map(|slot| match slot.kind {
                ToxicKind::Timeout { timeout } if timeout > 0 => {
                    Some((slot.since + Duration::from_millis(timeout), End::Closed))
                }
                ToxicKind::ResetPeer { .. } => slot.reset_at.map(|at| (at, End::Reset)),
                _ => None,
            })
            .min_by_key(|(at, _)| *at)
    }

    /// Arms the `reset_peer` of stage `index` (data or the close has reached it), if not yet.
    pub(super) fn arm_reset(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if let (ToxicKind::ResetPeer { timeout }, None) = (&slot.kind, slot.reset_at) {
            slot.reset_at = Some(Instant::now() + Duration::from_millis(*timeout));
        }
    }

    /// When `len` more bytes may leave the `bandwidth` toxic of stage `index`, at `rate` KB/s.
    pub(super) fn pace(&mut self, index: usize, len: usize, rate: u64) -> Instant {
        let now = Instant::now();
        let slot = &mut self.slots[index];
        let start = match slot.paid_until {
            Some(paid) if paid + BANDWIDTH_SLACK >= now => paid,
            _ => now,
        };
        // `rate` KB/s is `rate` bytes per millisecond.
        let nanos = (len as u64).saturating_mul(1_000_000) / rate.max(1);
        let until = start + Duration::from_nanos(nanos);
        slot.paid_until = Some(until);
        until
    }

    /// How long the close waits: the sum of the `slow_close` delays that apply.
    pub(super) fn close_delay(&self) -> Duration {
        self.slots
            .iter()
            .filter(|slot| slot.applies)
            .map(|slot| match slot.kind {
                ToxicKind::SlowClose { delay } => Duration::from_millis(delay),
                _ => Duration::ZERO,
            })
            .sum()
    }

    /// Whether an applied toxic swallows the close: a `timeout` closes both ways instead, and a
    /// `reset_peer` resets (so its stage index is answered).
    pub(super) fn close_swallowed_by(&self) -> Option<(usize, End)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.applies)
            .find_map(|(index, slot)| match slot.kind {
                ToxicKind::Timeout { .. } => Some((index, End::Closed)),
                ToxicKind::ResetPeer { .. } => Some((index, End::Reset)),
                _ => None,
            })
    }
}

/// Whether a toxic of `toxicity` applies to a new connection: always at 1, never at 0.
fn draw(toxicity: f32) -> bool {
    toxicity >= 1.0 || (toxicity > 0.0 && rand::thread_rng().gen::<f32>() < toxicity)
}

/// A jittered latency: `latency` ± up to `jitter` ms, never below zero.
pub(super) fn latency(latency: u64, jitter: u64) -> Duration {
    let millis = if jitter == 0 {
        latency
    } else {
        let offset = rand::thread_rng().gen_range(0..=jitter.saturating_mul(2));
        (latency + offset).saturating_sub(jitter)
    };
    Duration::from_millis(millis)
}

/// Where the `slicer` cuts `len` bytes: the ends of the slices, in order (Toxiproxy's halving,
/// with a random shift of up to `size_variation` either way, down to about `average_size`).
pub(super) fn slice_ends(len: usize, average_size: u64, size_variation: u64) -> Vec<usize> {
    let average = usize::try_from(average_size).unwrap_or(usize::MAX).max(1);
    let variation = usize::try_from(size_variation).unwrap_or(usize::MAX);
    let mut ends = Vec::new();
    // Ranges still to cut, the first one on top.
    let mut ranges = vec![(0, len)];
    let mut rng = rand::thread_rng();
    while let Some((start, end)) = ranges.pop() {
        let size = end - start;
        if size <= 1 || size.saturating_sub(average) <= variation {
            if size > 0 {
                ends.push(end);
            }
            continue;
        }
        let mut middle = start + size / 2;
        if variation > 0 {
            let shift = rng.gen_range(0..=variation.saturating_mul(2));
            middle = middle.saturating_add(shift).saturating_sub(variation);
        }
        // Each half keeps at least one byte, so the cutting ends.
        let middle = middle.clamp(start + 1, end - 1);
        ranges.push((middle, end));
        ranges.push((start, middle));
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slicer_slices_cover_the_chunk_in_order() {
        for (len, average, variation) in [(1000, 10, 5), (7, 0, 0), (64, 100, 3), (513, 1, 100)] {
            let ends = slice_ends(len, average, variation);
            assert_eq!(ends.last().copied(), Some(len));
            assert!(ends.windows(2).all(|pair| pair[0] < pair[1]), "{ends:?}");
        }
        assert!(slice_ends(1000, 10, 5).len() >= 50);
        assert!(slice_ends(0, 10, 5).is_empty());
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        for _ in 0..200 {
            let delay = latency(100, 10).as_millis();
            assert!((90..=110).contains(&delay), "{delay}");
        }
        assert!((0..200).all(|_| latency(5, 50).as_millis() <= 55));
    }

    #[test]
    fn toxicity_zero_never_applies_and_one_always_does() {
        assert!((0..1000).all(|_| !draw(0.0)));
        assert!((0..1000).all(|_| draw(1.0)));
    }
}
