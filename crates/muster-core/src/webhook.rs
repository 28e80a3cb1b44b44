//! Outbound webhooks: the events an endpoint can subscribe to, the address it is reached
//! at, and how long a failed delivery may wait for its next attempt.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Something that happened that integrations can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebhookEvent {
    /// An incident became public (opened as, or moved from draft to, a public status).
    #[serde(rename = "incident.published")]
    IncidentPublished,
    /// An update was posted on an incident's timeline.
    #[serde(rename = "update.published")]
    UpdatePublished,
    /// A bulk campaign finished sending.
    #[serde(rename = "campaign.finished")]
    CampaignFinished,
    /// A case went past its SLA target without an answer.
    #[serde(rename = "case.overdue")]
    CaseOverdue,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 4] = [
        WebhookEvent::IncidentPublished,
        WebhookEvent::UpdatePublished,
        WebhookEvent::CampaignFinished,
        WebhookEvent::CaseOverdue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::IncidentPublished => "incident.published",
            WebhookEvent::UpdatePublished => "update.published",
            WebhookEvent::CampaignFinished => "campaign.finished",
            WebhookEvent::CaseOverdue => "case.overdue",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, WebhookError> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == raw)
            .ok_or_else(|| WebhookError::UnknownEvent(raw.to_owned()))
    }
}

impl fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error(
        "\"{0}\" is not an event: use incident.published, update.published, campaign.finished or case.overdue"
    )]
    UnknownEvent(String),
    #[error("choose at least one event")]
    NoEvents,
    #[error("enter an address starting with http:// or https://")]
    BadUrl,
}

/// The events an endpoint asked for: at least one, each once, in a stable order.
pub fn parse_events<'a>(
    raw: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<WebhookEvent>, WebhookError> {
    let mut events = Vec::new();
    for name in raw {
        let event = WebhookEvent::parse(name.trim())?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    events.sort_by_key(|e| WebhookEvent::ALL.iter().position(|a| a == e));
    Ok(events)
}

/// Where an endpoint receives its deliveries: an absolute http(s) address with a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<Self, WebhookError> {
        let raw = raw.trim();
        let parsed = url::Url::parse(raw).map_err(|_| WebhookError::BadUrl)?;
        let usable = matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|h| !h.is_empty())
            && raw.len() <= 2000;
        if usable {
            Ok(Self(parsed.to_string()))
        } else {
            Err(WebhookError::BadUrl)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Attempts after which a delivery is given up on.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 10;
/// The longest wait between two attempts (see [`crate::backoff::Backoff`]).
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_unknown_ones_are_named() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Ok(event));
        }
        assert_eq!(
            WebhookEvent::parse("case.created"),
            Err(WebhookError::UnknownEvent("case.created".into()))
        );
        assert_eq!(
            parse_events(["case.overdue", "update.published", "case.overdue"]),
            Ok(vec![
                WebhookEvent::UpdatePublished,
                WebhookEvent::CaseOverdue
            ])
        );
        assert_eq!(parse_events([]), Err(WebhookError::NoEvents));
    }

    #[test]
    fn only_absolute_http_addresses_are_endpoints() {
        assert!(WebhookUrl::parse("https://hooks.example.com/muster").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/in").is_ok());
        for bad in [
            "",
            "hooks.example.com",
            "ftp://x.example/",
            "file:///etc/passwd",
        ] {
            assert_eq!(WebhookUrl::parse(bad), Err(WebhookError::BadUrl), "{bad}");
        }
    }

    #[test]
    fn retries_double_then_cap_then_stop() {
        let retries = crate::backoff::Backoff {
            base: std::time::Duration::from_secs(30),
            max: MAX_RETRY_DELAY,
            max_attempts: 10,
        };
        let delays: Vec<Option<u64>> = (1..=11)
            .map(|n| retries.retry_after(n).map(|d| d.as_secs()))
            .collect();
        assert_eq!(
            delays,
            vec![
                Some(30),
                Some(60),
                Some(120),
                Some(240),
                Some(480),
                Some(960),
                Some(1920),
                Some(3600),
                Some(3600),
                None,
                None
            ]
        );
        let one_second = crate::backoff::Backoff {
            base: std::time::Duration::from_secs(1),
            ..retries
        };
        assert_eq!(
            one_second.retry_after(2),
            Some(std::time::Duration::from_secs(2))
        );
    }
}
