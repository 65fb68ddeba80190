//! One direction of a connection: bytes from a reader to a writer, through the toxics that apply.
//!
//! With no toxic applying, it is a copy loop over one reused buffer (no allocation per chunk)
//! that also watches the toxic list. Once a toxic applies, reading and writing come apart: the
//! reader stamps each chunk with the time it was read and queues it (so a latency delays every
//! chunk from its arrival, without slowing the stream down), and the writer takes each chunk
//! through the toxics in order: it waits, splits, swallows, counts or closes as they say. When no
//! toxic applies any more, the queue is flushed and the copy loop takes over again.

use std::{future, time::Duration};

use bytes::Bytes;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::{mpsc, watch},
    time::Instant,
};

use super::{
    state::{self, Toxics},
    End, ToxicList,
};
use crate::ToxicKind;

/// The copy loop's buffer.
const COPY_BUFFER: usize = 64 * 1024;
/// The most a chunk holds once toxics apply (Toxiproxy reads 32 KiB at a time too).
const CHUNK: usize = 32 * 1024;
/// How many chunks may wait in a latency (Toxiproxy's buffer for it is as long).
const QUEUE_CHUNKS: usize = 1024;

/// What the reader hands the writer.
enum Chunk {
    /// Bytes, and when they were read.
    Data(Bytes, Instant),
    /// The source closed its side.
    Eof,
    /// The source failed.
    Failed,
}

/// How the toxic pipeline was left.
enum Mode {
    /// No toxic applies any more: back to copying.
    Copy,
    /// This direction, or the whole connection, ended.
    End(End),
}

/// Moves bytes from `reader` to `writer`, through the toxics of `toxics`, until it ends.
pub(super) async fn run<R, W>(
    mut reader: R,
    mut writer: W,
    mut toxics: watch::Receiver<ToxicList>,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut state = Toxics::default();
    let mut buffer = vec![0_u8; COPY_BUFFER];
    loop {
        let list = toxics.borrow_and_update().clone();
        if let Some(end) = state.sync(&list) {
            return end;
        }
        if state.active() {
            match through_toxics(&mut reader, &mut writer, &mut toxics, &mut state).await {
                Mode::Copy => continue,
                Mode::End(end) => return end,
            }
        }
        // Copies until the toxic list changes.
        loop {
            tokio::select! {
                biased;
                changed = toxics.changed() => match changed {
                    Ok(()) => break,
                    // The proxy is gone.
                    Err(_) => return End::Closed,
                },
                read = reader.read(&mut buffer) => match read {
                    Ok(0) => {
                        let _ = writer.shutdown().await;
                        return End::Eof;
                    }
                    Ok(n) => {
                        if writer.write_all(&buffer[..n]).await.is_err() {
                            return End::Closed;
                        }
                    }
                    Err(_) => return End::Closed,
                },
            }
        }
    }
}

/// Reads and writes apart, through the toxics, until none applies or the direction ends.
async fn through_toxics<R, W>(
    reader: &mut R,
    writer: &mut W,
    toxics: &mut watch::Receiver<ToxicList>,
    state: &mut Toxics,
) -> Mode
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (sender, mut queue) = mpsc::channel(QUEUE_CHUNKS);
    let reading = read_chunks(reader, sender);
    let writing = write_chunks(writer, &mut queue, toxics, state);
    tokio::pin!(reading, writing);
    let mut reading_done = false;
    loop {
        tokio::select! {
            () = &mut reading, if !reading_done => reading_done = true,
            // Dropping the reader mid-read loses nothing: a read is cancel-safe, and a chunk read
            // is queued without an await in between.
            mode = &mut writing => return mode,
        }
    }
}

/// Queues what `reader` reads, stamped with the time, until the source closes or fails.
async fn read_chunks<R>(reader: &mut R, sender: mpsc::Sender<Chunk>)
where
    R: AsyncRead + Unpin,
{
    let mut buffer = vec![0_u8; CHUNK];
    loop {
        let Ok(permit) = sender.reserve().await else {
            return;
        };
        let chunk = match reader.read(&mut buffer).await {
            Ok(0) => Chunk::Eof,
            Ok(n) => Chunk::Data(Bytes::copy_from_slice(&buffer[..n]), Instant::now()),
            Err(_) => Chunk::Failed,
        };
        let last = !matches!(chunk, Chunk::Data(..));
        permit.send(chunk);
        if last {
            return;
        }
    }
}

/// Writes the queued chunks through the toxics; also ends the direction when a `timeout` or a
/// `reset_peer` is due, data or not.
async fn write_chunks<W>(
    writer: &mut W,
    queue: &mut mpsc::Receiver<Chunk>,
    toxics: &mut watch::Receiver<ToxicList>,
    state: &mut Toxics,
) -> Mode
where
    W: AsyncWrite + Unpin,
{
    loop {
        if !state.active() {
            // What is queued goes out as it is; then the copy loop takes over.
            loop {
                match queue.try_recv() {
                    Ok(Chunk::Data(bytes, _)) => {
                        if writer.write_all(&bytes).await.is_err() {
                            return Mode::End(End::Closed);
                        }
                    }
                    Ok(Chunk::Eof) => {
                        let _ = writer.shutdown().await;
                        return Mode::End(End::Eof);
                    }
                    Ok(Chunk::Failed) => return Mode::End(End::Closed),
                    Err(_) => return Mode::Copy,
                }
            }
        }
        let deadline = state.deadline();
        tokio::select! {
            biased;
            changed = toxics.changed() => {
                if changed.is_err() {
                    return Mode::End(End::Closed);
                }
                let list = toxics.borrow_and_update().clone();
                if let Some(end) = state.sync(&list) {
                    return Mode::End(end);
                }
            }
            () = sleep_until(deadline.map(|(at, _)| at)) => {
                return Mode::End(deadline.map_or(End::Closed, |(_, end)| end));
            }
            chunk = queue.recv() => match chunk {
                Some(Chunk::Data(bytes, at)) => {
                    if let Err(end) = deliver(writer, bytes, at, toxics, state).await {
                        return Mode::End(end);
                    }
                }
                Some(Chunk::Eof) | None => return Mode::End(close(writer, state).await),
                Some(Chunk::Failed) => return Mode::End(End::Closed),
            },
        }
    }
}

/// When a piece of a chunk may move on to the next stage.
enum Gate {
    Now,
    /// At this instant (a latency).
    Until(Instant),
    /// When the `bandwidth` toxic of this stage has paid for it, at this rate.
    Pace {
        slot: usize,
        rate: u64,
    },
    /// This long after the piece before it (the slicer's delay).
    After(Duration),
}

/// The writer's work, on a stack: the top is next.
enum Work {
    /// A piece of the chunk, going into `stage` once its gate opens.
    Piece {
        stage: usize,
        bytes: Bytes,
        gate: Gate,
    },
    /// `limit_data` is reached: close once the pieces above are written.
    Close,
}

/// How a wait ended.
enum Waited {
    Done,
    /// The toxics changed: what is left of the chunk goes through the new list.
    Changed,
    End(End),
}

/// Takes one chunk, read at `at`, through the toxics that apply, in order, and writes what comes
/// out. An error is the end of the direction or of the connection.
async fn deliver<W>(
    writer: &mut W,
    bytes: Bytes,
    at: Instant,
    toxics: &mut watch::Receiver<ToxicList>,
    state: &mut Toxics,
) -> Result<(), End>
where
    W: AsyncWrite + Unpin,
{
    // What is left of the chunk, in order, when the toxics change under it.
    let mut rest = vec![bytes];
    'plan: loop {
        let stages = state.stages();
        let mut work: Vec<Work> = rest
            .drain(..)
            .rev()
            .map(|bytes| Work::Piece {
                stage: 0,
                bytes,
                gate: Gate::Now,
            })
            .collect();
        while let Some(item) = work.pop() {
            let Work::Piece { stage, bytes, gate } = item else {
                return Err(End::Closed);
            };
            let due = match gate {
                Gate::Now => None,
                Gate::Until(due) => Some(due),
                Gate::Pace { slot, rate } => Some(state.pace(slot, bytes.len(), rate)),
                Gate::After(pause) => Some(Instant::now() + pause),
            };
            if let Some(due) = due {
                match wait(due, toxics, state).await {
                    Waited::Done => {}
                    Waited::End(end) => return Err(end),
                    Waited::Changed => {
                        rest.push(bytes);
                        rest.extend(work.drain(..).rev().filter_map(|item| match item {
                            Work::Piece { bytes, .. } => Some(bytes),
                            Work::Close => None,
                        }));
                        continue 'plan;
                    }
                }
            }
            let Some(&slot) = stages.get(stage) else {
                writer.write_all(&bytes).await.map_err(|_| End::Closed)?;
                continue;
            };
            let next = stage + 1;
            match state.slots[slot].kind.clone() {
                ToxicKind::Latency { latency, jitter } => work.push(Work::Piece {
                    stage: next,
                    bytes,
                    gate: Gate::Until(at + state::latency(latency, jitter)),
                }),
                ToxicKind::Bandwidth { rate: 0 } | ToxicKind::SlowClose { .. } => {
                    work.push(Work::Piece {
                        stage: next,
                        bytes,
                        gate: Gate::Now,
                    })
                }
                ToxicKind::Bandwidth { rate } => {
                    // At most 100 ms worth at a time, as Toxiproxy.
                    let part = usize::try_from(rate.saturating_mul(100)).unwrap_or(usize::MAX);
                    let starts: Vec<usize> = (0..bytes.len()).step_by(part.max(1)).collect();
                    for start in starts.into_iter().rev() {
                        let end = bytes.len().min(start.saturating_add(part));
                        work.push(Work::Piece {
                            stage: next,
                            bytes: bytes.slice(start..end),
                            gate: Gate::Pace { slot, rate },
                        });
                    }
                }
                // Swallowed: a timeout passes nothing.
                ToxicKind::Timeout { .. } => {}
                // Swallowed, and the reset is on its way.
                ToxicKind::ResetPeer { .. } => state.arm_reset(slot),
                ToxicKind::Slicer {
                    average_size,
                    size_variation,
                    delay,
                } => {
                    let ends = state::slice_ends(bytes.len(), average_size, size_variation);
                    let mut start = 0;
                    let mut pieces = Vec::with_capacity(ends.len());
                    for end in ends {
                        let gate = if start == 0 {
                            Gate::Now
                        } else {
                            Gate::After(Duration::from_micros(delay))
                        };
                        pieces.push(Work::Piece {
                            stage: next,
                            bytes: bytes.slice(start..end),
                            gate,
                        });
                        start = end;
                    }
                    work.extend(pieces.into_iter().rev());
                }
                ToxicKind::LimitData { bytes: limit } => {
                    let counted = &mut state.slots[slot].passed;
                    let remaining = limit.saturating_sub(*counted);
                    let take = remaining.min(bytes.len() as u64);
                    *counted += take;
                    if *counted >= limit {
                        work.push(Work::Close);
                    }
                    if take > 0 {
                        // `take` is at most the chunk's length, so it fits.
                        let take = usize::try_from(take).unwrap_or(bytes.len());
                        work.push(Work::Piece {
                            stage: next,
                            bytes: bytes.slice(..take),
                            gate: Gate::Now,
                        });
                    }
                }
            }
        }
        return Ok(());
    }
}

/// Waits until `due`, unless the toxics change first or a deadline comes.
async fn wait(due: Instant, toxics: &mut watch::Receiver<ToxicList>, state: &mut Toxics) -> Waited {
    let deadline = state.deadline();
    tokio::select! {
        biased;
        changed = toxics.changed() => {
            if changed.is_err() {
                return Waited::End(End::Closed);
            }
            let list = toxics.borrow_and_update().clone();
            match state.sync(&list) {
                Some(end) => Waited::End(end),
                None => Waited::Changed,
            }
        }
        () = sleep_until(deadline.map(|(at, _)| at)) => {
            Waited::End(deadline.map_or(End::Closed, |(_, end)| end))
        }
        () = tokio::time::sleep_until(due) => Waited::Done,
    }
}

/// The source closed: a `timeout` closes the connection instead, a `reset_peer` resets it after
/// its time-out; otherwise the close is passed on after any `slow_close` delays.
async fn close<W>(writer: &mut W, state: &mut Toxics) -> End
where
    W: AsyncWrite + Unpin,
{
    match state.close_swallowed_by() {
        Some((_, End::Closed)) => return End::Closed,
        Some((slot, _)) => {
            state.arm_reset(slot);
            sleep_until(state.slots[slot].reset_at).await;
            return End::Reset;
        }
        None => {}
    }
    let delay = state.close_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let _ = writer.shutdown().await;
    End::Eof
}

/// Sleeps until `due`; for ever if there is none.
async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => future::pending().await,
    }
}
