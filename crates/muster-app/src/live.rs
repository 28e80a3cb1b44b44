//! The live feed: every change to a case that the agents' working view shows (a case
//! arrives, is taken, answered, moved, merged or resolved) is announced once on one
//! broadcast channel per process, and every connected console page listens to it. Nothing
//! polls the database per agent; a page that hears of a change of its incident fetches its
//! list once.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::App;

/// Announcements kept for a listener that falls behind; one that misses more is told to
/// fetch its list again.
const BACKLOG: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseChange {
    /// A new case, or a new contact on an open one.
    Arrived,
    /// Taken, answered, moved, merged, resolved or reopened.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseEvent {
    #[serde(skip)]
    pub incident_id: i64,
    pub reference: String,
    pub change: CaseChange,
}

/// One process's broadcast of case changes; cheap to clone.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    sender: broadcast::Sender<CaseEvent>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl LiveFeed {
    pub fn subscribe(&self) -> broadcast::Receiver<CaseEvent> {
        self.sender.subscribe()
    }

    /// How many pages listen now.
    pub fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }

    pub fn announce(&self, incident_id: i64, reference: &str, change: CaseChange) {
        // No listener is no error: nobody has the console open.
        let _ = self.sender.send(CaseEvent {
            incident_id,
            reference: reference.to_owned(),
            change,
        });
    }
}

impl App {
    pub fn live(&self) -> &LiveFeed {
        &self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_listener_hears_each_change_once() {
        let feed = LiveFeed::default();
        let mut first = feed.subscribe();
        let mut second = feed.subscribe();
        feed.announce(7, "MX-7K3Q9P", CaseChange::Arrived);
        for listener in [&mut first, &mut second] {
            let event = listener.recv().await.expect("an event");
            assert_eq!((event.incident_id, event.change), (7, CaseChange::Arrived));
            assert!(listener.try_recv().is_err(), "only once");
        }
        assert_eq!(feed.listeners(), 2);
    }
}
