//! `spawn_app` for Muster: the real binary on a random port, over a fresh database, with
//! helpers to sign in and to run CLI commands against the same configuration.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use muster_store::testing::{TestDb, TestEngine};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub mod postfix;

/// The binary under test: the one cargo built, unless `MUSTER_TEST_BINARY` names a copy
/// (useful when several checkouts share one target directory and its `debug/muster`).
pub fn binary() -> String {
    std::env::var("MUSTER_TEST_BINARY").unwrap_or_else(|_| env!("CARGO_BIN_EXE_muster").to_owned())
}
pub const MANAGER_EMAIL: &str = "manager@example.com";
pub const AGENT_EMAIL: &str = "agent@example.com";
pub const PASSWORD: &str = "correct horse battery";

/// The timestamp and signature headers of a `POST` of `body` to `target`, signed now. Each
/// call signs anew, as a sender's retry must (docs/inbound.md): its timestamp is later than
/// the last one given, so the same request sent twice within a second is still two
/// signatures.
pub fn inbound_signature(secret: &str, target: &str, body: &[u8]) -> (String, String) {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let clock = time::OffsetDateTime::now_utc().unix_timestamp();
    let previous = LAST
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |last| Some(clock.max(last + 1)),
        )
        .unwrap_or(clock);
    let now = clock.max(previous + 1);
    let line = muster_core::webhook_signature::RequestLine {
        method: "POST",
        target,
    };
    let signature = muster_core::webhook_signature::sign_request(secret, now, line, body);
    (now.to_string(), signature.unwrap_or_default())
}

/// A folder of the test's own: working directory, outbox and logs.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("muster-e2e-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

pub struct TestApp {
    pub url: String,
    pub db: TestDb,
    pub dir: PathBuf,
    child: Option<Child>,
}

/// The inbound webhook secret every test app is configured with.
pub const INBOUND_SECRET: &str = "test-inbound-secret-0123456789abcdef";

/// reqwest is built with rustls and no default crypto provider (see the workspace
/// Cargo.toml): a test process must pick one before it builds a client. Every test
/// spawns an app first, which does it.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client that keeps cookies and shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    install_tls_provider();
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("the client builds")
}

impl TestApp {
    pub async fn spawn(engine: TestEngine) -> Self {
        Self::spawn_with(engine, &[]).await
    }

    /// Spawns with extra `MUSTER__…` settings.
    pub async fn spawn_with(engine: TestEngine, extra_env: &[(&str, &str)]) -> Self {
        install_tls_provider();
        let db = TestDb::create(engine).await;
        let dir = scratch_dir();
        let (child, url) = start(&db.url, &dir, extra_env).await;
        Self {
            url,
            db,
            dir,
            child: Some(child),
        }
    }

    /// Hands over the running server process, e.g. to kill it.
    pub fn take_child(&mut self) -> Child {
        self.child
            .take()
            .unwrap_or_else(|| panic!("the server is not running"))
    }

    /// Starts the server again on the same database and folder (after a kill).
    pub async fn start_again(&mut self, extra_env: &[(&str, &str)]) {
        let (child, url) = start(&self.db.url, &self.dir, extra_env).await;
        self.child = Some(child);
        self.url = url;
    }

    /// Stops the server (SIGTERM) and starts it again on the same database and folder.
    pub async fn restart_with(&mut self, extra_env: &[(&str, &str)]) {
        assert!(self.terminate().await, "muster stops cleanly");
        let (child, url) = start(&self.db.url, &self.dir, extra_env).await;
        self.child = Some(child);
        self.url = url;
    }

    /// The environment every process of this app runs with.
    pub fn env(db_url: &str, dir: &std::path::Path) -> Vec<(String, String)> {
        vec![
            ("MUSTER__DATABASE__URL".into(), db_url.to_owned()),
            ("MUSTER__SERVER__BIND".into(), "127.0.0.1:0".into()),
            ("MUSTER__SERVER__WORKERS".into(), "2".into()),
            ("MUSTER__SERVER__SHUTDOWN_TIMEOUT_SECS".into(), "10".into()),
            (
                "MUSTER__MAIL__URL".into(),
                format!("file://{}/outbox", dir.display()),
            ),
            ("MUSTER__LOG__LEVEL".into(), "info".into()),
            ("MUSTER__INBOUND__SECRET".into(), INBOUND_SECRET.into()),
        ]
    }

    /// Starts the app again on the same database and folder (after `terminate` or `kill`).
    pub async fn restart(&mut self, extra_env: &[(&str, &str)]) {
        let (child, url) = start(&self.db.url, &self.dir, extra_env).await;
        self.child = Some(child);
        self.url = url;
    }

    /// SIGKILL: no clean-up of any kind, like a crash or an OOM kill.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, "KILL");
            let _ = child.wait().await;
        }
    }

    /// Another replica over the same database.
    pub async fn replica(&self) -> (Child, String) {
        self.replica_with(&[]).await
    }

    /// Another replica over the same database, with extra `MUSTER__…` settings of its own.
    pub async fn replica_with(&self, extra_env: &[(&str, &str)]) -> (Child, String) {
        start(&self.db.url, &self.dir, extra_env).await
    }

    /// Runs a CLI command against this app's database; returns (success, stdout, stderr).
    pub fn muster(&self, args: &[&str], extra_env: &[(&str, &str)]) -> (bool, String, String) {
        cli(&self.db.url, &self.dir, args, extra_env)
    }

    pub fn add_user(&self, email: &str, role: &str) {
        self.add_user_in(email, role, "");
    }

    /// A user working for `teams` (comma-separated team keys).
    pub fn add_user_in(&self, email: &str, role: &str, teams: &str) {
        let mut args = vec![
            "user", "add", "--email", email, "--name", role, "--role", role,
        ];
        if !teams.is_empty() {
            args.extend(["--teams", teams]);
        }
        let (ok, _, err) = self.muster(&args, &[("MUSTER_PASSWORD", PASSWORD)]);
        assert!(ok, "user add failed: {err}");
    }

    /// An API token for a new user of `role`.
    pub fn token(&self, email: &str, role: &str) -> String {
        self.add_user(email, role);
        self.token_for(email)
    }

    /// An API token for an existing user.
    pub fn token_for(&self, email: &str) -> String {
        let (ok, out, err) =
            self.muster(&["token", "create", "--user", email, "--name", "test"], &[]);
        assert!(ok, "token create failed: {err}");
        out.trim().to_owned()
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A `POST` of `body` to the inbound webhook at `target` (path and query), signed now
    /// with `INBOUND_SECRET` as docs/inbound.md says; the caller adds its content type.
    pub fn inbound(&self, target: &str, body: impl Into<Vec<u8>>) -> reqwest::RequestBuilder {
        let body = body.into();
        let (timestamp, signature) = inbound_signature(INBOUND_SECRET, target, &body);
        reqwest::Client::new()
            .post(self.at(target))
            .header("X-Muster-Timestamp", timestamp)
            .header("X-Muster-Signature", signature)
            .body(body)
    }

    /// Signs in through the login form and returns the signed-in client.
    pub async fn login(&self, email: &str) -> reqwest::Client {
        let client = browser();
        let form = client
            .get(self.at("/console/login"))
            .send()
            .await
            .expect("the request reaches the server");
        let html = form.text().await.unwrap_or_default();
        let csrf = csrf_of(&html);
        let response = client
            .post(self.at("/console/login"))
            .form(&[("email", email), ("password", PASSWORD), ("csrf", &csrf)])
            .send()
            .await
            .expect("the request reaches the server");
        assert_eq!(
            response.status(),
            303,
            "login failed: {:?}",
            response.text().await
        );
        client
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub async fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        signal(&child, "TERM");
        match tokio::time::timeout(Duration::from_secs(20), child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = child.kill().await;
                false
            }
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join("muster.log")).unwrap_or_default()
    }
}

/// Runs a CLI command over `db_url` with the test environment, in `dir`; returns
/// (success, stdout, stderr).
pub fn cli(
    db_url: &str,
    dir: &std::path::Path,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut command = std::process::Command::new(binary());
    command
        .args(args)
        .current_dir(dir)
        .envs(TestApp::env(db_url, dir));
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let output = command.output().expect("the command runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub fn signal(child: &Child, name: &str) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status();
    }
}

/// Starts `muster serve` and waits for the line that gives its address.
pub async fn start(
    db_url: &str,
    dir: &std::path::Path,
    extra_env: &[(&str, &str)],
) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("muster.log"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .current_dir(dir)
        .envs(TestApp::env(db_url, dir))
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    for (key, value) in extra_env {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary()));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("muster listening on ") {
                return Some(url.to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten();
    let Some(url) = url else {
        let logs = std::fs::read_to_string(dir.join("muster.log")).unwrap_or_default();
        panic!("muster did not start:\n{logs}");
    };
    // Keep draining stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// A valid intake form for customer `key` (unique per submission: it also makes the
/// idempotency key), a refund departing in four days.
pub fn intake_form(key: &str) -> [(&'static str, String); 7] {
    let date = time::OffsetDateTime::now_utc().date() + time::Duration::days(4);
    [
        ("name", format!("Customer {key}")),
        ("email", format!("c{key}@example.com")),
        ("booking_ref", format!("BK{key}")),
        ("departure_date", date.to_string()),
        ("request_type", "refund".to_owned()),
        ("message", "help".to_owned()),
        ("idempotency_key", format!("{key:0>64}")),
    ]
}

/// The value of the first `name="csrf"` hidden field in a page.
/// The body of a GET of `url` by `client` (a browser with its cookies, or a plain client).
pub async fn text_of(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("the request reaches the server")
        .text()
        .await
        .unwrap_or_default()
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    html.split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field in:\n{html}"))
        .to_owned()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real SMTP server (aiosmtpd, `tests/smtp/recorder.py`) that writes what it receives.
pub struct SmtpRecorder {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

impl SmtpRecorder {
    pub async fn start() -> Self {
        let dir = scratch_dir();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/smtp/recorder.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.join("received"))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start the SMTP recorder (python3 with aiosmtpd): {e}")
            });
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(
            matches!(ready, Ok(Ok(Some(ref line))) if line == "ready"),
            "the SMTP recorder did not start (is python3-aiosmtpd installed?)"
        );
        Self { port, dir, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.dir.join("received"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits until at least `count` messages arrived, up to `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count || std::time::Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for SmtpRecorder {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
