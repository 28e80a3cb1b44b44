//! The phone line's use cases (the Twilio voice webhook is their door). A caller who asks
//! for a call back becomes a phone contact: a new case, or their open one, ranked like any
//! other by the queue's rules, with the number to call back on it. The agent who takes it
//! calls, and logs what came of it: reached, the case no longer waits for a call; no answer,
//! it keeps waiting (and keeps counting towards the posted phone wait).

use muster_core::case::Case;
use muster_core::contact_info::PhoneNumber;
use muster_core::incident::{ChannelKind, Incident};
use muster_core::language::Lang;
use muster_core::queue_profile::QueueProfile;
use muster_store::cases::{Intake, Receipt};
use muster_store::tokens::random_token;
use serde_json::json;
use time::Date;

use crate::case_work::parse_case_text;
use crate::intake::{Arrival, contact_key};
use crate::{Actor, App, AppError, AppResult};

/// A caller's request, as the voice door read it.
#[derive(Debug, Clone)]
pub struct Caller<'a> {
    pub phone: &'a PhoneNumber,
    /// The provider's id of the call (Twilio's `CallSid`): the same call twice is one contact.
    pub call_id: &'a str,
    pub language: &'a Lang,
    /// Keyed in by the caller, if they gave one.
    pub departure: Option<Date>,
}

/// A call back now waiting in the queue.
#[derive(Debug)]
pub struct CallBack {
    pub receipt: Receipt,
    /// The case's place in the queue: 1 is next.
    pub place: u64,
}

impl App {
    /// `caller` asks to be called back: their call is taken in as a phone contact and the
    /// case waits for a call on their number, at its place in the queue.
    pub async fn request_call_back(
        &self,
        incident: &Incident,
        caller: Caller<'_>,
    ) -> AppResult<CallBack> {
        let external_id = format!("phone:call-back:{}", caller.call_id);
        let intake = Intake {
            incident_id: incident.id,
            channel: ChannelKind::Phone,
            customer_name: caller.phone.as_str().to_owned(),
            email: None,
            phone: Some(caller.phone.as_str().to_owned()),
            booking_ref: None,
            handle: None,
            departure_date: caller.departure,
            trip: None,
            request_type: "question".to_owned(),
            team: None,
            language: incident
                .pick_language(Some(caller.language))
                .as_str()
                .to_owned(),
            body: "Asked on the phone line to be called back.".to_owned(),
            external_id: Some(external_id.clone()),
            into_case: None,
            meta: json!({ "call_back": true }),
        };
        let arrival = Arrival {
            intake,
            token: random_token(),
            contact_key: contact_key(&external_id),
            acknowledge_by_email: false,
        };
        let receipt = self.take_in(incident, ChannelKind::Phone, arrival).await?;
        self.store
            .request_call_back(receipt.case.id, caller.phone.as_str())
            .await?;
        let place = self
            .place_in_queue(incident, receipt.case.departure_date)
            .await?;
        Ok(CallBack { receipt, place })
    }

    /// The place of a case departing on `departure` in the incident's queue, counted as the
    /// wait estimate counts it: every waiting case the queue puts ahead of it, and itself.
    async fn place_in_queue(&self, incident: &Incident, departure: Option<Date>) -> AppResult<u64> {
        let now = self.now();
        let waiting = self.store.waiting_by_departure(incident.id, now).await?;
        let queue = QueueProfile::new(
            incident.today(now),
            incident.settings.windows,
            waiting,
            Vec::new(),
        );
        let tier = queue.tier_of(departure);
        Ok(queue.snapshot_for(departure, None).ahead_of(tier).max(1))
    }

    /// The number `case` waits to be called back on, if any.
    pub async fn call_back_of(&self, case: &Case) -> AppResult<Option<String>> {
        Ok(self.store.call_back_of(case.id).await?)
    }

    /// The agent called the customer back: what was said goes on the case as a logged call;
    /// `reached`, the case no longer waits for a call, else it keeps waiting.
    pub async fn log_call_back(
        &self,
        actor: &Actor,
        case: &Case,
        incident: &Incident,
        notes: &str,
        reached: bool,
    ) -> AppResult<()> {
        let Some(number) = self.store.call_back_of(case.id).await? else {
            return Err(AppError::Conflict(
                "this case is not waiting for a call back".into(),
            ));
        };
        let notes = parse_case_text(notes).map_err(|p| AppError::field("call_notes", p))?;
        let outcome = if reached { "reached" } else { "no answer" };
        self.log_call(
            actor,
            case,
            incident,
            &format!("Called back {number}: {outcome}.\n{notes}"),
        )
        .await?;
        if reached {
            self.store.clear_call_back(case.id).await?;
        }
        self.store
            .audit(
                &actor.label,
                "case.call_back",
                case.reference.as_str(),
                json!({ "reached": reached }),
            )
            .await?;
        Ok(())
    }
}
