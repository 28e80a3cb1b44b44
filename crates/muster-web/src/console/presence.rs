//! Who has which case open, so that an agent opening a case a colleague is looking at is
//! warned. Held in memory on this replica: a page seen within [`RECENT`] counts, and a
//! page's live connection keeps its viewer counted while it is open. (The claim, which the
//! database holds, warns across replicas: see the case page.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a page view counts without a live connection.
const RECENT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone)]
struct Viewer {
    user_id: i64,
    name: String,
    seen: Instant,
    /// Live connections of this viewer to this case's page.
    connections: usize,
}

#[derive(Debug, Default)]
pub struct Presence {
    cases: Mutex<HashMap<String, Vec<Viewer>>>,
}

impl Presence {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Vec<Viewer>>) -> T) -> T {
        let mut cases = self
            .cases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut cases)
    }

    fn touch(&self, reference: &str, user_id: i64, name: &str, connections: isize) {
        self.with(|cases| {
            let viewers = cases.entry(reference.to_owned()).or_default();
            let now = Instant::now();
            viewers.retain(|v| v.connections > 0 || now - v.seen < RECENT);
            match viewers.iter_mut().find(|v| v.user_id == user_id) {
                Some(viewer) => {
                    viewer.seen = now;
                    viewer.connections = viewer.connections.saturating_add_signed(connections);
                }
                None => viewers.push(Viewer {
                    user_id,
                    name: name.to_owned(),
                    seen: now,
                    connections: connections.max(0).unsigned_abs(),
                }),
            }
            if viewers.is_empty() {
                cases.remove(reference);
            }
        });
    }

    /// `user_id` opened the case's page.
    pub fn saw(&self, reference: &str, user_id: i64, name: &str) {
        self.touch(reference, user_id, name, 0);
    }

    /// A live connection of `user_id` to the case's page opened; it counts until the
    /// returned guard is dropped.
    pub fn watching(
        self: &std::sync::Arc<Self>,
        reference: &str,
        user_id: i64,
        name: &str,
    ) -> Watching {
        self.touch(reference, user_id, name, 1);
        Watching {
            presence: self.clone(),
            reference: reference.to_owned(),
            user_id,
        }
    }

    /// The names of everyone but `user_id` who has the case open.
    pub fn others(&self, reference: &str, user_id: i64) -> Vec<String> {
        let now = Instant::now();
        self.with(|cases| {
            cases
                .get(reference)
                .map(|viewers| {
                    viewers
                        .iter()
                        .filter(|v| v.user_id != user_id)
                        .filter(|v| v.connections > 0 || now - v.seen < RECENT)
                        .map(|v| v.name.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
    }
}

/// A live connection's share of [`Presence`].
pub struct Watching {
    presence: std::sync::Arc<Presence>,
    reference: String,
    user_id: i64,
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.presence.touch(&self.reference, self.user_id, "", -1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_colleague_on_the_same_case_is_seen_and_oneself_is_not() {
        let presence = Arc::new(Presence::default());
        presence.saw("MX-7K3Q9P", 1, "Arne");
        assert!(presence.others("MX-7K3Q9P", 1).is_empty());
        let watching = presence.watching("MX-7K3Q9P", 2, "Berit");
        assert_eq!(presence.others("MX-7K3Q9P", 1), vec!["Berit".to_owned()]);
        assert_eq!(presence.others("MX-7K3Q9P", 2), vec!["Arne".to_owned()]);
        drop(watching);
        // Berit's page view still counts for a while after the connection closed.
        assert_eq!(presence.others("MX-7K3Q9P", 1), vec!["Berit".to_owned()]);
        assert!(presence.others("MX-OTHER1", 1).is_empty());
    }
}
