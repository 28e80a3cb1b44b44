//! The shape of a worker over a database queue: claim a batch under a lease (a short
//! transaction, committed), do each item outside any transaction, then record the
//! outcomes. A crash between claim and record leaves leases that expire, and the items
//! are done again.

use std::future::Future;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::{Round, Worker};

pub trait Queue: Send + Sync + 'static {
    type Claimed: Send;
    type Outcome: Send;

    /// Claims the next due items; none when the queue is empty.
    fn claim(&self) -> impl Future<Output = anyhow::Result<Vec<Self::Claimed>>> + Send;

    /// Does one item. Its failures are outcomes to record, not errors.
    fn work(&self, claimed: Self::Claimed) -> impl Future<Output = Self::Outcome> + Send;

    /// Records a batch's outcomes, as many as it can; an error says some were not.
    fn record(
        &self,
        outcomes: Vec<Self::Outcome>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Runs a [`Queue`] on the runner: one batch per round, its items worked on together.
pub struct Drain<Q>(pub Q);

impl<Q: Queue> Worker for Drain<Q> {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        let queue = &self.0;
        let claimed = queue.claim().await?;
        if claimed.is_empty() {
            return Ok(Round::Idle);
        }
        // A batch in flight is finished and recorded even when shutdown is asked for.
        let outcomes = join_all(claimed.into_iter().map(|item| queue.work(item))).await;
        queue.record(outcomes).await?;
        Ok(Round::Worked)
    }
}

/// What a batch could not record, while the rest of it still is: a missed outcome only
/// means its lease expires and the item is done again.
#[derive(Default)]
pub struct Unrecorded {
    count: usize,
    first: Option<anyhow::Error>,
}

impl Unrecorded {
    pub fn note<E: Into<anyhow::Error>>(&mut self, written: Result<(), E>) {
        if let Err(err) = written {
            self.count += 1;
            self.first.get_or_insert(err.into());
        }
    }

    /// An error saying how many writes of `what` failed, with the first cause.
    pub fn into_result(self, what: &str) -> anyhow::Result<()> {
        match self.first {
            None => Ok(()),
            Some(err) => {
                Err(err.context(format!("recording {what}: {} writes failed", self.count)))
            }
        }
    }
}
