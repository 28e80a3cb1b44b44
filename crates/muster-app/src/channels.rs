//! Messages on the customer's own channel: an SMS, WhatsApp or Telegram message taken in as
//! a contact (a new case, or the customer's open one), acknowledged on the same channel; a
//! reply sent by the channel the agent picks among those the customer is known on; a
//! message Muster queues by itself (a link texted to a caller); the providers' delivery
//! reports. Every message goes out through the channel outbox (`muster_store::outbound`).

use muster_channels::{InboundMessage, Sender, StatusReport};
use muster_core::case::{Case, CaseStatus};
use muster_core::contact_info::PhoneNumber;
use muster_core::inbound_text::{find_booking_ref, find_departure_date, guess_request_type};
use muster_core::incident::{ChannelKind, Incident};
use muster_core::intake::MESSAGE_MAX;
use muster_core::language::Lang;
use muster_core::outbound::{OutboundPayload, Template, WHATSAPP_WINDOW};
use muster_core::problem::Problem;
use muster_core::sms::{Segments, segments};
use muster_store::cases::{Intake, IntakeOutcome, Receipt};
use muster_store::outbound::QueuedMessage;
use muster_store::tokens::random_token;
use serde::Serialize;
use serde_json::json;

use crate::case_work::parse_case_text;
use crate::intake::{Arrival, contact_key};
use crate::{Actor, App, AppError, AppResult};

/// Which channels Muster can send on besides email: those whose connector is configured.
#[derive(Clone, Debug, Default)]
pub struct ChannelSettings {
    pub sending: Vec<ChannelKind>,
    /// The approved WhatsApp template offered outside the 24-hour window.
    pub whatsapp_template: Option<Template>,
}

/// A channel the agent can answer this customer on.
#[derive(Debug, Clone, Serialize)]
pub struct SendOption {
    pub channel: ChannelKind,
    /// The address on it: an email address, a phone number, a Telegram chat, a handle.
    pub recipient: String,
    /// Where the case came from (or the first channel when that one cannot be answered on).
    pub default: bool,
    /// WhatsApp only: the 24-hour window has closed, so only the template may go.
    pub window_closed: bool,
}

/// What the agent asked for in the reply form beyond the text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyChoice {
    pub via: Option<ChannelKind>,
    /// Send the approved WhatsApp template in place of the text.
    pub template: bool,
    /// The agent saw how many SMS parts the text takes and sends it all the same.
    pub long_sms_confirmed: bool,
}

/// The characters a provider may send that a contact's text must not hold (a NUL, escape
/// codes); line breaks and tabs stay.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(MESSAGE_MAX)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Where a case is reached on `channel`, from what the case knows.
fn recipient(case: &Case, channel: ChannelKind) -> Option<String> {
    match channel {
        ChannelKind::Email => case.email.clone(),
        ChannelKind::Sms | ChannelKind::Whatsapp => case.phone.clone(),
        ChannelKind::Telegram => case
            .handle
            .as_deref()
            .and_then(|h| h.strip_prefix("telegram:"))
            .map(str::to_owned),
        ChannelKind::Social | ChannelKind::Chat => {
            case.handle.clone().filter(|h| !h.starts_with("telegram:"))
        }
        ChannelKind::Form | ChannelKind::Phone => None,
    }
}

impl App {
    /// Takes a customer's message from a channel connector in: a new case, or a contact on
    /// their open one (the same phone number, Telegram chat, booking reference or email).
    /// A new case is acknowledged on the same channel, with its reference, the posted wait
    /// and the form link when the departure date is missing. A message seen before (the
    /// provider retried) changes nothing.
    pub async fn take_in_message(
        &self,
        incident: &Incident,
        channel: ChannelKind,
        message: InboundMessage,
    ) -> AppResult<Receipt> {
        let text = match printable(&message.text) {
            empty if empty.is_empty() => "(empty message)".to_owned(),
            text => text,
        };
        let (phone, handle, fallback_name) = match &message.sender {
            Sender::Phone(phone) => (
                Some(phone.as_str().to_owned()),
                None,
                phone.as_str().to_owned(),
            ),
            Sender::Telegram { chat_id, username } => (
                None,
                Some(format!("telegram:{chat_id}")),
                username
                    .as_ref()
                    .map(|u| format!("@{u}"))
                    .unwrap_or_else(|| format!("Telegram {chat_id}")),
            ),
        };
        let external_id = format!("{}:{}", channel.as_str(), message.message_id);
        let today = incident.today(self.now());
        let intake = Intake {
            incident_id: incident.id,
            channel,
            customer_name: message
                .name
                .as_deref()
                .map(printable)
                .filter(|n| !n.is_empty())
                .unwrap_or(fallback_name),
            email: None,
            phone,
            booking_ref: find_booking_ref(&self.settings.booking_pattern, &text)
                .map(|b| b.as_str().to_owned()),
            handle,
            departure_date: find_departure_date(&text, today),
            trip: muster_core::trip::find_trip(&text).map(|t| t.as_str().to_owned()),
            request_type: guess_request_type(&text).to_owned(),
            team: None,
            language: incident.default_language.as_str().to_owned(),
            body: text,
            external_id: Some(external_id.clone()),
            into_case: None,
            meta: json!({ "provider_id": message.message_id }),
        };
        let token = random_token();
        let arrival = Arrival {
            contact_key: contact_key(&external_id),
            intake,
            token: token.clone(),
            acknowledge_by_email: false,
        };
        let receipt = self.take_in(incident, channel, arrival).await?;
        if receipt.outcome == IntakeOutcome::Created
            && self.settings.channels.sending.contains(&channel)
        {
            self.acknowledge_on_channel(incident, &receipt.case, channel, &token)
                .await?;
        }
        Ok(receipt)
    }

    /// The acknowledgement of a new case, queued on the channel it came from.
    async fn acknowledge_on_channel(
        &self,
        incident: &Incident,
        case: &Case,
        channel: ChannelKind,
        token: &str,
    ) -> AppResult<()> {
        let Some(to) = recipient(case, channel) else {
            return Ok(());
        };
        let lang = incident.pick_language(Lang::parse(&case.language).ok().as_ref());
        let t = |key: &str| {
            crate::i18n::shared()
                .text(&lang, key)
                .replace("{reference}", case.reference.as_str())
        };
        let mut lines = vec![t("ack_received")];
        if let Some(wait) = self.publisher.posted_wait(
            incident,
            channel,
            case.departure_date,
            &case.request_type,
            &lang,
        ) {
            lines.push(wait);
        }
        let base = &self.settings.base_url;
        if case.departure_date.is_none() {
            lines.push(format!(
                "{} {base}/i/{}/form?case={}&t={token}&lang={lang}",
                t("ack_needs_date"),
                incident.slug,
                case.reference
            ));
        } else {
            lines.push(format!("{base}/c/{}?t={token}", case.reference));
        }
        let body = lines.join("\n");
        let message = QueuedMessage {
            channel,
            recipient: to,
            payload: OutboundPayload {
                text: body.clone(),
                template: None,
                reference: case.reference.as_str().to_owned(),
            },
        };
        self.store
            .queue_message(case.id, &body, "muster:acknowledgement", message)
            .await?;
        Ok(())
    }

    /// Whether free text may still go to the customer on WhatsApp: they wrote there within
    /// the last 24 hours.
    async fn whatsapp_window_open(&self, case: &Case) -> AppResult<bool> {
        let last = self
            .store
            .last_inbound_at(case.id, ChannelKind::Whatsapp)
            .await?;
        Ok(last.is_some_and(|at| self.now() - at < WHATSAPP_WINDOW))
    }

    /// The channels the agent can answer this customer on, the one the case came from
    /// first and marked as the default.
    pub async fn send_options(&self, case: &Case) -> AppResult<Vec<SendOption>> {
        let wrote_on = self.store.inbound_channels(case.id).await?;
        let mut options = Vec::new();
        for channel in ChannelKind::ALL {
            let configured =
                channel == ChannelKind::Email || self.settings.channels.sending.contains(&channel);
            // WhatsApp and the integration's webhook reach only a customer who used them.
            let known = match channel {
                ChannelKind::Whatsapp | ChannelKind::Social | ChannelKind::Chat => {
                    wrote_on.contains(&channel)
                }
                _ => true,
            };
            let Some(to) = recipient(case, channel).filter(|_| configured && known) else {
                continue;
            };
            let window_closed =
                channel == ChannelKind::Whatsapp && !self.whatsapp_window_open(case).await?;
            options.push(SendOption {
                channel,
                recipient: to,
                default: false,
                window_closed,
            });
        }
        let default = options
            .iter()
            .position(|o| o.channel == case.channel)
            .unwrap_or(0);
        if let Some(option) = options.get_mut(default) {
            option.default = true;
        }
        Ok(options)
    }

    /// Sends `body` to the customer on the channel of `choice` (by default the case's own),
    /// with a fresh link to their case in place of `{{case_url}}`; then moves the case to
    /// `then` if given. Email goes as [`App::reply`]; any other channel through the outbox.
    /// Refused, with the reason on the field: a channel the customer is not known on, an
    /// SMS of several parts not confirmed, free text on WhatsApp after the 24-hour window.
    pub async fn reply_by(
        &self,
        actor: &Actor,
        case: &Case,
        incident: &Incident,
        body: &str,
        choice: ReplyChoice,
        then: Option<CaseStatus>,
    ) -> AppResult<()> {
        let options = self.send_options(case).await?;
        let option = match choice.via {
            Some(via) => options.iter().find(|o| o.channel == via).ok_or_else(|| {
                AppError::field(
                    "send_by",
                    Problem::of("err_not_known_on").with("channel", via.as_str()),
                )
            })?,
            None => options
                .iter()
                .find(|o| o.default)
                .ok_or_else(|| AppError::field("body", Problem::of("err_no_channel")))?,
        };
        if option.channel == ChannelKind::Email {
            return self.reply(actor, case, incident, body, then).await;
        }
        let template = match (option.window_closed, choice.template) {
            (false, _) => None,
            (true, false) => {
                return Err(AppError::field("body", Problem::of("err_whatsapp_window")));
            }
            (true, true) => Some(
                self.settings
                    .channels
                    .whatsapp_template
                    .clone()
                    .ok_or_else(|| {
                        AppError::field("body", Problem::of("err_whatsapp_no_template"))
                    })?,
            ),
        };
        let (text, recorded) = match &template {
            Some(template) => (
                String::new(),
                format!(
                    "WhatsApp template \"{}\" ({})",
                    template.name, template.language
                ),
            ),
            None => {
                let typed = parse_case_text(body).map_err(|p| AppError::field("body", p))?;
                let token = self.store.issue_case_token(case.id).await?;
                let case_url = format!("{}/c/{}?t={token}", self.settings.base_url, case.reference);
                let text = typed.replace("{{case_url}}", &case_url);
                let parts = segments(&text);
                if option.channel == ChannelKind::Sms
                    && parts.count > 1
                    && !choice.long_sms_confirmed
                {
                    return Err(AppError::field("body", long_sms(parts)));
                }
                (text.clone(), text)
            }
        };
        let message = QueuedMessage {
            channel: option.channel,
            recipient: option.recipient.clone(),
            payload: OutboundPayload {
                text,
                template,
                reference: case.reference.as_str().to_owned(),
            },
        };
        self.store
            .reply_on_channel(case.id, actor.agent_id()?, &recorded, &actor.label, message)
            .await?;
        self.live.announce(
            case.incident_id,
            case.reference.as_str(),
            crate::live::CaseChange::Changed,
        );
        match then.filter(|status| *status != case.status) {
            Some(status) => self.set_case_status(actor, case, status).await,
            None => Ok(()),
        }
    }

    /// Queues an SMS of `text` to `phone` on `case`, as Muster's own message (no agent's
    /// answer): on the timeline as an outbound contact, sent by the channel worker with the
    /// outbox's guarantees. For doors that text a customer by themselves (the voice line's
    /// "text me the link"). Refused when SMS is not configured. Returns the contact's id.
    pub async fn queue_sms_for_case(
        &self,
        case: &Case,
        phone: &PhoneNumber,
        text: &str,
        actor: &str,
    ) -> AppResult<i64> {
        if !self.settings.channels.sending.contains(&ChannelKind::Sms) {
            return Err(AppError::Refused(
                "SMS is not configured ([channels.twilio])".into(),
            ));
        }
        let text = parse_case_text(text).map_err(|p| AppError::field("text", p))?;
        let message = QueuedMessage {
            channel: ChannelKind::Sms,
            recipient: phone.as_str().to_owned(),
            payload: OutboundPayload {
                text: text.to_owned(),
                template: None,
                reference: case.reference.as_str().to_owned(),
            },
        };
        let id = self
            .store
            .queue_message(case.id, text, actor, message)
            .await?;
        self.live.announce(
            case.incident_id,
            case.reference.as_str(),
            crate::live::CaseChange::Changed,
        );
        Ok(id)
    }

    /// A provider's report on one of our messages (delivered, read, failed with a reason):
    /// shown on the case's timeline. A report on a message we do not know, or one that would
    /// move it backwards (reports arrive out of order), changes nothing.
    pub async fn record_delivery(
        &self,
        channel: ChannelKind,
        report: &StatusReport,
    ) -> AppResult<()> {
        if let Some(case_id) = self
            .store
            .apply_delivery_report(
                channel,
                &report.provider_id,
                report.status,
                report.error.as_deref(),
            )
            .await?
        {
            let case = self.store.case_by_id(case_id).await?;
            self.live.announce(
                case.incident_id,
                case.reference.as_str(),
                crate::live::CaseChange::Changed,
            );
        }
        Ok(())
    }
}

/// "This text is sent as N SMS": the agent confirms before it goes.
fn long_sms(parts: Segments) -> Problem {
    let key = match parts.encoding {
        muster_core::sms::Encoding::Gsm7 => "err_long_sms_gsm",
        muster_core::sms::Encoding::Ucs2 => "err_long_sms_ucs2",
    };
    Problem::of(key).with("count", parts.count)
}
