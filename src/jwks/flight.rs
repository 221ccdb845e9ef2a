//! Single-flight refreshes that outlive the requests waiting on them.
//!
//! At most one fetch of a cache is in the air. Whoever finds none starts one (a request with
//! an unknown kid, a request finding no usable set, the background refresh, `refresh()`); the
//! others join it. The fetch runs as its own task, so a request that stops waiting (its wait
//! is bounded by the HTTP timeout) or is dropped does not cancel it: its result is installed
//! when it arrives. The slot is freed by a guard, [`Departure`], on every exit path of that
//! task: landed, failed, panicked, or dropped with its runtime. A slot that stayed taken would
//! stop every later refresh.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::watch;

use super::source::FetchError;

/// What a flight brings back: what it installed (for the key cache, the new snapshot), or why
/// the fetch failed. Generic so that this module knows nothing of what is fetched.
pub(crate) type Outcome<T> = Result<Arc<T>, FetchError>;

/// Where a flight's outcome appears (`None` until it lands).
type Arrival<T> = watch::Receiver<Option<Outcome<T>>>;

/// The flight slot of one cache.
#[derive(Debug)]
pub(crate) struct Flights<T> {
    /// The flight in the air: its id and where its outcome will appear. Locked only to board
    /// or free, never across an await, and never by a request that has its key.
    slot: Mutex<Option<(u64, Arrival<T>)>>,
    /// Mirrors `slot.is_some()`, so the background refresh check takes no lock.
    flying: AtomicBool,
    next_id: AtomicU64,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Self {
            slot: Mutex::new(None),
            flying: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
        }
    }
}

/// How a caller got onto a flight.
pub(crate) enum Boarding<T> {
    /// A flight was already in the air: its fetch may predate the caller.
    Joined(Ticket<T>),
    /// The caller started a new flight and must run it ([`Departure`]) to completion.
    Started(Ticket<T>, Departure<T>),
}

/// A seat on a flight: waits for its outcome.
pub(crate) struct Ticket<T>(Arrival<T>);

/// The running flight's hold on the slot; frees it when landed or dropped.
pub(crate) struct Departure<T> {
    flights: Arc<Flights<T>>,
    id: u64,
    outcome: watch::Sender<Option<Outcome<T>>>,
}

impl<T> Flights<T> {
    /// Whether a flight is in the air (lock-free).
    pub(crate) fn is_flying(&self) -> bool {
        self.flying.load(Ordering::Acquire)
    }

    /// Joins the flight in the air, or starts one.
    pub(crate) fn board(self: &Arc<Self>) -> Boarding<T> {
        match self.board_unless(|| None::<Infallible>) {
            Ok(boarding) => boarding,
            Err(never) => match never {},
        }
    }

    /// As [`board`](Self::board), but when no flight is in the air, `done` is asked first,
    /// under the slot's lock (so no one can join a flight that will not fly): `Some` starts
    /// none and is returned as the error.
    pub(crate) fn board_unless<R>(
        self: &Arc<Self>,
        done: impl FnOnce() -> Option<R>,
    ) -> Result<Boarding<T>, R> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, outcome)) = slot.as_ref() {
            return Ok(Boarding::Joined(Ticket(outcome.clone())));
        }
        if let Some(done) = done() {
            return Err(done);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = watch::channel(None);
        *slot = Some((id, receiver.clone()));
        self.flying.store(true, Ordering::Release);
        Ok(Boarding::Started(
            Ticket(receiver),
            Departure {
                flights: Arc::clone(self),
                id,
                outcome: sender,
            },
        ))
    }

    fn free(&self, id: u64) {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|(flying, _)| *flying == id) {
            *slot = None;
            self.flying.store(false, Ordering::Release);
        }
    }
}

impl<T> Departure<T> {
    /// Publishes the outcome. The slot is freed first, so that a waiter whose kid is missing
    /// from the result can start the next flight at once.
    pub(crate) fn land(self, outcome: Outcome<T>) {
        self.flights.free(self.id);
        self.outcome.send_replace(Some(outcome));
    }
}

impl<T> Drop for Departure<T> {
    fn drop(&mut self) {
        // Landed: a no-op. Dropped mid-fetch (task cancelled, runtime shut down, panic): frees
        // the slot, and dropping the sender wakes the waiters with no outcome.
        self.flights.free(self.id);
    }
}

impl<T> Ticket<T> {
    /// The flight's outcome, waiting until `deadline` at most (`None`: no limit). `None` when
    /// the deadline passed first or the flight was dropped before landing.
    pub(crate) async fn outcome(
        self,
        deadline: Option<tokio::time::Instant>,
    ) -> Option<Outcome<T>> {
        let mut receiver = self.0;
        let arrived = async move {
            receiver
                .wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|outcome| outcome.clone())
        };
        match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, arrived)
                .await
                .ok()
                .flatten(),
            None => arrived.await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `board_unless` asks only when it would start a flight, and under the lock: an answer
    /// starts none (the slot stays free), and a flight in the air is joined without asking.
    #[test]
    fn board_unless_asks_only_before_starting_and_then_starts_nothing() {
        let flights = Arc::new(Flights::<u8>::default());
        let done = flights.board_unless(|| Some("installed meanwhile"));
        assert!(matches!(done, Err("installed meanwhile")));
        assert!(
            !flights.is_flying(),
            "no flight started, no one can have joined one"
        );

        let Ok(Boarding::Started(_, departure)) = flights.board_unless(|| None::<()>) else {
            panic!("nothing said done and nothing flies: a flight starts");
        };
        assert!(flights.is_flying());
        let mut asked = false;
        let joined = flights.board_unless(|| {
            asked = true;
            Some(())
        });
        assert!(matches!(joined, Ok(Boarding::Joined(_))));
        assert!(!asked, "a flight in the air is joined without asking");
        departure.land(Ok(Arc::new(7)));
        assert!(!flights.is_flying());
    }
}
