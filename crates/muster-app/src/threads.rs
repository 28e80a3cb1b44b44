//! The headers that keep a case's mail in one thread in the customer's mail client: the
//! case's one subject and the customer's Message-IDs it answers.

use muster_core::case::Case;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_core::mail_feedback::ReturnTag;
use muster_core::mail_thread::case_subject;

use crate::{App, AppResult};

/// How a message to a case's customer joins their thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadHeaders {
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

impl App {
    /// A message on `case` answers the customer's latest email and carries the subject
    /// of their first (`subject_of`: whose subject, when it differs, e.g. a merge target).
    pub(crate) async fn thread_headers(
        &self,
        case: &Case,
        subject_of: &Case,
        incident: &Incident,
    ) -> AppResult<ThreadHeaders> {
        let answered = self.store.mail_thread(case.id).await?;
        let first_subject = match subject_of.id == case.id {
            true => answered.first_subject.clone(),
            false => self.store.mail_thread(subject_of.id).await?.first_subject,
        };
        let lang = incident.pick_language(Lang::parse(&subject_of.language).ok().as_ref());
        Ok(ThreadHeaders {
            subject: case_subject(
                first_subject.as_deref(),
                incident.title.get(&lang, &incident.default_language),
                &subject_of.reference,
            ),
            in_reply_to: answered.latest().map(str::to_owned),
            references: answered.message_ids,
        })
    }

    /// The return path of a reply recorded as `contact_id` (`None`: to the From address).
    pub(crate) fn reply_return_path(&self, contact_id: i64) -> Option<String> {
        let domain = self.settings.bounce_domain.as_deref()?;
        Some(ReturnTag::Reply(contact_id).address(domain))
    }
}
