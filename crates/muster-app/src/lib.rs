//! Muster's application layer: one function per use case, between the doors (console, API,
//! CLI, workers, channel connectors) and the store. Each takes core types and an [`Actor`],
//! and applies every rule of its action once: validation and limits, the store write, the
//! audit entry, the page republish, the mail to queue.

pub mod accounts;
pub mod acknowledgement;
pub mod actor;
pub mod audience;
pub mod campaign_input;
pub mod campaigns;
pub mod canned;
pub mod case_link;
pub mod case_work;
pub mod channels;
pub mod error;
pub mod form_fields;
pub mod group_reply;
pub mod groups;
pub mod i18n;
pub mod inbound_email;
pub mod inbound_replay;
pub mod incident_input;
pub mod incidents;
pub mod intake;
pub mod live;
pub mod mail_feedback;
pub mod mail_job;
pub mod mailboxes;
pub mod merging;
pub mod overdue;
pub mod phone_line;
pub mod publisher;
pub mod staffing;
pub mod subscriptions;
pub mod threads;
pub mod webhooks;

use std::sync::Arc;

use muster_store::Store;

pub use actor::Actor;
pub use error::{AppError, AppResult};
pub use muster_core::problem::{FieldErrors, Problem};
pub use publisher::Publisher;

/// How the application sends a single message from a use case (test sends, confirmations).
#[derive(Clone, Debug)]
pub struct MailSettings {
    pub mailer: muster_mail::Mailer,
    /// `Name <address>` that customer mail comes from.
    pub from: String,
}

#[derive(Clone, Debug)]
pub struct AppSettings {
    /// Public address without a trailing slash, e.g. `https://status.example.com`.
    pub base_url: String,
    /// Ends the Message-IDs Muster makes.
    pub id_domain: String,
    /// `Name <address>` that customer mail comes from.
    pub mail_from: String,
    /// The domain of the VERP return paths (`bounce+r7@…`); `None`: bounces go to `mail_from`.
    pub bounce_domain: Option<String>,
    /// How long a taken case stays with an idle agent before it returns to the queue.
    pub claim_lease: time::Duration,
    /// `None` where nothing is sent from a use case directly (the CLI, static exports).
    pub mail: Option<MailSettings>,
    /// Shifts Muster's idea of now, for drills and for tests of tiers that rise with the days.
    pub clock_offset: time::Duration,
    /// What a booking reference looks like in free text (`inbound.booking_ref_pattern`).
    pub booking_pattern: regex_lite::Regex,
    /// How long a group reply waits, to be undone, before it goes (60 s).
    pub group_reply_hold: time::Duration,
    /// The channels besides email that replies can go out on.
    pub channels: channels::ChannelSettings,
}

/// The use cases over one store; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub settings: AppSettings,
    publisher: Arc<dyn Publisher>,
    live: live::LiveFeed,
}

impl App {
    pub fn new(store: Store, settings: AppSettings, publisher: Arc<dyn Publisher>) -> Self {
        Self {
            store,
            settings,
            publisher,
            live: live::LiveFeed::default(),
        }
    }

    /// Now, as Muster sees it (the real clock plus any configured offset).
    pub fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc() + self.settings.clock_offset
    }

    /// Shows a change of the incident's public content or waits on this replica now; the
    /// others pick it up within their page sync.
    async fn republish(&self, slug: &str) -> AppResult<()> {
        self.publisher
            .republish(slug)
            .await
            .map_err(AppError::Publish)
    }
}
