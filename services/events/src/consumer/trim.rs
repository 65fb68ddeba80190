//! Trimming the stream below what every consumer group is done with, so the stream stays as
//! long as the work not yet finished, and no longer.
//!
//! **Where.** The consumer trims, every `trim_interval` (setting `trim_stream`): acknowledging
//! is what makes an entry disposable, and the consumer is the process that acknowledges and
//! already talks to the group. The producer only appends and knows nothing of groups; its
//! `max_len` (`XADD … MAXLEN`, off by default) stays a blunt safety cap that may drop entries no
//! group has read, so it is not the way to bound the stream. Several consumers trimming is
//! harmless: each computes a safe point and `XTRIM MINID` never moves anything back.
//!
//! **The trim point** ([`trim_point`]): for every group (`XINFO GROUPS`), the first entry it is
//! not done with is the lower of its smallest pending id (`XPENDING` summary) and the id right
//! after its last-delivered id; entries below the minimum over all groups are read and
//! acknowledged by every group, and only those are removed (`XTRIM <stream> MINID <point>`,
//! exact). No group at all: nothing is trimmed (there is nobody whose progress says what is
//! done). A group that lags, or has no consumer running, keeps everything it has not read or
//! not acknowledged; a group abandoned for good must be removed (`XGROUP DESTROY`) for the
//! stream to shrink.
//!
//! **Why reading twice is safe.** `XINFO GROUPS` is read first, then each group's `XPENDING`.
//! Between the two a group only moves forward: newly delivered entries lie above the
//! last-delivered id already read, and an entry acknowledged meanwhile is done anyway; taking the
//! lower of the two bounds per group keeps whatever was unread at the first read and pending at
//! the second. A group created (or moved back with `XGROUP SETID`) after the first read sees the
//! stream as trimmed a moment earlier, which is what trimming means for it anyway.

use std::{fmt, str::FromStr};

use redis::{
    aio::ConnectionLike,
    streams::{StreamInfoGroupsReply, StreamPendingReply},
    RedisResult,
};

/// A stream entry id, `<ms>-<seq>`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

/// An id that is not `<ms>-<seq>` (or a bare `<ms>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a stream entry id: {0:?}")]
pub struct InvalidStreamId(pub String);

impl FromStr for StreamId {
    type Err = InvalidStreamId;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidStreamId(text.to_owned());
        let (ms, seq) = match text.split_once('-') {
            Some((ms, seq)) => (ms, seq),
            None => (text, "0"),
        };
        Ok(Self {
            ms: ms.parse().map_err(|_| invalid())?,
            seq: seq.parse().map_err(|_| invalid())?,
        })
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl StreamId {
    /// The smallest id greater than this one (`None` after `u64::MAX-u64::MAX`).
    pub fn next(self) -> Option<Self> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(Self { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| Self { ms, seq: 0 }),
        }
    }
}

/// How far one consumer group has got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupProgress {
    /// The group name.
    pub name: String,
    /// Its last-delivered id (`XINFO GROUPS`).
    pub last_delivered: StreamId,
    /// Its smallest pending id, if anything is pending (`XPENDING` summary).
    pub first_pending: Option<StreamId>,
}

impl GroupProgress {
    /// The first entry this group is not done with: everything below it was delivered to the
    /// group and acknowledged. `None` when the group has read up to the largest possible id.
    pub fn first_not_done(&self) -> Option<StreamId> {
        let after_delivered = self.last_delivered.next();
        match (self.first_pending, after_delivered) {
            (Some(pending), Some(next)) => Some(pending.min(next)),
            (Some(pending), None) => Some(pending),
            (None, next) => next,
        }
    }
}

/// The `MINID` to trim to: the minimum over `groups` of [`GroupProgress::first_not_done`];
/// `None` (do not trim) when there is no group.
pub fn trim_point(groups: &[GroupProgress]) -> Option<StreamId> {
    if groups.is_empty() {
        return None;
    }
    groups
        .iter()
        .map(|group| {
            group.first_not_done().unwrap_or(StreamId {
                ms: u64::MAX,
                seq: u64::MAX,
            })
        })
        .min()
}

/// What one trim round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimOutcome {
    /// The groups' progress, as read.
    pub groups: Vec<GroupProgress>,
    /// The `MINID` used; `None` when nothing was trimmed for want of a group.
    pub point: Option<StreamId>,
    /// Entries removed.
    pub removed: u64,
}

fn invalid_reply(what: &str, error: InvalidStreamId) -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::TypeError,
        "unexpected reply",
        format!("{what}: {error}"),
    ))
}

/// Reads every group's progress on `stream`: `XINFO GROUPS` first, then each group's
/// `XPENDING` summary (the order the module docs rely on). No stream: no group.
pub async fn read_progress(
    connection: &mut impl ConnectionLike,
    stream: &str,
) -> RedisResult<Vec<GroupProgress>> {
    let info: RedisResult<StreamInfoGroupsReply> = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(connection)
        .await;
    let info = match info {
        Ok(info) => info,
        // No such key (yet): nothing to trim.
        Err(error)
            if error
                .detail()
                .is_some_and(|detail| detail.contains("no such key")) =>
        {
            tracing::debug!(%error, %stream, "XINFO GROUPS failed; not trimming");
            return Ok(Vec::new());
        }
        Err(error) => return Err(error),
    };
    let mut groups = Vec::with_capacity(info.groups.len());
    for group in info.groups {
        let last_delivered = group
            .last_delivered_id
            .parse()
            .map_err(|error| invalid_reply("XINFO GROUPS last-delivered-id", error))?;
        let pending: StreamPendingReply = redis::cmd("XPENDING")
            .arg(stream)
            .arg(&group.name)
            .query_async(connection)
            .await?;
        let first_pending = match pending {
            StreamPendingReply::Data(data) if data.count > 0 => Some(
                data.start_id
                    .parse()
                    .map_err(|error| invalid_reply("XPENDING smallest id", error))?,
            ),
            _ => None,
        };
        groups.push(GroupProgress {
            name: group.name,
            last_delivered,
            first_pending,
        });
    }
    Ok(groups)
}

/// One trim round: reads the groups' progress and trims `stream` below [`trim_point`].
pub async fn trim(connection: &mut impl ConnectionLike, stream: &str) -> RedisResult<TrimOutcome> {
    let groups = read_progress(connection, stream).await?;
    let point = trim_point(&groups);
    let removed = match point {
        Some(point) => {
            redis::cmd("XTRIM")
                .arg(stream)
                .arg("MINID")
                .arg(point.to_string())
                .query_async(connection)
                .await?
        }
        None => 0,
    };
    Ok(TrimOutcome {
        groups,
        point,
        removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> StreamId {
        text.parse().unwrap_or_else(|error| panic!("{error}"))
    }

    fn group(last_delivered: &str, first_pending: Option<&str>) -> GroupProgress {
        GroupProgress {
            name: "g".to_owned(),
            last_delivered: id(last_delivered),
            first_pending: first_pending.map(id),
        }
    }

    #[test]
    fn ids_parse_order_and_step() {
        assert_eq!(
            id("1700000000000-5"),
            StreamId {
                ms: 1_700_000_000_000,
                seq: 5
            }
        );
        assert_eq!(id("42"), StreamId { ms: 42, seq: 0 });
        assert!("x-1".parse::<StreamId>().is_err());
        assert!("1-".parse::<StreamId>().is_err());
        assert!(id("2-0") > id("1-99"));
        assert!(id("10-0") > id("9-0"), "numeric, not lexicographic");
        assert_eq!(id("1-5").next(), Some(id("1-6")));
        assert_eq!(
            StreamId {
                ms: 7,
                seq: u64::MAX
            }
            .next(),
            Some(id("8-0"))
        );
        assert_eq!(
            StreamId {
                ms: u64::MAX,
                seq: u64::MAX
            }
            .next(),
            None
        );
        assert_eq!(id("3-4").to_string(), "3-4");
    }

    #[test]
    fn no_group_means_no_trimming() {
        assert_eq!(trim_point(&[]), None);
    }

    #[test]
    fn a_group_with_nothing_pending_is_done_up_to_its_last_delivered_entry() {
        assert_eq!(trim_point(&[group("5-2", None)]), Some(id("5-3")));
        // A group that has read nothing keeps everything.
        assert_eq!(trim_point(&[group("0-0", None)]), Some(id("0-1")));
    }

    #[test]
    fn a_pending_entry_is_kept() {
        assert_eq!(trim_point(&[group("9-0", Some("4-1"))]), Some(id("4-1")));
        // Pending above the last-delivered id read earlier: the lower bound wins.
        assert_eq!(trim_point(&[group("3-0", Some("4-0"))]), Some(id("3-1")));
    }

    #[test]
    fn the_group_furthest_behind_decides() {
        let groups = [
            group("100-0", None),
            group("60-0", Some("20-7")),
            group("40-0", None),
        ];
        assert_eq!(trim_point(&groups), Some(id("20-7")));
        let groups = [group("100-0", None), group("40-0", None)];
        assert_eq!(trim_point(&groups), Some(id("40-1")));
    }
}
