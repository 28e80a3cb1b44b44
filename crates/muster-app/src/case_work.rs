//! An agent's use cases on the queue and on one case: take the next, keep the claim, note,
//! reply (to the customer by email, with the case's link), set the status, move the team,
//! log a phone call. Merging is in `merging`.

use muster_core::case::{Case, CaseStatus};
use muster_core::case_ref::CaseRef;
use muster_core::incident::{ChannelKind, Incident};
use muster_core::intake::MESSAGE_MAX;
use muster_core::language::Lang;
use muster_core::problem::Problem;
use muster_mail::OutgoingMessage;
use muster_store::cases::Intake;
use muster_store::queue::QueueScope;
use muster_store::tokens::random_token;
use serde_json::json;

use crate::live::CaseChange;
use crate::{Actor, App, AppError, AppResult};

/// A note, reply or call log: trimmed, 1 to [`MESSAGE_MAX`] characters.
pub fn parse_case_text(raw: &str) -> Result<&str, Problem> {
    let text = raw.trim();
    if text.is_empty() {
        Err(Problem::of("err_required"))
    } else if let Err(err) = muster_core::text_rule::long_text(text) {
        Err(err.into())
    } else if text.chars().count() > MESSAGE_MAX {
        Err(Problem::too_long(MESSAGE_MAX))
    } else {
        Ok(text)
    }
}

/// `crisis+MX-7K3Q9P@example.com`: a reply to it threads back into the case.
fn reply_address(from: &str, reference: &str) -> Option<String> {
    let address = from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(from);
    let (local, domain) = address.split_once('@')?;
    Some(format!("{local}+{reference}@{domain}"))
}

impl Actor {
    /// The signed-in user a case action is recorded against.
    pub(crate) fn agent_id(&self) -> AppResult<i64> {
        self.user_id.ok_or(AppError::Forbidden)
    }
}

impl App {
    /// Tells the working views that `case` changed.
    fn changed(&self, case: &Case) {
        self.live.announce(
            case.incident_id,
            case.reference.as_str(),
            CaseChange::Changed,
        );
    }

    /// The case with this reference and its incident.
    pub async fn case(&self, reference: &str) -> AppResult<(Case, Incident)> {
        let missing = || AppError::NotFound(format!("case \"{reference}\""));
        let parsed = CaseRef::parse(reference).map_err(|_| missing())?;
        let case = self
            .store
            .case_by_reference(&parsed)
            .await?
            .ok_or_else(missing)?;
        let incident = self.store.incident_by_id(case.incident_id).await?;
        Ok((case, incident))
    }

    /// Whose cases `actor` may take: a manager every team's, an agent their own teams'.
    pub async fn queue_scope(&self, actor: &Actor, incident: &Incident) -> AppResult<QueueScope> {
        let teams = if actor.is_manager() {
            None
        } else {
            Some(self.store.user_teams(actor.agent_id()?).await?)
        };
        Ok(QueueScope {
            incident_id: incident.id,
            today: incident.today(self.now()),
            windows: incident.settings.windows,
            teams,
        })
    }

    /// Claims the most urgent unclaimed case `actor` may take; `None` when none waits.
    pub async fn take_next(&self, actor: &Actor, incident: &Incident) -> AppResult<Option<Case>> {
        let scope = self.queue_scope(actor, incident).await?;
        let taken = self
            .store
            .take_next(
                actor.agent_id()?,
                &scope,
                self.settings.claim_lease,
                self.now(),
            )
            .await?;
        if let Some(case) = &taken {
            self.changed(case);
            self.store
                .audit(
                    &actor.label,
                    "case.take",
                    case.reference.as_str(),
                    json!({}),
                )
                .await?;
        }
        Ok(taken)
    }

    /// Keeps an open case with the agent working on it.
    pub async fn keep_claim(&self, actor: &Actor, case: &Case) -> AppResult<()> {
        if case.status == CaseStatus::Open {
            self.store
                .renew_claim(
                    case.id,
                    actor.agent_id()?,
                    self.settings.claim_lease,
                    self.now(),
                )
                .await?;
        }
        Ok(())
    }

    pub async fn add_note(&self, actor: &Actor, case: &Case, text: &str) -> AppResult<()> {
        let text = parse_case_text(text).map_err(|p| AppError::field("note", p))?;
        Ok(self
            .store
            .add_note(case.id, actor.agent_id()?, text, &actor.label)
            .await?)
    }

    /// A canned response filled in for this case, in the case's language. Rendered as plain
    /// text: the output goes into an email body, never into HTML. `{{case_url}}` stays a
    /// placeholder until the reply is sent, since each reply issues its own link.
    pub fn fill_canned(&self, incident: &Incident, case: &Case, key: &str) -> Option<String> {
        let canned = incident.settings.canned.iter().find(|c| c.key == key)?;
        let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
        let source = canned.body.get(&lang, &incident.default_language);
        let mut registry = handlebars::Handlebars::new();
        registry.register_escape_fn(handlebars::no_escape);
        let vars = json!({
            "name": case.customer_name,
            "reference": case.reference.as_str(),
            "booking_ref": case.booking_ref,
            "departure_date": case.departure_date.map(|d| d.to_string()),
            "case_url": "{{case_url}}",
            "page_url": format!("{}/i/{}", self.settings.base_url, incident.slug),
        });
        registry.render_template(source, &vars).ok()
    }

    /// Emails `body` to the customer (with a fresh link to their case) and records it on the
    /// case; then moves the case to `then` if given.
    pub async fn reply(
        &self,
        actor: &Actor,
        case: &Case,
        incident: &Incident,
        body: &str,
        then: Option<CaseStatus>,
    ) -> AppResult<()> {
        let Some(email) = case.email.clone() else {
            return Err(AppError::field("body", Problem::of("err_no_email")));
        };
        let template = parse_case_text(body).map_err(|p| AppError::field("body", p))?;
        let token = self.store.issue_case_token(case.id).await?;
        let case_url = format!("{}/c/{}?t={token}", self.settings.base_url, case.reference);
        let body = template.replace("{{case_url}}", &case_url);
        let thread = self.thread_headers(case, case, incident).await?;
        let from = &self.settings.mail_from;
        let reply_to = reply_address(from, case.reference.as_str());
        let domain = &self.settings.id_domain;
        self.store
            .reply(
                case.id,
                actor.agent_id()?,
                &body,
                &actor.label,
                |contact_id| {
                    let message = OutgoingMessage {
                        from: from.clone(),
                        to: email,
                        reply_to,
                        subject: thread.subject,
                        text: body.clone(),
                        html: None,
                        message_id: format!("reply.{contact_id}.{}@{domain}", case.reference),
                        in_reply_to: thread.in_reply_to,
                        references: thread.references,
                        return_path: self.reply_return_path(contact_id),
                        auto_submitted: false,
                        list_unsubscribe: None,
                    };
                    crate::mail_job::queued("reply", &message)
                },
            )
            .await?;
        self.changed(case);
        match then.filter(|status| *status != case.status) {
            Some(status) => self.set_case_status(actor, case, status).await,
            None => Ok(()),
        }
    }

    pub async fn set_case_status(
        &self,
        actor: &Actor,
        case: &Case,
        status: CaseStatus,
    ) -> AppResult<()> {
        self.store
            .set_case_status(case.id, status, &actor.label)
            .await?;
        self.changed(case);
        Ok(())
    }

    pub async fn move_team(&self, actor: &Actor, case: &Case, team: &str) -> AppResult<()> {
        let team = team.trim();
        if !self.store.list_teams().await?.iter().any(|t| t.key == team) {
            return Err(AppError::field(
                "team",
                Problem::of("err_no_such_team").with("team", team),
            ));
        }
        self.store.move_team(case.id, team, &actor.label).await?;
        self.changed(case);
        Ok(())
    }

    /// Records a phone call with the customer as an inbound contact on the case.
    pub async fn log_call(
        &self,
        actor: &Actor,
        case: &Case,
        incident: &Incident,
        notes: &str,
    ) -> AppResult<()> {
        let notes = parse_case_text(notes).map_err(|p| AppError::field("call_notes", p))?;
        let intake = Intake {
            incident_id: incident.id,
            channel: ChannelKind::Phone,
            customer_name: case.customer_name.clone(),
            email: None,
            phone: None,
            booking_ref: None,
            handle: None,
            departure_date: None,
            trip: None,
            request_type: case.request_type.clone(),
            team: case.team.clone(),
            language: case.language.clone(),
            body: notes.to_owned(),
            external_id: Some(format!("console-call:{}", random_token())),
            into_case: Some(case.id),
            meta: json!({ "logged_by": actor.label }),
        };
        let arrival = crate::intake::Arrival {
            intake,
            token: random_token(),
            contact_key: String::new(),
            acknowledge_by_email: false,
        };
        self.take_in(incident, ChannelKind::Phone, arrival).await?;
        self.store
            .audit(
                &actor.label,
                "case.call",
                case.reference.as_str(),
                json!({}),
            )
            .await?;
        Ok(())
    }
}
