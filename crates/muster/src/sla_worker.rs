//! Scans for cases past their first-response target. Each is marked overdue once (moving
//! it up within its tier) and the managers are alerted by email, in the same transaction.

use std::time::Duration;

use anyhow::Context;

use muster_core::case::Case;
use muster_core::incident::{Incident, IncidentStatus};
use muster_mail::OutgoingMessage;
use muster_store::Store;
use muster_store::cases::MailJob;
use tokio_util::sync::CancellationToken;

use crate::worker::{Pace, Round, Runner, Worker, runner};

pub struct SlaSettings {
    pub interval: Duration,
    pub base_url: String,
    pub from: String,
    pub clock_offset: time::Duration,
}

fn alert(
    settings: &SlaSettings,
    incident: &Incident,
    case: &Case,
    managers: &[String],
) -> Vec<MailJob> {
    let domain = settings
        .from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>'))
        .unwrap_or("muster.invalid");
    let title = incident
        .title
        .get(&incident.default_language, &incident.default_language);
    managers
        .iter()
        .filter_map(|manager| {
            let message = OutgoingMessage {
                from: settings.from.clone(),
                to: manager.clone(),
                reply_to: None,
                subject: format!("Overdue: {} ({title})", case.reference),
                text: format!(
                    "Case {} has had no first response within its target.\n\nOpen it: {}/console/cases/{}\n",
                    case.reference, settings.base_url, case.reference
                ),
                html: None,
                message_id: format!("overdue.{}.{}@{domain}", case.reference, manager.replace('@', ".")),
                in_reply_to: None,
                auto_submitted: true,
                list_unsubscribe: None,
            };
            muster_web::mail_job::queued("overdue", &message)
        })
        .collect()
}

async fn scan(store: &Store, settings: &SlaSettings) -> Result<usize, muster_store::StoreError> {
    let now = time::OffsetDateTime::now_utc() + settings.clock_offset;
    let managers = store.manager_emails().await?;
    let mut marked = 0;
    for summary in store.list_incidents().await? {
        if !matches!(
            summary.status,
            IncidentStatus::Active | IncidentStatus::Monitoring
        ) {
            continue;
        }
        let Some(incident) = store.incident_by_slug(&summary.slug).await? else {
            continue;
        };
        let overdue = store
            .mark_overdue(
                incident.id,
                incident.today(now),
                incident.settings.windows,
                incident.settings.sla,
                now,
                |case| alert(settings, &incident, case, &managers),
            )
            .await?;
        marked += overdue.len();
    }
    Ok(marked)
}

pub fn worker(store: Store, settings: SlaSettings) -> Runner<impl FnMut() -> SlaScan> {
    let settings = std::sync::Arc::new(settings);
    runner("sla", Pace::Every(settings.interval), move || SlaScan {
        store: store.clone(),
        settings: settings.clone(),
    })
}

pub struct SlaScan {
    store: Store,
    settings: std::sync::Arc<SlaSettings>,
}

impl Worker for SlaScan {
    async fn round(&mut self, _stop: &CancellationToken) -> anyhow::Result<Round> {
        let marked = scan(&self.store, &self.settings)
            .await
            .context("scanning for overdue cases")?;
        if marked > 0 {
            tracing::warn!(marked, "cases overdue; managers alerted");
        }
        Ok(Round::Idle)
    }
}
