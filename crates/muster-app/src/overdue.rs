//! The SLA scan's use case: cases past their first-response target are marked overdue once
//! (moving them up within their tier), and the managers alerted by email in the same
//! transaction.

use muster_core::case::Case;
use muster_core::incident::{Incident, IncidentStatus};
use muster_mail::OutgoingMessage;
use muster_store::cases::MailJob;

use crate::{App, AppResult};

impl App {
    fn overdue_alerts(
        &self,
        incident: &Incident,
        case: &Case,
        managers: &[String],
    ) -> Vec<MailJob> {
        let title = incident
            .title
            .get(&incident.default_language, &incident.default_language);
        let settings = &self.settings;
        managers
            .iter()
            .filter_map(|manager| {
                let message = OutgoingMessage {
                    from: settings.mail_from.clone(),
                    to: manager.clone(),
                    reply_to: None,
                    subject: format!("Overdue: {} ({title})", case.reference),
                    text: format!(
                        "Case {} has had no first response within its target.\n\nOpen it: {}/console/cases/{}\n",
                        case.reference, settings.base_url, case.reference
                    ),
                    html: None,
                    message_id: format!(
                        "overdue.{}.{}@{}",
                        case.reference,
                        manager.replace('@', "."),
                        settings.id_domain
                    ),
                    in_reply_to: None,
                    references: Vec::new(),
                    return_path: None,
                    auto_submitted: true,
                    list_unsubscribe: None,
                };
                crate::mail_job::queued("overdue", &message)
            })
            .collect()
    }

    /// Marks every newly overdue case of the live incidents; returns how many.
    pub async fn mark_overdue_cases(&self) -> AppResult<usize> {
        let now = self.now();
        let managers = self.store.manager_emails().await?;
        let mut marked = 0;
        for summary in self.store.list_incidents().await? {
            if !matches!(
                summary.status,
                IncidentStatus::Active | IncidentStatus::Monitoring
            ) {
                continue;
            }
            let Some(incident) = self.store.incident_by_slug(&summary.slug).await? else {
                continue;
            };
            let overdue = self
                .store
                .mark_overdue(
                    incident.id,
                    incident.today(now),
                    incident.settings.windows,
                    incident.settings.sla,
                    now,
                    |case| self.overdue_alerts(&incident, case, &managers),
                )
                .await?;
            marked += overdue.len();
        }
        Ok(marked)
    }
}
