//! The bulk dispatcher: claims batches of deliveries under a lease, sends them through the
//! pooled SMTP transport with bounded concurrency and a rate limit, and records each
//! outcome (group-committed by a writer task). Any number of replicas run one each, on
//! the binary's worker runner: [`Dispatcher::start`] makes a [`Sending`], whose rounds
//! each claim a batch.
//!
//! On shutdown it starts no new send, lets the ones in flight finish, releases what it
//! claimed but did not start, and writes every outcome before [`Sending::finish`] returns.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use lettre::Address;
use lettre::message::Mailbox;
use lettre::message::dkim::DkimConfig;
use muster_core::backoff::Backoff;
use muster_core::incident::Incident;
use muster_core::mail_feedback::ReturnTag;
use muster_store::dispatch::{ClaimedDelivery, Outcome};
use muster_store::{Store, StoreError};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::message::{MessageError, ParsedMessage, mailbox};
use crate::rate::RateLimiter;
use crate::render::CampaignTemplates;
use crate::variables::{incident_vars, recipient_vars, unsubscribe_url};
use crate::{Mailer, SendError};

/// Largest batch claimed at once.
const MAX_BATCH: u64 = 1000;
/// How long an outcome waits for others to share its transaction. Written as they came,
/// at thousands of sends a second, each commit took one or two outcomes, and commits were
/// about 8% of the dispatcher's CPU. Longer holds more sends that a crash would repeat.
const OUTCOME_WINDOW: Duration = Duration::from_millis(10);
const OUTCOMES_PER_TRANSACTION: usize = 1000;
/// How often scheduled campaigns are looked for.
const SCHEDULE_CHECK: Duration = Duration::from_secs(1);
/// A batch of outcomes that cannot be written is tried five times, a second apart.
const RECORD_RETRIES: Backoff = Backoff {
    base: Duration::from_secs(1),
    max: Duration::from_secs(1),
    max_attempts: 5,
};

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Names this replica's claims; unique per process.
    pub worker_id: String,
    pub from: String,
    pub base_url: String,
    /// Ends every Message-ID, e.g. the sender's domain.
    pub id_domain: String,
    /// The domain of each delivery's return path (`bounce+c42@…`); `None`: `from`.
    pub bounce_domain: Option<String>,
    pub concurrency: usize,
    /// 0 means no limit.
    pub rate_per_second: u32,
    /// How long a claim holds before another replica may take it over.
    pub lease: Duration,
    /// Waits after temporary failures, and the attempts before a delivery fails.
    pub retries: Backoff,
}

impl DispatchConfig {
    /// About a second of work per claim, so a pause or a lease takes effect quickly.
    fn batch(&self) -> u64 {
        let concurrency = u64::try_from(self.concurrency.max(1)).unwrap_or(1);
        let per_second = match self.rate_per_second {
            0 => MAX_BATCH,
            rate => u64::from(rate),
        };
        per_second.max(concurrency * 2).min(MAX_BATCH)
    }
}

/// A campaign ready to render: its compiled templates and the incident's variables.
struct Prepared {
    slug: String,
    templates: Option<CampaignTemplates>,
    compile_error: String,
    /// `mail.from`, parsed once; the error fails every delivery.
    sender: Result<Mailbox, String>,
    incident: Incident,
    vars_by_language: HashMap<String, Value>,
}

impl Prepared {
    fn incident_vars(&self, base_url: &str, lang: &str) -> Cow<'_, Value> {
        match self.vars_by_language.get(lang) {
            Some(vars) => Cow::Borrowed(vars),
            None => Cow::Owned(incident_vars(&self.incident, base_url, lang)),
        }
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    mailer: Mailer,
    config: Arc<DispatchConfig>,
    dkim: Option<Arc<DkimConfig>>,
}

impl Dispatcher {
    pub fn new(
        store: Store,
        mailer: Mailer,
        config: DispatchConfig,
        dkim: Option<DkimConfig>,
    ) -> Self {
        Self {
            store,
            mailer,
            config: Arc::new(config),
            dkim: dkim.map(Arc::new),
        }
    }

    async fn prepare(&self, campaign_id: i64) -> Result<Arc<Prepared>, muster_store::StoreError> {
        let campaign = self.store.campaign(campaign_id).await?;
        let incident = self
            .store
            .incident_by_slug(&campaign.incident_slug)
            .await?
            .ok_or(muster_store::StoreError::NotFound("incident"))?;
        let (templates, compile_error) = match CampaignTemplates::compile(&campaign.content) {
            Ok(t) => (Some(t), String::new()),
            Err(e) => (None, e.to_string()),
        };
        let vars_by_language = incident
            .languages
            .iter()
            .map(|l| {
                (
                    l.as_str().to_owned(),
                    incident_vars(&incident, &self.config.base_url, l.as_str()),
                )
            })
            .collect();
        Ok(Arc::new(Prepared {
            slug: campaign.incident_slug,
            templates,
            compile_error,
            sender: mailbox(&self.config.from).map_err(|e| e.to_string()),
            incident,
            vars_by_language,
        }))
    }

    async fn claim(&self, lease: time::Duration) -> Result<Vec<ClaimedDelivery>, StoreError> {
        self.store
            .claim_deliveries(&self.config.worker_id, self.config.batch(), lease)
            .await
    }

    /// Starts sending: the outcome writer, the send slots and the rate limit. Each round
    /// of the returned [`Sending`] claims a batch and starts its sends.
    pub fn start(&self) -> Sending {
        let (outcomes, received) = mpsc::unbounded_channel();
        Sending {
            writer: tokio::spawn(write_outcomes(self.store.clone(), received)),
            outcomes,
            permits: Arc::new(Semaphore::new(self.config.concurrency.max(1))),
            limiter: Arc::new(RateLimiter::new(self.config.rate_per_second)),
            tasks: JoinSet::new(),
            prepared: HashMap::new(),
            next_schedule_check: tokio::time::Instant::now(),
            lease: time::Duration::try_from(self.config.lease).unwrap_or(time::Duration::MINUTE),
            next_batch: None,
            dispatcher: self.clone(),
        }
    }

    async fn deliver(&self, claim: ClaimedDelivery, campaign: &Prepared) -> Outcome {
        let r = &claim.recipient;
        if r.suppressed {
            return Outcome::Suppressed;
        }
        let Some(templates) = &campaign.templates else {
            return Outcome::Failed {
                error: campaign.compile_error.clone(),
                bounce: false,
            };
        };
        let base_url = &self.config.base_url;
        let incident = campaign.incident_vars(base_url, &r.language);
        let vars = recipient_vars(&incident, base_url, &campaign.slug, r);
        let rendered = match templates.render(vars) {
            Ok(rendered) => rendered,
            Err(err) => {
                return Outcome::Failed {
                    error: err.to_string(),
                    bounce: false,
                };
            }
        };
        let sender = match &campaign.sender {
            Ok(sender) => sender.clone(),
            Err(error) => {
                return Outcome::Failed {
                    error: error.clone(),
                    bounce: false,
                };
            }
        };
        let to = match r.email.parse::<Address>() {
            Ok(address) => Mailbox::new((!r.name.is_empty()).then(|| r.name.clone()), address),
            Err(err) => {
                return Outcome::Failed {
                    error: MessageError::Address {
                        address: r.email.clone(),
                        reason: err.to_string(),
                    }
                    .to_string(),
                    bounce: false,
                };
            }
        };
        let message = ParsedMessage {
            from: sender,
            to,
            reply_to: None,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            message_id: claim.message_id,
            in_reply_to: None,
            references: Vec::new(),
            return_path: self
                .config
                .bounce_domain
                .as_deref()
                .map(|domain| ReturnTag::Delivery(claim.id).address(domain)),
            auto_submitted: false,
            list_unsubscribe: Some(unsubscribe_url(base_url, &r.unsubscribe_token)),
        };
        let mut built = match message.build() {
            Ok(built) => built,
            Err(err) => {
                return Outcome::Failed {
                    error: err.to_string(),
                    bounce: false,
                };
            }
        };
        if let Some(dkim) = &self.dkim {
            built.sign(dkim);
        }
        match self.mailer.send(built).await {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(error)) => Outcome::Failed {
                error,
                bounce: true,
            },
            Err(SendError::Transient(error)) => {
                match self.config.retries.retry_after(claim.attempts + 1) {
                    Some(wait) => Outcome::Retry {
                        error,
                        at: time::OffsetDateTime::now_utc()
                            + time::Duration::try_from(wait).unwrap_or(time::Duration::MAX),
                    },
                    None => Outcome::Failed {
                        error,
                        bounce: false,
                    },
                }
            }
        }
    }
}

/// A dispatcher at work: the sends in flight, the batch claimed ahead, the campaigns
/// prepared so far, and the writer their outcomes go to.
pub struct Sending {
    dispatcher: Dispatcher,
    outcomes: mpsc::UnboundedSender<(i64, Outcome)>,
    writer: JoinHandle<()>,
    permits: Arc<Semaphore>,
    limiter: Arc<RateLimiter>,
    tasks: JoinSet<()>,
    prepared: HashMap<i64, Arc<Prepared>>,
    next_schedule_check: tokio::time::Instant,
    lease: time::Duration,
    next_batch: Option<JoinHandle<Result<Vec<ClaimedDelivery>, StoreError>>>,
}

impl Sending {
    /// Starts the campaigns that are due, claims a batch and starts its sends, each once
    /// a send slot and the rate limit allow; returns how many deliveries it claimed (none:
    /// the queue is empty). When `stop` is cancelled, what is claimed but not started is
    /// handed back.
    pub async fn round(&mut self, stop: &CancellationToken) -> Result<usize, StoreError> {
        if tokio::time::Instant::now() >= self.next_schedule_check {
            self.next_schedule_check += SCHEDULE_CHECK;
            // Not a failed round: a batch claimed ahead is waiting, its lease running.
            match self
                .dispatcher
                .store
                .start_due_campaigns(&self.dispatcher.config.id_domain)
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(campaigns = n, "scheduled campaigns started"),
                Err(err) => tracing::warn!(error = %err, "cannot start scheduled campaigns"),
            }
        }
        // The next batch may already have been claimed while this one was sending.
        let claims = match self.next_batch.take() {
            Some(handle) => handle.await.unwrap_or_else(|_| Ok(Vec::new()))?,
            None => self.dispatcher.claim(self.lease).await?,
        };
        while self.tasks.try_join_next().is_some() {}
        if claims.is_empty() {
            if self.tasks.is_empty() {
                for id in self.dispatcher.store.finish_campaigns().await? {
                    self.prepared.remove(&id);
                    tracing::info!(campaign = id, "campaign sent");
                }
            }
            return Ok(0);
        }
        let claimed = claims.len();
        tracing::debug!(claimed, "claimed deliveries");
        // A full batch suggests more: claim the next one once half of this one is
        // under way, so the connections never wait on the database. (Claimed with
        // only the last 2 × concurrency sends to go, a claim of 1,000 took longer
        // than those sends, and the connections stood idle once per batch.)
        let prefetch_at = (claimed as u64 == self.dispatcher.config.batch()).then_some(claimed / 2);
        let mut claims = claims.into_iter().enumerate();
        while let Some((index, claim)) = claims.next() {
            if Some(index) == prefetch_at {
                let this = self.dispatcher.clone();
                let lease = self.lease;
                self.next_batch = Some(tokio::spawn(async move { this.claim(lease).await }));
            }
            let permit = tokio::select! {
                biased;
                () = stop.cancelled() => None,
                permit = self.permits.clone().acquire_owned() => permit.ok(),
            };
            let started = match permit {
                Some(permit) => tokio::select! {
                    biased;
                    () = stop.cancelled() => None,
                    () = self.limiter.acquire() => Some(permit),
                },
                None => None,
            };
            let Some(permit) = started else {
                // Shutting down: what was claimed but not started is due again at once.
                for (_, unsent) in std::iter::once((index, claim)).chain(claims) {
                    let _ = self.outcomes.send((unsent.id, Outcome::Released));
                }
                break;
            };
            let campaign = match self.prepared.get(&claim.campaign_id) {
                Some(p) => p.clone(),
                None => match self.dispatcher.prepare(claim.campaign_id).await {
                    Ok(p) => {
                        self.prepared.insert(claim.campaign_id, p.clone());
                        p
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, campaign = claim.campaign_id, "cannot load campaign");
                        let _ = self.outcomes.send((claim.id, Outcome::Released));
                        continue;
                    }
                },
            };
            let this = self.dispatcher.clone();
            let outcomes = self.outcomes.clone();
            self.tasks.spawn(async move {
                let id = claim.id;
                // A panic on some recipient's data would leave the delivery claimed,
                // to be claimed and panic again forever: it fails that one instead.
                let outcome = AssertUnwindSafe(this.deliver(claim, &campaign))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| {
                        tracing::error!(delivery = id, "building or sending a message panicked");
                        Outcome::Failed {
                            error: "this message could not be built (an internal error)".to_owned(),
                            bounce: false,
                        }
                    });
                let _ = outcomes.send((id, outcome));
                drop(permit);
            });
        }
        Ok(claimed)
    }

    /// On shutdown: a batch claimed ahead is handed back, the sends in flight finish, and
    /// every outcome is written before this returns.
    pub async fn finish(mut self) {
        if let Some(Ok(Ok(early))) = match self.next_batch.take() {
            Some(handle) => Some(handle.await),
            None => None,
        } {
            for unsent in early {
                let _ = self.outcomes.send((unsent.id, Outcome::Released));
            }
        }
        while self.tasks.join_next().await.is_some() {}
        drop(self.outcomes);
        let _ = self.writer.await;
    }
}

/// Writes outcomes in batches: the first of a batch waits [`OUTCOME_WINDOW`] for others,
/// then everything queued (up to [`OUTCOMES_PER_TRANSACTION`]) goes in one transaction.
async fn write_outcomes(store: Store, mut received: mpsc::UnboundedReceiver<(i64, Outcome)>) {
    let mut batch = Vec::new();
    while received
        .recv_many(&mut batch, OUTCOMES_PER_TRANSACTION)
        .await
        > 0
    {
        if batch.len() < OUTCOMES_PER_TRANSACTION {
            tokio::time::sleep(OUTCOME_WINDOW).await;
            while batch.len() < OUTCOMES_PER_TRANSACTION {
                let Ok(outcome) = received.try_recv() else {
                    break;
                };
                batch.push(outcome);
            }
        }
        for attempt in 1.. {
            let Err(err) = store.record_outcomes(&batch).await else {
                break;
            };
            match RECORD_RETRIES.retry_after(attempt) {
                Some(wait) => {
                    tracing::warn!(error = %err, attempt, "cannot record outcomes; retrying");
                    tokio::time::sleep(wait).await;
                }
                // The leases run out and the deliveries are sent again, same Message-IDs.
                None => {
                    tracing::error!(error = %err, lost = batch.len(), "outcomes not recorded");
                    break;
                }
            }
        }
        batch.clear();
    }
}
