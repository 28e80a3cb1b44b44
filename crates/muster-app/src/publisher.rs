//! How a use case shows its change on the public pages. The web layer renders the page and
//! recomputes the waits on this replica at once; a process that serves no pages (the CLI)
//! leaves it to the servers, which pick every change up within their page sync.

use futures_util::future::BoxFuture;
use muster_core::incident::{ChannelKind, Incident};
use muster_core::language::Lang;

pub trait Publisher: Send + Sync {
    /// The incident's public content or what its waits depend on changed.
    fn republish<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Result<(), String>>;

    /// The wait now posted for a new case on `channel` departing on `departure`, in words.
    fn posted_wait(
        &self,
        incident: &Incident,
        channel: ChannelKind,
        departure: Option<time::Date>,
        request_type: &str,
        lang: &Lang,
    ) -> Option<String>;
}

/// For processes that serve no pages.
pub struct LeftToServers;

impl Publisher for LeftToServers {
    fn republish<'a>(&'a self, _slug: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn posted_wait(
        &self,
        _incident: &Incident,
        _channel: ChannelKind,
        _departure: Option<time::Date>,
        _request_type: &str,
        _lang: &Lang,
    ) -> Option<String> {
        None
    }
}
