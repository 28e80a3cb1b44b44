//! `/i/{slug}/wait-times.json`: the wait on every channel per priority tier, for IVR
//! announcements and apps. Refreshed from the live queue at least every minute.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{Data, Path};
use muster_core::priority::Tier;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::error::WebResult;
use crate::public::form::public_incident;
use crate::state::AppState;

pub async fn wait_times(state: Data<AppState>, slug: Path<String>) -> WebResult<HttpResponse> {
    let incident = public_incident(&state, &slug).await?;
    let live = state.publication.waits.get(&slug);
    let lang = &incident.default_language;
    let channels: Vec<Value> = incident
        .channels
        .iter()
        .map(|channel| {
            let tiers: serde_json::Map<String, Value> = Tier::ALL
                .iter()
                .map(|tier| {
                    let wait = live.as_ref().and_then(|w| w.for_channel(channel.kind, *tier));
                    let value = match (wait, channel.posted_wait) {
                        (Some(w), _) => json!({
                            "low_minutes": w.range.low_minutes, "high_minutes": w.range.high_minutes,
                            "text": state.translations.wait(lang, w.range.phrase()), "source": w.source,
                        }),
                        (None, Some(range)) => json!({
                            "low_minutes": range.low_minutes, "high_minutes": range.high_minutes,
                            "text": state.translations.wait(lang, range.phrase()), "source": "posted",
                        }),
                        (None, None) => Value::Null,
                    };
                    (tier.as_str().to_owned(), value)
                })
                .collect();
            json!({
                "channel": channel.kind.as_str(),
                "address": channel.address,
                "label": channel.label.get(lang, lang),
                "tiers": tiers,
            })
        })
        .collect();
    let body = json!({
        "incident": incident.slug.as_str(),
        "computed_at": live.as_ref().and_then(|w| w.computed_at.format(&Rfc3339).ok()),
        "language": lang.as_str(),
        "channels": channels,
    });
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            "public, max-age=30, stale-if-error=600",
        ))
        .json(body))
}
