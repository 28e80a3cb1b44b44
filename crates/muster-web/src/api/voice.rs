//! The phone line: Twilio Voice calls `POST /api/v1/voice/twilio` when a call comes in to the
//! company's crisis number, and the paths below it with each key pressed. Every request is
//! checked by its `X-Twilio-Signature` and answered with TwiML: the incident's status and the
//! posted phone wait in the caller's language, then the menu (1: the form's link by text, 2:
//! a call back that keeps their place, 3…: another language). See docs/channels.md, "Phone
//! (Twilio Voice)".

use std::sync::Arc;

use actix_web::web::{Bytes, Data, Query};
use actix_web::{HttpRequest, HttpResponse, post};
use muster_app::phone_line::Caller;
use muster_core::contact_info::PhoneNumber;
use muster_core::incident::{ChannelKind, Incident};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::markdown::first_paragraph_text;
use muster_core::twilio_signature::{self, SIGNATURE_HEADER, TwilioSignatureError};
use muster_core::voice_menu::{
    Choice, caller_language, choice, departure_from_keys, english_name, language_keys,
    spoken_locale,
};
use serde::Deserialize;

use crate::error::{WebError, WebResult};
use crate::public::form::public_incident;
use crate::state::AppState;
use crate::twiml::{self, Verb};

const PATH: &str = "/api/v1/voice/twilio";
/// What the status line may take to say: a sentence or three, not the whole update.
const STATUS_MAX_CHARS: usize = 400;

/// `?incident=` names the incident (else the current crisis); `lang` is the language the
/// caller chose with a key.
#[derive(Debug, Deserialize)]
pub struct VoiceQuery {
    incident: Option<String>,
    lang: Option<String>,
}

/// One request from Twilio, its signature checked: the call's parameters.
struct TwilioCall {
    params: Vec<(String, String)>,
}

impl TwilioCall {
    /// Checks the signature over the public URL Twilio called (`public.base_url` and the
    /// path and query as received) and the form-encoded parameters.
    fn read(state: &AppState, req: &HttpRequest, body: &[u8]) -> WebResult<Self> {
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path(), |p| p.as_str());
        let url = format!("{}{target}", state.base_url);
        let params: Vec<(String, String)> =
            url::form_urlencoded::parse(body).into_owned().collect();
        let header = req
            .headers()
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        twilio_signature::verify(&state.config.twilio_auth_token, &url, &params, header).map_err(
            |err| match err {
                TwilioSignatureError::NoToken => WebError::Forbidden,
                other => WebError::BadSignature(other.to_string()),
            },
        )?;
        Ok(Self { params })
    }

    fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The caller's number, when Twilio shows one (not a withheld or anonymous caller).
    fn caller(&self) -> Option<PhoneNumber> {
        PhoneNumber::parse(self.param("From")).ok()
    }
}

/// One call to the line of one incident, heard in one language.
struct Line<'a> {
    state: &'a AppState,
    incident: &'a Incident,
    /// The caller's language: what is texted, and the case's.
    lang: Lang,
    /// What they hear: their language if Twilio speaks it, else English.
    speech: Lang,
}

impl<'a> Line<'a> {
    fn new(state: &'a AppState, incident: &'a Incident, lang: Lang) -> Self {
        let speech = if spoken_locale(&lang).is_some() {
            lang.clone()
        } else {
            Lang::english()
        };
        Self {
            state,
            incident,
            lang,
            speech,
        }
    }

    fn say_in(&self, lang: &Lang, text: String) -> Verb {
        Verb::Say {
            locale: spoken_locale(lang).unwrap_or("en-GB"),
            text,
        }
    }

    fn text(&self, key: &str) -> String {
        self.state.translations.text(&self.speech, key)
    }

    fn say(&self, key: &str) -> Verb {
        self.say_in(&self.speech, self.text(key))
    }

    /// The short address read out: `status.example.com/crisis`.
    fn address(&self) -> String {
        let host = self
            .state
            .base_url
            .split_once("://")
            .map_or(self.state.base_url.as_str(), |(_, rest)| rest);
        format!("{host}/crisis")
    }

    /// Where the next key goes: `step` below the line's path, for this incident and language.
    fn action(&self, step: &str) -> String {
        format!(
            "{}{PATH}/{step}?incident={}&lang={}",
            self.state.base_url, self.incident.slug, self.lang
        )
    }

    /// Managers' text, said in the first language it is written in that Twilio speaks: the
    /// caller's, the incident's default, English.
    fn say_written(&self, text: &Localized, line: impl Fn(&str) -> String) -> Option<Verb> {
        [
            &self.speech,
            &self.incident.default_language,
            &Lang::english(),
        ]
        .into_iter()
        .filter(|l| spoken_locale(l).is_some())
        .find(|l| text.language_of(l, l) == Some(*l))
        .map(|l| self.say_in(l, line(text.get(l, l))))
        .filter(|verb| matches!(verb, Verb::Say { text, .. } if !text.is_empty()))
    }

    /// The incident's title and the first paragraph of its latest update (or its summary).
    fn status(&self) -> Vec<Verb> {
        let latest = self
            .incident
            .updates
            .first()
            .map_or(&self.incident.summary, |u| &u.body);
        let clip = |text: &str| -> String { text.chars().take(STATUS_MAX_CHARS).collect() };
        [
            self.say_written(&self.incident.title, |t| clip(t.trim())),
            self.say_written(latest, |t| clip(&first_paragraph_text(t))),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn wait(&self) -> Option<Verb> {
        let wait = self.state.publication.wait_text(
            self.incident,
            ChannelKind::Phone,
            None,
            "question",
            &self.speech,
        )?;
        Some(self.say_in(
            &self.speech,
            self.text("voice_wait").replace("{wait}", &wait),
        ))
    }

    fn goodbye(&self) -> Vec<Verb> {
        vec![
            self.say_in(
                &self.speech,
                self.text("voice_goodbye")
                    .replace("{address}", &self.address()),
            ),
            Verb::Hangup,
        ]
    }

    /// The offer of each other language, said in it (or in English when Twilio cannot).
    fn language_offers(&self) -> Vec<Verb> {
        language_keys(self.incident, &self.lang)
            .into_iter()
            .map(|(key, other)| {
                let key = key.to_string();
                if spoken_locale(&other).is_some() {
                    let text = self.state.translations.text(&other, "voice_language");
                    self.say_in(&other, text.replace("{key}", &key))
                } else {
                    let english = Lang::english();
                    let text = self
                        .state
                        .translations
                        .text(&english, "voice_language_unspoken")
                        .replace("{language}", english_name(&other))
                        .replace("{key}", &key);
                    self.say_in(&english, text)
                }
            })
            .collect()
    }

    /// What a caller hears first (`with_status`) or again: the status, the wait, the menu.
    fn greeting(&self, call: &TwilioCall, with_status: bool) -> Vec<Verb> {
        let mut verbs = Vec::new();
        if self.speech != self.lang {
            verbs.push(
                self.say("voice_unspoken")
                    .with_text(|t| t.replace("{language}", english_name(&self.lang))),
            );
        }
        if with_status {
            verbs.extend(self.status());
        }
        verbs.extend(self.wait());
        let mut prompts = Vec::new();
        if call.caller().is_some() {
            prompts.push(self.say("voice_menu"));
        } else {
            verbs.push(self.say("voice_no_number"));
        }
        prompts.extend(self.language_offers());
        if !prompts.is_empty() {
            verbs.push(Verb::Gather {
                action: self.action("menu"),
                digits: 1,
                on_empty: false,
                prompts,
            });
        }
        verbs.extend(self.goodbye());
        verbs
    }
}

impl Verb {
    fn with_text(self, change: impl Fn(&str) -> String) -> Self {
        match self {
            Verb::Say { locale, text } => Verb::Say {
                locale,
                text: change(&text),
            },
            other => other,
        }
    }
}

fn twiml_response(verbs: &[Verb]) -> WebResult<HttpResponse> {
    let body = twiml::render(verbs).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body))
}

/// The incident the line is for, or the answer when there is none now.
async fn incident_of(state: &AppState, query: &VoiceQuery) -> WebResult<Option<Arc<Incident>>> {
    let slug = match &query.incident {
        Some(slug) => slug.clone(),
        None => match state.publication.crisis_slug() {
            Some(slug) => slug,
            None => return Ok(None),
        },
    };
    Ok(Some(public_incident(state, &slug).await?))
}

fn no_incident(state: &AppState) -> WebResult<HttpResponse> {
    let english = Lang::english();
    twiml_response(&[
        Verb::Say {
            locale: "en-GB",
            text: state.translations.text(&english, "voice_no_incident"),
        },
        Verb::Hangup,
    ])
}

/// The caller's language: the one chosen with a key, else their country's.
fn language(incident: &Incident, query: &VoiceQuery, call: &TwilioCall) -> Lang {
    let chosen = query.lang.as_deref().and_then(|l| Lang::parse(l).ok());
    caller_language(incident, chosen.as_ref(), call.param("FromCountry"))
}

/// A call comes in.
#[post("/api/v1/voice/twilio")]
pub async fn incoming(
    state: Data<AppState>,
    query: Query<VoiceQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let call = TwilioCall::read(&state, &req, &body)?;
    let Some(incident) = incident_of(&state, &query).await? else {
        return no_incident(&state);
    };
    let line = Line::new(&state, &incident, language(&incident, &query, &call));
    twiml_response(&line.greeting(&call, true))
}

/// A key pressed in the menu.
#[post("/api/v1/voice/twilio/menu")]
pub async fn menu(
    state: Data<AppState>,
    query: Query<VoiceQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let call = TwilioCall::read(&state, &req, &body)?;
    let Some(incident) = incident_of(&state, &query).await? else {
        return no_incident(&state);
    };
    let line = Line::new(&state, &incident, language(&incident, &query, &call));
    let pressed = choice(&incident, &line.lang, call.param("Digits"));
    let verbs = match (pressed, call.caller()) {
        (None, _) => {
            let mut verbs = vec![line.say("voice_not_a_choice")];
            verbs.extend(line.greeting(&call, false));
            verbs
        }
        (Some(Choice::Language(lang)), _) => {
            Line::new(&state, &incident, lang).greeting(&call, true)
        }
        (Some(Choice::TextLink | Choice::CallBack), None) => {
            let mut verbs = vec![line.say("voice_no_number")];
            verbs.extend(line.goodbye());
            verbs
        }
        (Some(Choice::TextLink), Some(_)) => {
            let mut verbs = vec![line.say("voice_text_unavailable")];
            verbs.extend(line.goodbye());
            verbs
        }
        (Some(Choice::CallBack), Some(_)) => {
            let mut verbs = vec![Verb::Gather {
                action: line.action("call-back"),
                digits: 4,
                on_empty: true,
                prompts: vec![line.say("voice_departure")],
            }];
            verbs.extend(line.goodbye());
            verbs
        }
    };
    twiml_response(&verbs)
}

/// The departure keyed in (or none) after 2: the call back is queued.
#[post("/api/v1/voice/twilio/call-back")]
pub async fn call_back(
    state: Data<AppState>,
    query: Query<VoiceQuery>,
    req: HttpRequest,
    body: Bytes,
) -> WebResult<HttpResponse> {
    let call = TwilioCall::read(&state, &req, &body)?;
    let Some(incident) = incident_of(&state, &query).await? else {
        return no_incident(&state);
    };
    let line = Line::new(&state, &incident, language(&incident, &query, &call));
    let Some(phone) = call.caller() else {
        let mut verbs = vec![line.say("voice_no_number")];
        verbs.extend(line.goodbye());
        return twiml_response(&verbs);
    };
    let call_id = call.param("CallSid");
    if call_id.trim().is_empty() {
        return Err(WebError::Unprocessable("CallSid is required".into()));
    }
    let mut verbs = Vec::new();
    let today = incident.today(state.app.now());
    let departure = departure_from_keys(call.param("Digits"), today).unwrap_or_else(|_| {
        verbs.push(line.say("voice_departure_unread"));
        None
    });
    let queued = state
        .app
        .request_call_back(
            &incident,
            Caller {
                phone: &phone,
                call_id,
                language: &line.lang,
                departure,
            },
        )
        .await?;
    let reference = queued
        .receipt
        .case
        .reference
        .as_str()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ");
    verbs.push(line.say("voice_call_back_queued").with_text(|t| {
        t.replace("{place}", &queued.place.to_string())
            .replace("{reference}", &reference)
    }));
    verbs.extend(line.goodbye());
    twiml_response(&verbs)
}
