//! Scans for cases past their first-response target at a fixed interval; the rule is the
//! application's (`App::mark_overdue_cases`).

use std::time::Duration;

use muster_app::App;
use tokio_util::sync::CancellationToken;

pub async fn run(app: App, interval: Duration, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        match app.mark_overdue_cases().await {
            Ok(0) => {}
            Ok(marked) => tracing::warn!(marked, "cases overdue; managers alerted"),
            Err(err) => tracing::warn!(error = %err, "SLA scan failed; retrying"),
        }
    }
}
