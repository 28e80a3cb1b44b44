//! The console's live feed as server-sent events: `GET /console/live?incident=SLUG` streams
//! an event for every change to a case of that incident (`event: case`, its reference and
//! whether it arrived or changed), from the one broadcast channel of this process
//! ([`muster_app::live::LiveFeed`]). A connection costs a receiver on that channel and a
//! few buffers, never a database query after the sign-in check. A page that fell more than
//! the channel's backlog behind is told to fetch its list again (`event: resync`). With
//! `case=REF`, the connection also counts as that case being open (see `presence`).

use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{Bytes, Data, Query};
use actix_web::{HttpResponse, get};
use futures_util::stream;
use muster_app::live::CaseEvent;
use serde::Deserialize;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::console::auth::ConsoleUser;
use crate::console::presence::Watching;
use crate::console::queue::working_incident;
use crate::error::WebResult;
use crate::state::AppState;

/// A comment line this often keeps proxies from closing a quiet connection.
const HEARTBEAT: Duration = Duration::from_secs(20);

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    incident: Option<String>,
    case: Option<String>,
}

struct Listener {
    events: Receiver<CaseEvent>,
    incident_id: i64,
    heartbeat: tokio::time::Interval,
    /// Held for as long as the page is connected.
    _watching: Option<Watching>,
}

fn frame(event: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

impl Listener {
    /// The next frame to send; `None` ends the stream (the process is stopping).
    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            tokio::select! {
                received = self.events.recv() => match received {
                    Ok(event) if event.incident_id == self.incident_id => {
                        let data = serde_json::to_string(&event).unwrap_or_default();
                        return Some(frame("case", &data));
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => return Some(frame("resync", "{}")),
                    Err(RecvError::Closed) => return None,
                },
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": still here\n\n")),
            }
        }
    }
}

#[get("/console/live")]
pub async fn feed(
    state: Data<AppState>,
    user: ConsoleUser,
    query: Query<LiveQuery>,
) -> WebResult<HttpResponse> {
    let incident = working_incident(&state, query.incident.as_deref()).await?;
    let watching = query
        .case
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 32)
        .map(|case| state.presence.watching(case, user.user.id, &user.user.name));
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let listener = Listener {
        events: state.app.live().subscribe(),
        incident_id: incident.id,
        heartbeat,
        _watching: watching,
    };
    // The first frame says the connection is open (and sets the reconnection delay).
    let opening =
        stream::once(async { Ok::<_, actix_web::Error>(Bytes::from_static(b"retry: 3000\n\n")) });
    let changes = stream::unfold(listener, |mut listener| async move {
        let frame = listener.next_frame().await?;
        Some((Ok::<_, actix_web::Error>(frame), listener))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // nginx would otherwise hold the events back in its buffer.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::StreamExt::chain(opening, changes)))
}
