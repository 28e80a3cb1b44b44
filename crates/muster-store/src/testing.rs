//! Fresh databases for tests: a SQLite file in a temporary folder, or a new PostgreSQL
//! database created for the test and dropped afterwards, so tests run in parallel.
//! A test that needs PostgreSQL fails (never skips) when the server is missing.

use std::path::PathBuf;

use sea_orm::{ConnectionTrait, Database};

use muster_core::incident::{ChannelKind, IncidentSettings, IncidentStatus, Severity};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::slug::Slug;

use time::Date;

use crate::Store;
use crate::cases::Intake;
use crate::incidents::IncidentDraft;

/// Declares each named `async fn(TestEngine)` of the calling test file as two tests, one per
/// engine: `name::sqlite` and `name::postgres` (on a multi-threaded runtime, as a server runs).
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name($crate::testing::TestEngine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::testing::TestEngine::Postgres).await;
            }
        }
    )*};
}

/// An active incident `slug`, in English and UTC, with the default settings: tests change
/// what they need with `IncidentDraft { field, ..incident_draft(slug) }`.
pub fn incident_draft(slug: &str) -> IncidentDraft {
    let en = Lang::english();
    IncidentDraft {
        slug: Slug::parse(slug).unwrap_or_else(|e| panic!("{e}")),
        status: IncidentStatus::Active,
        severity: Severity::Major,
        time_zone: "UTC".into(),
        default_language: en.clone(),
        languages: vec![en.clone()],
        title: Localized::single(en, "Test incident"),
        summary: Localized::new(),
        letter: Localized::new(),
        letter_signature: String::new(),
        contact_guidance: Localized::new(),
        settings: IncidentSettings::default(),
    }
}

/// Customer `n`'s refund request on `channel`, departing `departure_date`: its own email,
/// booking reference and external id, for the refunds team.
pub fn sample_intake(
    incident_id: i64,
    n: usize,
    channel: ChannelKind,
    departure_date: Option<Date>,
) -> Intake {
    Intake {
        incident_id,
        channel,
        customer_name: format!("Customer {n}"),
        email: Some(format!("c{n}@example.com")),
        phone: None,
        booking_ref: Some(format!("BK{n:06}")),
        handle: None,
        departure_date,
        trip: None,
        request_type: "refund".into(),
        team: Some("refunds".into()),
        language: "en".into(),
        body: "help".into(),
        external_id: Some(format!("form:{n}")),
        into_case: None,
        meta: serde_json::json!({}),
    }
}

/// Where tests find PostgreSQL's maintenance database; override with `MUSTER_TEST_POSTGRES`.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestEngine {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    pub engine: TestEngine,
    folder: Option<PathBuf>,
    postgres: Option<(String, String)>,
}

fn admin_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

fn unique_name() -> String {
    format!("muster_test_{}", uuid::Uuid::new_v4().simple())
}

impl TestDb {
    pub async fn create(engine: TestEngine) -> Self {
        match engine {
            TestEngine::Sqlite => {
                let folder = std::env::temp_dir().join(unique_name());
                if let Err(err) = std::fs::create_dir_all(&folder) {
                    panic!("cannot create {}: {err}", folder.display());
                }
                Self {
                    url: format!("sqlite://{}/muster.db", folder.display()),
                    engine,
                    folder: Some(folder),
                    postgres: None,
                }
            }
            TestEngine::Postgres => {
                let admin = admin_url();
                let name = unique_name();
                let conn = Database::connect(&admin).await.unwrap_or_else(|err| {
                    panic!("PostgreSQL is required for this test and is not reachable at {admin} ({err}); start it or set MUSTER_TEST_POSTGRES")
                });
                if let Err(err) = conn
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                {
                    panic!("cannot create test database {name}: {err}");
                }
                let _ = conn.close().await;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Self {
                    url: format!("{base}/{name}"),
                    engine,
                    folder: None,
                    postgres: Some((admin, name)),
                }
            }
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        self.store_with_pool(5).await
    }

    /// A migrated store with up to `connections` pooled connections (PostgreSQL).
    pub async fn store_with_pool(&self, connections: u32) -> Store {
        let store = match Store::connect(&self.url, connections).await {
            Ok(store) => store,
            Err(err) => panic!("cannot connect to {}: {err}", self.url),
        };
        if let Err(err) = store.migrate().await {
            panic!("migration failed: {err}");
        }
        store
    }

    /// The PostgreSQL database's name, for tests that take it away.
    pub fn postgres_name(&self) -> Option<&str> {
        self.postgres.as_ref().map(|(_, name)| name.as_str())
    }

    /// Runs SQL on the maintenance database (PostgreSQL only).
    pub async fn admin_execute(&self, sql: &str) {
        let Some((admin, _)) = &self.postgres else {
            panic!("admin_execute needs PostgreSQL")
        };
        let conn = Database::connect(admin.as_str())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if let Err(err) = conn.execute_unprepared(sql).await {
            panic!("{sql}: {err}");
        }
        let _ = conn.close().await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(folder) = self.folder.take() {
            let _ = std::fs::remove_dir_all(folder);
        }
        if let Some((admin, name)) = self.postgres.take() {
            // Drop may run inside a runtime, so the async clean-up gets a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(conn) = Database::connect(&admin).await {
                            let _ = conn
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                            let _ = conn.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

impl Store {
    /// The external ids of every email contact, one per row: a message taken in twice
    /// shows twice.
    pub async fn inbound_email_ids(&self) -> crate::error::StoreResult<Vec<String>> {
        self.inbound_external_ids("email").await
    }

    /// The external ids of every inbound contact on `channel`, one per row.
    pub async fn inbound_external_ids(
        &self,
        channel: &str,
    ) -> crate::error::StoreResult<Vec<String>> {
        use crate::entity::contact;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        Ok(contact::Entity::find()
            .filter(contact::Column::Channel.eq(channel))
            .filter(contact::Column::Direction.eq("inbound"))
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|c| c.external_id)
            .collect())
    }
}
