//! Scans for cases past their first-response target at a fixed interval; the rule is the
//! application's (`App::mark_overdue_cases`).

use std::time::Duration;

use anyhow::Context;
use muster_app::App;
use tokio_util::sync::CancellationToken;

use crate::worker::{Pace, Round, Runner, Worker, runner};

pub fn worker(app: App, interval: Duration) -> Runner<impl FnMut() -> SlaScan> {
    runner("sla", Pace::Every(interval), move || SlaScan {
        app: app.clone(),
    })
}

pub struct SlaScan {
    app: App,
}

impl Worker for SlaScan {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        let marked = self
            .app
            .mark_overdue_cases()
            .await
            .context("scanning for overdue cases")?;
        if marked > 0 {
            tracing::warn!(marked, "cases overdue; managers alerted");
        }
        Ok(Round::Idle)
    }
}
