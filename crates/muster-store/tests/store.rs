//! The store against both engines: every test runs on SQLite and on PostgreSQL.

// A test step that fails says what it expected (clippy.toml allows `expect` in tests;
// these helpers are test code too).
#![allow(clippy::expect_used)]

use muster_core::case::Identifier;
use muster_core::contact_info::EmailAddress;
use muster_core::incident::{ChannelKind, IncidentStatus};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::role::Role;
use muster_core::wait::WaitRange;
use muster_store::StoreError;
use muster_store::cases::{Intake, IntakeOutcome, MailJob, TokenScope};
use muster_store::incidents::{ChannelInput, IncidentDraft, IncidentEdit};
use muster_store::on_both_engines;
use muster_store::testing::{TestDb, TestEngine, incident_draft};

on_both_engines!(
    incidents_round_trip,
    slugs_are_unique,
    sessions_and_tokens,
    failed_logins_are_counted
);

fn draft(slug: &str) -> IncidentDraft {
    let en = Lang::english();
    IncidentDraft {
        time_zone: "Europe/Oslo".into(),
        title: Localized::single(en.clone(), "Trams stopped"),
        summary: Localized::single(en, "Power cut"),
        ..incident_draft(slug)
    }
}

/// A fresh database on `engine` holding one incident, `slug`.
async fn with_incident(
    engine: TestEngine,
    slug: &str,
) -> (TestDb, muster_store::Store, muster_core::incident::Incident) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let incident = store
        .create_incident(draft(slug), "test")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (db, store, incident)
}

async fn incidents_round_trip(engine: TestEngine) {
    let (_db, store, created) = with_incident(engine, "tram-outage").await;
    assert_eq!(created.content_version, 1);
    let update = store
        .post_update(
            "tram-outage",
            Localized::single(Lang::english(), "Buses replace trams"),
            None,
            "test",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .replace_channels(
            "tram-outage",
            vec![ChannelInput {
                kind: ChannelKind::Phone,
                label: Localized::single(Lang::english(), "Phone"),
                address: "+47 22 00 00 00".into(),
                posted_wait: WaitRange::new(10, 30).ok(),
                posted_wait_overrides: true,
            }],
            "test",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let edit = IncidentEdit {
        status: Some(IncidentStatus::Monitoring),
        ..Default::default()
    };
    store
        .edit_incident("tram-outage", edit, "test")
        .await
        .expect("edit incident succeeds");
    let loaded = store
        .incident_by_slug("tram-outage")
        .await
        .expect("incident by slug succeeds")
        .unwrap_or_else(|| panic!("incident missing"));
    assert_eq!(loaded.status, IncidentStatus::Monitoring);
    assert_eq!(loaded.updates.len(), 1);
    assert_eq!(loaded.updates[0].id, update.id);
    assert_eq!(loaded.channels[0].posted_wait, WaitRange::new(10, 30).ok());
    assert!(loaded.channels[0].posted_wait_overrides);
    assert_eq!(loaded.content_version, 4, "each change bumps the version");
    assert_eq!(
        store.current_crisis_slug().await.ok().flatten().as_deref(),
        Some("tram-outage")
    );
    let audit = store.recent_audit(10).await.expect("recent audit succeeds");
    assert_eq!(audit.len(), 4, "every change is audited: {audit:?}");
}

async fn slugs_are_unique(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    store
        .create_incident(draft("ferry"), "test")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = store.create_incident(draft("ferry"), "test").await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
}

async fn sessions_and_tokens(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    let email = EmailAddress::parse("kari@example.com").unwrap_or_else(|e| panic!("{e}"));
    let short = store
        .upsert_user(&email, "Kari", Role::Manager, "short")
        .await;
    assert!(matches!(short, Err(StoreError::Conflict(_))));
    let user = store
        .upsert_user(&email, "Kari", Role::Manager, "a long enough password")
        .await
        .expect("upsert user succeeds");
    assert!(
        store
            .authenticate("KARI@example.com", "a long enough password")
            .await
            .ok()
            .flatten()
            .is_some()
    );
    assert!(
        store
            .authenticate("kari@example.com", "wrong password!")
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let token = store
        .create_session(user.id, time::Duration::hours(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store
            .session(&token)
            .await
            .ok()
            .flatten()
            .map(|s| s.user.id),
        Some(user.id)
    );
    store
        .delete_session(&token)
        .await
        .expect("delete session succeeds");
    assert!(store.session(&token).await.ok().flatten().is_none());
    let (id, api) = store
        .create_api_token("kari@example.com", "ivr")
        .await
        .expect("create api token succeeds");
    assert!(api.starts_with("mst_"));
    assert!(store.api_token_user(&api).await.ok().flatten().is_some());
    store
        .revoke_api_token(id)
        .await
        .expect("revoke api token succeeds");
    assert!(store.api_token_user(&api).await.ok().flatten().is_none());
}

async fn failed_logins_are_counted(engine: TestEngine) {
    let db = TestDb::create(engine).await;
    let store = db.store().await;
    for _ in 0..3 {
        store
            .record_failed_login("a@example.com", "10.0.0.1")
            .await
            .expect("record failed login succeeds");
    }
    store
        .record_failed_login("b@example.com", "10.0.0.1")
        .await
        .expect("record failed login succeeds");
    // Another client failing on the same account: its failures are its own.
    store
        .record_failed_login("a@example.com", "10.0.0.2")
        .await
        .expect("record failed login succeeds");
    let window = time::Duration::minutes(15);
    let failures = store
        .recent_failed_logins("A@example.com", "10.0.0.1", window)
        .await
        .expect("recent failed logins succeeds");
    assert_eq!((failures.on_account.count, failures.on_any.count), (3, 4));
    assert!(failures.on_account.last.is_some());
    assert!(failures.on_account.last <= failures.on_any.last);
    store
        .clear_failed_logins("a@example.com", "10.0.0.1")
        .await
        .expect("clear failed logins succeeds");
    let failures = store
        .recent_failed_logins("a@example.com", "10.0.0.1", window)
        .await
        .expect("recent failed logins succeeds");
    assert_eq!((failures.on_account.count, failures.on_any.count), (0, 1));
    assert_eq!(failures.on_account.last, None);
    let other = store
        .recent_failed_logins("a@example.com", "10.0.0.2", window)
        .await
        .expect("recent failed logins succeeds");
    assert_eq!(
        other.on_account.count, 1,
        "the other client's failure stays"
    );
}

on_both_engines!(
    one_customer_one_case,
    mail_is_claimed_once_and_retried,
    a_burst_of_contacts_is_one_case_per_customer,
    waves_of_contacts_written_in_parallel_are_one_case_per_customer
);

fn intake(
    incident_id: i64,
    channel: ChannelKind,
    email: Option<&str>,
    external_id: &str,
) -> Intake {
    Intake {
        incident_id,
        channel,
        customer_name: "Kari".into(),
        email: email.map(str::to_owned),
        phone: None,
        booking_ref: Some("AB1234".into()),
        handle: None,
        departure_date: None,
        trip: None,
        request_type: "refund".into(),
        team: Some("refunds".into()),
        language: "en".into(),
        body: format!("message {external_id}"),
        external_id: Some(external_id.into()),
        into_case: None,
        meta: serde_json::json!({}),
    }
}

fn ack(case: &muster_core::case::Case, outcome: IntakeOutcome) -> Option<MailJob> {
    Some(MailJob {
        kind: "ack".into(),
        recipient: case.email.clone().unwrap_or_default(),
        payload: serde_json::json!({ "outcome": outcome }),
    })
}

async fn one_customer_one_case(engine: TestEngine) {
    let (_db, store, incident) = with_incident(engine, "ferry").await;
    let first = store
        .take_in(
            intake(
                incident.id,
                ChannelKind::Form,
                Some("kari@example.no"),
                "form-1",
            ),
            "token-1",
            ack,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.outcome, IntakeOutcome::Created);
    assert!(first.full_access);
    let replay = store
        .take_in(
            intake(
                incident.id,
                ChannelKind::Form,
                Some("kari@example.no"),
                "form-1",
            ),
            "token-1",
            ack,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (replay.outcome, replay.case.id, replay.full_access),
        (IntakeOutcome::Replayed, first.case.id, true)
    );
    // The same booking reference on another channel only names the case: a case of its
    // own, marked as an unverified match of the first.
    let social = store
        .take_in(
            intake(incident.id, ChannelKind::Social, None, "tweet-9"),
            "token-2",
            ack,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(social.outcome, IntakeOutcome::Created);
    assert_ne!(social.case.id, first.case.id);
    assert_eq!(
        social
            .case
            .unverified_match
            .as_ref()
            .map(|m| (m.reference.clone(), m.on)),
        Some((first.case.reference.clone(), Identifier::BookingRef))
    );
    let timeline = store
        .timeline(first.case.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        timeline
            .iter()
            .map(|e| (e.body.as_str(), e.unverified.as_ref().map(|u| u.1)))
            .collect::<Vec<_>>(),
        vec![
            ("message form-1", None),
            ("message tweet-9", Some(Identifier::BookingRef))
        ]
    );
    // The same sender on the same channel joins their case.
    let mut again = intake(incident.id, ChannelKind::Social, None, "tweet-10");
    again.handle = Some("x:kari".into());
    let mut first_post = intake(incident.id, ChannelKind::Social, None, "tweet-11");
    first_post.handle = Some("x:kari".into());
    first_post.booking_ref = Some("CD5678".into());
    again.booking_ref = Some("CD5678".into());
    let opened = store
        .take_in(first_post, "token-3", ack)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let joined = store
        .take_in(again, "token-4", ack)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (joined.outcome, joined.case.id, joined.full_access),
        (IntakeOutcome::Joined, opened.case.id, false)
    );
    assert_eq!(joined.case.contact_count, 2);
    let reference = opened.case.reference.clone();
    let (_, scope) = store
        .case_by_token(&reference, "token-4")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("token-4"));
    assert_eq!(scope, TokenScope::Receipt);
    assert!(
        store
            .case_by_token(&reference, "token-x")
            .await
            .ok()
            .flatten()
            .is_none()
    );
    let conversation = store
        .customer_conversation(opened.case.id)
        .await
        .expect("customer conversation succeeds");
    assert_eq!(conversation.len(), 2);
    assert_eq!(
        store.duplicate_contacts_avoided(incident.id).await.ok(),
        Some(1)
    );
    assert_eq!(
        store.unsent_mail_count().await.ok(),
        Some(4),
        "one acknowledgement per stored contact, none for the replay"
    );
}

async fn mail_is_claimed_once_and_retried(engine: TestEngine) {
    let (_db, store, incident) = with_incident(engine, "ferry").await;
    for i in 0..3 {
        let email = format!("c{i}@example.com");
        store
            .take_in(
                intake(
                    incident.id,
                    ChannelKind::Form,
                    Some(&email),
                    &format!("f{i}"),
                ),
                &format!("t{i}"),
                |c, o| {
                    let mut job = ack(c, o)?;
                    job.recipient = format!("c{}", c.id);
                    Some(job)
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // One booking reference on three addresses: three cases, each acknowledged.
    let lease = time::Duration::seconds(60);
    let claimed = store
        .claim_mail(10, lease)
        .await
        .expect("claim mail succeeds");
    assert_eq!(claimed.len(), 3);
    assert!(
        store
            .claim_mail(10, lease)
            .await
            .unwrap_or_default()
            .is_empty(),
        "a leased message is not claimed twice"
    );
    store
        .mark_mail_sent(&[claimed[0].id])
        .await
        .expect("mark mail sent succeeds");
    store
        .mark_mail_failed(claimed[1].id, "451 later", Some(time::Duration::ZERO))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .mark_mail_failed(claimed[2].id, "550 no such user", None)
        .await
        .expect("mark mail failed succeeds");
    let again = store
        .claim_mail(10, lease)
        .await
        .expect("claim mail succeeds");
    assert_eq!(
        again.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(),
        vec![(claimed[1].id, 2)]
    );
    // An expired lease (a crashed sender) makes the message claimable again.
    store
        .mark_mail_failed(again[0].id, "x", Some(time::Duration::ZERO))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crashed = store
        .claim_mail(10, time::Duration::seconds(-1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(crashed.len(), 1);
    let recovered = store
        .claim_mail(10, lease)
        .await
        .expect("claim mail succeeds");
    assert_eq!(recovered.len(), 1);
}

/// Contacts arriving together are written together (group commit); customers seen twice in
/// the burst, and replays of the same contact, still end as one case each.
async fn a_burst_of_contacts_is_one_case_per_customer(engine: TestEngine) {
    let (_db, store, incident) = with_incident(engine, "ferry").await;
    // 30 customers; customers 0-9 write twice (new contacts), and 0-4 double-click
    // (the same contact again).
    let mut contacts = Vec::new();
    for n in 0..30 {
        contacts.push((n, format!("first-{n}")));
    }
    for n in 0..10 {
        contacts.push((n, format!("second-{n}")));
    }
    for n in 0..5 {
        contacts.push((n, format!("first-{n}")));
    }
    let mut burst = tokio::task::JoinSet::new();
    for (n, external_id) in contacts {
        let store = store.clone();
        let email = format!("customer{n}@example.no");
        // By email: the sender the channel vouches for, so a second message joins.
        let mut contact = intake(incident.id, ChannelKind::Email, Some(&email), &external_id);
        contact.booking_ref = Some(format!("BK{n:04}"));
        burst.spawn(async move {
            let receipt = store
                .take_in(contact, &format!("token-{external_id}"), ack)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            (n, receipt)
        });
    }
    let mut case_of = std::collections::HashMap::new();
    let mut outcomes = std::collections::HashMap::new();
    let mut references = std::collections::HashMap::new();
    while let Some(done) = burst.join_next().await {
        let (n, receipt) = done.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            receipt.case.email.as_deref(),
            Some(format!("customer{n}@example.no").as_str())
        );
        references.insert(n, receipt.case.reference.clone());
        let case_id = *case_of.entry(n).or_insert(receipt.case.id);
        assert_eq!(case_id, receipt.case.id, "customer {n} has one case");
        *outcomes
            .entry(format!("{:?}", receipt.outcome))
            .or_insert(0) += 1;
    }
    assert_eq!(outcomes.get("Created"), Some(&30), "{outcomes:?}");
    assert_eq!(outcomes.get("Joined"), Some(&10), "{outcomes:?}");
    assert_eq!(outcomes.get("Replayed"), Some(&5), "{outcomes:?}");
    let mut contacts_stored = 0;
    for case_id in case_of.values() {
        contacts_stored += store
            .customer_conversation(*case_id)
            .await
            .expect("customer conversation succeeds")
            .len();
    }
    assert_eq!(contacts_stored, 40, "every contact once, no replay stored");
    assert_eq!(
        store.unsent_mail_count().await.ok(),
        Some(40),
        "one acknowledgement per stored contact"
    );
    let (case, scope) = store
        .case_by_token(&references[&29], "token-first-29")
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the token of a case written in a batch opens it"));
    assert_eq!((case.id, scope), (case_of[&29], TokenScope::Full));
}

/// Contacts keep coming while earlier batches are being written (several at once on
/// PostgreSQL): a customer's second and third contacts, by email or by booking reference
/// alone, still find the case their first one made.
async fn waves_of_contacts_written_in_parallel_are_one_case_per_customer(engine: TestEngine) {
    let (_db, store, incident) = with_incident(engine, "ferry").await;
    let mut burst = tokio::task::JoinSet::new();
    for wave in 0..3 {
        for n in 0..80 {
            let store = store.clone();
            let email = format!("wave{n}@example.no");
            // By email, the sender the channel vouches for: each wave joins the first.
            let mut contact = intake(
                incident.id,
                ChannelKind::Email,
                Some(email.as_str()),
                &format!("wave-{wave}-{n}"),
            );
            contact.booking_ref = Some(format!("WV{n:04}"));
            burst.spawn(async move {
                let receipt = store
                    .take_in(contact, &format!("token-{wave}-{n}"), ack)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                (n, receipt.case.id)
            });
        }
        tokio::task::yield_now().await;
    }
    let mut case_of = std::collections::HashMap::new();
    while let Some(done) = burst.join_next().await {
        let (n, case_id) = done.unwrap_or_else(|e| panic!("{e}"));
        let first = *case_of.entry(n).or_insert(case_id);
        assert_eq!(first, case_id, "customer {n} has one case");
    }
    let distinct: std::collections::HashSet<i64> = case_of.values().copied().collect();
    assert_eq!(distinct.len(), 80);
}
