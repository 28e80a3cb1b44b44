//! One reply for many: written once per language with the case variables (`{{name}}`,
//! `{{booking_reference}}`, `{{case_url}}`, …, rendered by muster-mail as a campaign is),
//! held for its hold (60 s) with an undo, then sent by the group-reply worker to each
//! case of the group through the case's own channel.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use muster_core::campaign::CampaignContent;
use muster_core::case::{Case, CaseStatus};
use muster_core::group::{Group, SkipReason};
use muster_core::incident::Incident;
use muster_core::intake::MESSAGE_MAX;
use muster_core::language::Lang;
use muster_core::problem::Problem;
use muster_mail::OutgoingMessage;
use muster_mail::render::CampaignTemplates;
use muster_mail::variables::{case_vars, incident_vars};
use muster_store::group_replies::{ClaimedTarget, GroupReply, NewGroupReply, TargetAnswer};
use muster_store::tokens::{hash_token, random_token};

use crate::{Actor, App, AppError, AppResult, FieldErrors};

/// The subject is the case's thread subject (see `threads`): the template renders the text.
const SUBJECT: &str = "";

/// What an agent typed: a text per language (empty ones are ignored) and the status to
/// set after.
#[derive(Debug, Clone, Default)]
pub struct GroupReplyInput {
    pub bodies: BTreeMap<String, String>,
    pub then_status: String,
}

/// A reply ready to render: its templates per language and its incident.
pub struct PreparedReply {
    reply: GroupReply,
    incident: Incident,
    templates: HashMap<String, CampaignTemplates>,
}

/// Prepared replies by id, kept by a worker between rounds.
pub type PreparedReplies = HashMap<i64, Arc<PreparedReply>>;

fn compile(body: &str) -> Result<CampaignTemplates, String> {
    CampaignTemplates::compile(&CampaignContent {
        subject: SUBJECT.to_owned(),
        text: body.to_owned(),
        html: None,
    })
    .map_err(|e| e.to_string())
}

/// `crisis+MX-7K3Q9P@example.com`, as on an agent's reply.
fn reply_address(from: &str, reference: &str) -> Option<String> {
    let address = from
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>'))
        .unwrap_or(from);
    let (local, domain) = address.split_once('@')?;
    Some(format!("{local}+{reference}@{domain}"))
}

impl App {
    /// Writes the reply, held for the configured hold; it goes to the cases in the group
    /// when the hold is over.
    pub async fn draft_group_reply(
        &self,
        actor: &Actor,
        incident: &Incident,
        group: &Group,
        input: &GroupReplyInput,
    ) -> AppResult<GroupReply> {
        let author_id = actor.user_id.ok_or(AppError::Forbidden)?;
        if group.closed_at.is_some() {
            return Err(AppError::Conflict("the group is closed".into()));
        }
        let mut errors = FieldErrors::new();
        let mut bodies = BTreeMap::new();
        for (lang, raw) in &input.bodies {
            let field = format!("body_{lang}");
            let body = raw.trim();
            if body.is_empty() {
                continue;
            }
            if !Lang::parse(lang).is_ok_and(|l| incident.languages.contains(&l)) {
                errors.insert(field, Problem::of("err_language"));
            } else if let Err(err) = muster_core::text_rule::long_text(body) {
                errors.insert(field, err.into());
            } else if body.chars().count() > MESSAGE_MAX {
                errors.insert(field, Problem::too_long(MESSAGE_MAX));
            } else if let Err(err) = compile(body) {
                errors.insert(field, Problem::of("err_template").with("error", err));
            } else {
                bodies.insert(lang.clone(), body.to_owned());
            }
        }
        if bodies.is_empty() && errors.is_empty() {
            errors.insert("body".into(), Problem::of("err_group_reply_empty"));
        }
        let then_status = match input.then_status.trim() {
            "" => None,
            raw => match CaseStatus::parse(raw) {
                Some(status) => Some(status),
                None => {
                    errors.insert("then_status".into(), Problem::of("err_status"));
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let hold = self.settings.group_reply_hold;
        Ok(self
            .store
            .draft_group_reply(
                NewGroupReply {
                    group_id: group.id,
                    bodies,
                    then_status,
                    author_id,
                    author: actor.label.clone(),
                    hold,
                },
                &actor.label,
            )
            .await?)
    }

    /// Undoes a reply still in its hold.
    pub async fn undo_group_reply(
        &self,
        actor: &Actor,
        group: &Group,
        reply_id: i64,
    ) -> AppResult<GroupReply> {
        actor.user_id.ok_or(AppError::Forbidden)?;
        let reply = self
            .store
            .group_reply(reply_id)
            .await
            .map_err(|_| AppError::NotFound(format!("reply {reply_id}")))?;
        if reply.group_id != group.id {
            return Err(AppError::NotFound(format!("reply {reply_id}")));
        }
        Ok(self.store.undo_group_reply(reply_id, &actor.label).await?)
    }

    /// Starts every reply whose hold is over: its targets are the group's cases now.
    /// Returns how many replies started.
    pub async fn start_due_group_replies(&self) -> AppResult<u64> {
        let mut started = 0;
        for reply in self.store.due_group_replies().await? {
            let group = self.store.group(reply.group_id).await?;
            let incident = self.store.incident_by_id(group.incident_id).await?;
            let scope = self.group_scope(&incident, &group);
            if self
                .store
                .start_group_reply(reply.id, &scope)
                .await?
                .is_some()
            {
                started += 1;
            }
        }
        Ok(started)
    }

    /// The reply `id` compiled for rendering, from `cache` or loaded into it.
    pub async fn prepared_reply(
        &self,
        cache: &mut PreparedReplies,
        id: i64,
    ) -> AppResult<Arc<PreparedReply>> {
        if let Some(prepared) = cache.get(&id) {
            return Ok(prepared.clone());
        }
        let reply = self.store.group_reply(id).await?;
        let group = self.store.group(reply.group_id).await?;
        let incident = self.store.incident_by_id(group.incident_id).await?;
        let mut templates = HashMap::new();
        for (lang, body) in &reply.bodies {
            // Checked when drafted; a body that no longer compiles is left out.
            if let Ok(compiled) = compile(body) {
                templates.insert(lang.clone(), compiled);
            }
        }
        let prepared = Arc::new(PreparedReply {
            reply,
            incident,
            templates,
        });
        cache.insert(id, prepared.clone());
        Ok(prepared)
    }

    /// How one case is answered: the text in its language (else the incident's default
    /// language, else the first written), through its channel.
    ///
    /// The channel seam: email is the only outbound channel today, queued on the mail
    /// outbox. The channel connectors add their own arm here (an SMS, a WhatsApp or a
    /// Telegram message for a case that came in on one); until then a case with no email
    /// address is skipped and listed as having no channel.
    pub async fn group_answer(
        &self,
        prepared: &PreparedReply,
        case: &Case,
    ) -> AppResult<TargetAnswer> {
        let incident = &prepared.incident;
        let Some(email) = case.email.clone() else {
            return Ok(TargetAnswer::Skip(SkipReason::NoChannel));
        };
        let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
        let templates = prepared
            .templates
            .get(lang.as_str())
            .or_else(|| prepared.templates.get(incident.default_language.as_str()))
            .or_else(|| prepared.templates.values().next());
        let Some(templates) = templates else {
            return Ok(TargetAnswer::Skip(SkipReason::NoChannel));
        };
        let token = random_token();
        let base_url = &self.settings.base_url;
        let case_url = format!("{base_url}/c/{}?t={token}", case.reference);
        let vars = case_vars(
            &incident_vars(incident, base_url, lang.as_str()),
            case,
            &case_url,
        );
        let Ok(rendered) = templates.render(vars) else {
            return Ok(TargetAnswer::Skip(SkipReason::NoChannel));
        };
        // In the customer's thread, as an agent's own reply is.
        let thread = self.thread_headers(case, case, incident).await?;
        let domain = &self.settings.id_domain;
        let from = &self.settings.mail_from;
        let message = OutgoingMessage {
            from: from.clone(),
            to: email,
            reply_to: reply_address(from, case.reference.as_str()),
            subject: thread.subject,
            text: rendered.text.clone(),
            html: None,
            // Stable across a retried batch: the same reply to the same case is one message.
            message_id: format!("group.{}.{}@{domain}", prepared.reply.id, case.reference),
            in_reply_to: thread.in_reply_to,
            references: thread.references,
            // Bounces go to the From address: the contact's id, which a reply's return path
            // names, is known only once the batch is written.
            return_path: None,
            auto_submitted: false,
            list_unsubscribe: None,
        };
        Ok(TargetAnswer::Reply {
            body: rendered.text,
            channel: muster_core::incident::ChannelKind::Email
                .as_str()
                .to_owned(),
            mail: crate::mail_job::queued("group_reply", &message),
            token_hash: hash_token(&token),
        })
    }

    /// Answers a batch of claimed targets in one transaction; returns how many got the reply.
    pub async fn answer_group_targets(
        &self,
        worker: &str,
        cache: &mut PreparedReplies,
        claimed: Vec<ClaimedTarget>,
    ) -> AppResult<u64> {
        let mut answers = Vec::with_capacity(claimed.len());
        for target in claimed {
            let prepared = self.prepared_reply(cache, target.reply_id).await?;
            let answer = self.group_answer(&prepared, &target.case).await?;
            answers.push((target, answer));
        }
        Ok(self.store.answer_group_targets(worker, answers).await?)
    }
}
