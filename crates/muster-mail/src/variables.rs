//! What a campaign template can say: the recipient's own details and links, and the
//! incident's page, wait times and latest update, in the recipient's language.

use muster_core::case::Case;
use muster_core::date_format::format_date;
use muster_core::incident::Incident;
use muster_core::language::Lang;
use muster_store::audience::Recipient;
use serde_json::{Map, Value, json};

/// The incident's variables in one language.
pub fn incident_vars(incident: &Incident, base_url: &str, lang: &str) -> Value {
    let lang = Lang::parse(lang).unwrap_or_else(|_| incident.default_language.clone());
    let fallback = &incident.default_language;
    let waits: Vec<Value> = incident
        .channels
        .iter()
        .filter_map(|c| {
            let wait = c.posted_wait?;
            Some(json!({
                "channel": c.label.get(&lang, fallback),
                "low_minutes": wait.low_minutes,
                "high_minutes": wait.high_minutes,
            }))
        })
        .collect();
    let wait_text = incident
        .channels
        .iter()
        .filter_map(|c| {
            let wait = c.posted_wait?;
            Some(format!(
                "{}: {}–{} min",
                c.label.get(&lang, fallback),
                wait.low_minutes,
                wait.high_minutes
            ))
        })
        .collect::<Vec<_>>()
        .join("; ");
    json!({
        "title": incident.title.get(&lang, fallback),
        "landing_url": format!("{base_url}/i/{}?lang={}", incident.slug, lang.as_str()),
        "wait_times": wait_text,
        "wait_times_list": waits,
        "latest_update": incident
            .updates
            .first()
            .map(|u| u.body.get(&lang, fallback).to_owned())
            .unwrap_or_default(),
    })
}

/// Every variable for one recipient; the file's extra columns never hide a built-in one.
pub fn recipient_vars(incident: &Value, base_url: &str, slug: &str, r: &Recipient) -> Value {
    let mut vars: Map<String, Value> = r
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut form: Vec<(&str, String)> =
        vec![("email", r.email.clone()), ("lang", r.language.clone())];
    if !r.name.is_empty() {
        form.push(("name", r.name.clone()));
    }
    if let Some(booking) = &r.booking_ref {
        form.push(("booking_ref", booking.clone()));
    }
    if let Some(date) = r.departure_date {
        form.push(("departure_date", date.to_string()));
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    // Inserted one by one rather than through `json!` and a second map: per recipient.
    let text = |value: &str| Value::String(value.to_owned());
    let of_incident = |key: &str| incident.get(key).cloned().unwrap_or(Value::Null);
    let builtins = [
        ("name", text(&r.name)),
        ("email", text(&r.email)),
        ("language", text(&r.language)),
        (
            "booking_reference",
            r.booking_ref.as_deref().map_or(Value::Null, text),
        ),
        (
            "departure_date",
            r.departure_date
                .map_or(Value::Null, |d| Value::String(format_date(&r.language, d))),
        ),
        (
            "form_link",
            Value::String(format!("{base_url}/i/{slug}/form?{query}")),
        ),
        (
            "unsubscribe_link",
            Value::String(unsubscribe_url(base_url, &r.unsubscribe_token)),
        ),
        ("incident", incident.clone()),
        ("landing_url", of_incident("landing_url")),
        ("wait_times", of_incident("wait_times")),
        ("latest_update", of_incident("latest_update")),
    ];
    for (key, value) in builtins {
        vars.insert(key.to_owned(), value);
    }
    Value::Object(vars)
}

/// Every variable of a reply to one case (a group reply): the customer's name, booking
/// reference, trip, departure date and the link to their case, and the incident's
/// variables in the case's language.
pub fn case_vars(incident: &Value, case: &Case, case_url: &str) -> Value {
    let text = |value: &str| Value::String(value.to_owned());
    let optional = |value: &Option<String>| value.as_deref().map_or(Value::Null, text);
    let of_incident = |key: &str| incident.get(key).cloned().unwrap_or(Value::Null);
    json!({
        "name": case.customer_name,
        "reference": case.reference.as_str(),
        "booking_reference": optional(&case.booking_ref),
        "trip": optional(&case.trip),
        "departure_date": case
            .departure_date
            .map_or(Value::Null, |d| Value::String(format_date(&case.language, d))),
        "case_url": case_url,
        "incident": incident,
        "title": of_incident("title"),
        "landing_url": of_incident("landing_url"),
        "wait_times": of_incident("wait_times"),
        "latest_update": of_incident("latest_update"),
    })
}

pub fn unsubscribe_url(base_url: &str, token: &str) -> String {
    format!("{base_url}/u/{token}")
}
