//! Bounces and complaints arriving as email: never a customer's case. A permanent bounce
//! marks its delivery bounced and suppresses the address for every later campaign; a
//! complaint unsubscribes it; a transient bounce is only recorded (the sending server
//! retries).

use muster_core::mail_feedback::Report;
use muster_store::mail_feedback::FeedbackOutcome;
use serde_json::json;

use crate::{App, AppResult};

impl App {
    /// Records a report read from an arriving email (`muster_mail::feedback::read_report`).
    pub async fn take_in_report(&self, report: &Report) -> AppResult<FeedbackOutcome> {
        let outcome = self.store.record_feedback(report).await?;
        if outcome.recorded > 0 {
            // Addresses are personal data: the audit names the report, not whom it is about.
            self.store
                .audit(
                    "mail system",
                    &format!("mail.{}", report.kind.as_str()),
                    &report.report_id,
                    json!({ "recorded": outcome.recorded, "suppressed": outcome.suppressed.len(), "ours": outcome.ours }),
                )
                .await?;
        }
        Ok(outcome)
    }
}
