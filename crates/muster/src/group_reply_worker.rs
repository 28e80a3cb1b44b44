//! Sends group replies: starts those whose hold is over, claims a batch of their cases
//! under a lease, renders each case's answer and writes the batch in one transaction
//! (`App::answer_group_targets`), then marks the replies with nothing left as done. A
//! replica that dies mid-batch wrote nothing of it; its leases expire and the batch is
//! answered by whichever replica claims it next, once.

use std::time::Duration;

use anyhow::Context;
use muster_app::App;
use muster_app::group_reply::PreparedReplies;
use tokio_util::sync::CancellationToken;

use crate::worker::{Pace, Round, Runner, Worker, runner};

/// Cases answered per transaction.
const BATCH: u64 = 250;
const IDLE_POLL: Duration = Duration::from_millis(500);

pub fn worker(app: App, lease: time::Duration) -> Runner<impl FnMut() -> GroupReplies> {
    let worker_id = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    runner("group-replies", Pace::Poll { idle: IDLE_POLL }, move || {
        GroupReplies {
            app: app.clone(),
            worker_id: worker_id.clone(),
            lease,
            prepared: PreparedReplies::new(),
        }
    })
}

pub struct GroupReplies {
    app: App,
    /// Names this replica's claims.
    worker_id: String,
    lease: time::Duration,
    /// Compiled replies, kept while they send.
    prepared: PreparedReplies,
}

impl Worker for GroupReplies {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        self.app
            .start_due_group_replies()
            .await
            .context("starting due group replies")?;
        let claimed = self
            .app
            .store
            .claim_group_targets(&self.worker_id, BATCH, self.lease)
            .await
            .context("claiming group reply cases")?;
        let worked = !claimed.is_empty();
        if worked {
            let answered = self
                .app
                .answer_group_targets(&self.worker_id, &mut self.prepared, claimed)
                .await
                .context("answering group reply cases")?;
            tracing::debug!(answered, "group reply batch written");
        }
        let done = self
            .app
            .store
            .finish_group_replies()
            .await
            .context("finishing group replies")?;
        for id in done {
            self.prepared.remove(&id);
            tracing::info!(reply_id = id, "group reply sent");
        }
        Ok(if worked { Round::Worked } else { Round::Idle })
    }
}
