//! The bulk dispatcher: claims batches of deliveries under a lease, sends them through the
//! pooled SMTP transport with bounded concurrency and a rate limit, and records each
//! outcome (group-committed by a writer task). Any number of replicas run one each.
//!
//! On shutdown it starts no new send, lets the ones in flight finish, releases what it
//! claimed but did not start, and writes every outcome before returning.

use std::borrow::Cow;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use lettre::Address;
use lettre::message::Mailbox;
use lettre::message::dkim::DkimConfig;
use muster_core::campaign::retry_delay_from;
use muster_core::incident::Incident;
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

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Names this replica's claims; unique per process.
    pub worker_id: String,
    pub from: String,
    pub base_url: String,
    /// Ends every Message-ID, e.g. the sender's domain.
    pub id_domain: String,
    pub concurrency: usize,
    /// 0 means no limit.
    pub rate_per_second: u32,
    /// How long a claim holds before another replica may take it over.
    pub lease: Duration,
    /// First wait after a temporary failure; doubled on each further one.
    pub retry_after: Duration,
    pub max_attempts: u32,
    /// Pause between looks at an empty queue.
    pub idle_poll: Duration,
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

    /// Sends until `stop` is cancelled, then finishes cleanly (see the module comment).
    pub async fn run(self, stop: CancellationToken) {
        let (outcomes, received) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_outcomes(self.store.clone(), received));
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let limiter = Arc::new(RateLimiter::new(self.config.rate_per_second));
        let mut tasks = JoinSet::new();
        let mut prepared: HashMap<i64, Arc<Prepared>> = HashMap::new();
        let mut next_schedule_check = tokio::time::Instant::now();
        let lease = time::Duration::try_from(self.config.lease).unwrap_or(time::Duration::MINUTE);
        let mut next_batch: Option<JoinHandle<Result<Vec<ClaimedDelivery>, StoreError>>> = None;
        'claiming: while !stop.is_cancelled() {
            if tokio::time::Instant::now() >= next_schedule_check {
                next_schedule_check += SCHEDULE_CHECK;
                match self.store.start_due_campaigns(&self.config.id_domain).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(campaigns = n, "scheduled campaigns started"),
                    Err(err) => tracing::warn!(error = %err, "cannot start scheduled campaigns"),
                }
            }
            // The next batch may already have been claimed while this one was sending.
            let claimed = match next_batch.take() {
                Some(handle) => handle.await.unwrap_or_else(|_| Ok(Vec::new())),
                None => self.claim(lease).await,
            };
            let claims = match claimed {
                Ok(claims) => claims,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot claim deliveries");
                    idle(&stop, self.config.idle_poll).await;
                    continue;
                }
            };
            while tasks.try_join_next().is_some() {}
            if claims.is_empty() {
                if tasks.is_empty() {
                    match self.store.finish_campaigns().await {
                        Ok(done) => {
                            for id in done {
                                prepared.remove(&id);
                                tracing::info!(campaign = id, "campaign sent");
                            }
                        }
                        Err(err) => tracing::warn!(error = %err, "cannot finish campaigns"),
                    }
                }
                idle(&stop, self.config.idle_poll).await;
                continue;
            }
            tracing::debug!(claimed = claims.len(), "claimed deliveries");
            // A full batch suggests more: claim the next one once half of this one is
            // under way, so the connections never wait on the database. (Claimed with
            // only the last 2 × concurrency sends to go, a claim of 1,000 took longer
            // than those sends, and the connections stood idle once per batch.)
            let prefetch_at =
                (claims.len() as u64 == self.config.batch()).then_some(claims.len() / 2);
            let mut claims = claims.into_iter().enumerate();
            while let Some((index, claim)) = claims.next() {
                if Some(index) == prefetch_at {
                    let this = self.clone();
                    next_batch = Some(tokio::spawn(async move { this.claim(lease).await }));
                }
                let permit = tokio::select! {
                    biased;
                    () = stop.cancelled() => None,
                    permit = permits.clone().acquire_owned() => permit.ok(),
                };
                let started = match permit {
                    Some(permit) => tokio::select! {
                        biased;
                        () = stop.cancelled() => None,
                        () = limiter.acquire() => Some(permit),
                    },
                    None => None,
                };
                let Some(permit) = started else {
                    // Shutting down: what was claimed but not started is due again at once.
                    for (_, unsent) in std::iter::once((index, claim)).chain(claims) {
                        let _ = outcomes.send((unsent.id, Outcome::Released));
                    }
                    break 'claiming;
                };
                let campaign = match prepared.get(&claim.campaign_id) {
                    Some(p) => p.clone(),
                    None => match self.prepare(claim.campaign_id).await {
                        Ok(p) => {
                            prepared.insert(claim.campaign_id, p.clone());
                            p
                        }
                        Err(err) => {
                            tracing::warn!(error = %err, campaign = claim.campaign_id, "cannot load campaign");
                            let _ = outcomes.send((claim.id, Outcome::Released));
                            continue;
                        }
                    },
                };
                let this = self.clone();
                let outcomes = outcomes.clone();
                tasks.spawn(async move {
                    let id = claim.id;
                    // A panic on some recipient's data would leave the delivery claimed,
                    // to be claimed and panic again forever: it fails that one instead.
                    let outcome = AssertUnwindSafe(this.deliver(claim, &campaign))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|_| {
                            tracing::error!(
                                delivery = id,
                                "building or sending a message panicked"
                            );
                            Outcome::Failed {
                                error: "this message could not be built (an internal error)"
                                    .to_owned(),
                                bounce: false,
                            }
                        });
                    let _ = outcomes.send((id, outcome));
                    drop(permit);
                });
            }
        }
        // A batch claimed ahead is handed back; in-flight sends finish; every outcome is
        // written before we return.
        if let Some(Ok(Ok(early))) = match next_batch.take() {
            Some(handle) => Some(handle.await),
            None => None,
        } {
            for unsent in early {
                let _ = outcomes.send((unsent.id, Outcome::Released));
            }
        }
        while tasks.join_next().await.is_some() {}
        drop(outcomes);
        let _ = writer.await;
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
            Err(SendError::Transient(error)) if claim.attempts + 1 >= self.config.max_attempts => {
                Outcome::Failed {
                    error,
                    bounce: false,
                }
            }
            Err(SendError::Transient(error)) => {
                let wait = retry_delay_from(self.config.retry_after, claim.attempts + 1);
                Outcome::Retry {
                    error,
                    at: time::OffsetDateTime::now_utc() + wait,
                }
            }
        }
    }
}

async fn idle(stop: &CancellationToken, pause: Duration) {
    tokio::select! {
        () = stop.cancelled() => {}
        () = tokio::time::sleep(pause) => {}
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
        for attempt in 1..=5 {
            match store.record_outcomes(&batch).await {
                Ok(()) => break,
                Err(err) if attempt < 5 => {
                    tracing::warn!(error = %err, attempt, "cannot record outcomes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                // The leases run out and the deliveries are sent again, same Message-IDs.
                Err(err) => {
                    tracing::error!(error = %err, lost = batch.len(), "outcomes not recorded")
                }
            }
        }
        batch.clear();
    }
}
