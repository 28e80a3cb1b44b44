//! The providers' stand-in (`tests/providers/standin.py`) as a test drives it: started on a
//! port of its own, its record of sends read back, and the providers' inbound side played
//! through it (it signs each message as the provider would).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const TWILIO_SID: &str = "AC00000000000000000000000000000001";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";
pub const TWILIO_FROM: &str = "+4759440000";
pub const GRAPH_TOKEN: &str = "graph-access-token";
pub const GRAPH_SECRET: &str = "graph-app-secret";
pub const GRAPH_PHONE_ID: &str = "106540352242922";
pub const TELEGRAM_TOKEN: &str = "123456:telegram-bot-token";
pub const TELEGRAM_SECRET: &str = "telegram-secret-token";
pub const VERIFY_TOKEN: &str = "whatsapp-verify-token";

pub struct Standin {
    pub url: String,
    log: PathBuf,
    _child: Child,
}

impl Standin {
    /// Starts the stand-in with extra arguments (`--hold-when`, `--whatsapp-webhook`, …).
    pub async fn start(dir: &std::path::Path, args: &[&str]) -> Self {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/providers/standin.py"
        );
        let log = dir.join("provider-sends.jsonl");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--log")
            .arg(&log)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs the stand-in");
        let stdout = child.stdout.take().expect("the stand-in's stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the stand-in starts")
            .expect("the stand-in prints its address")
            .and_then(|line| {
                line.strip_prefix("standin listening on ")
                    .map(str::to_owned)
            })
            .expect("the stand-in's address line");
        Self {
            url,
            log,
            _child: child,
        }
    }

    /// Every request made to a provider's endpoint so far.
    pub fn sends(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The sends to `provider` whose text contains `text`.
    pub fn sends_of(&self, provider: &str, text: &str) -> Vec<Value> {
        self.sends()
            .into_iter()
            .filter(|s| {
                s["provider"] == provider && s["body"].as_str().is_some_and(|b| b.contains(text))
            })
            .collect()
    }

    /// Waits until `count` sends to `provider` contain `text`; returns them all.
    pub async fn wait_for(&self, provider: &str, text: &str, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let sends = self.sends_of(provider, text);
            if sends.len() >= count || started.elapsed() > Duration::from_secs(20) {
                return sends;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Has the stand-in deliver a customer's message to `url` as `provider` would (signed
    /// with `sign_with` instead of the right secret when given). Returns Muster's status,
    /// its body, and what was sent (body and headers) for a replay.
    pub async fn inbound(&self, provider: &str, url: &str, message: Value) -> Value {
        let mut request = json!({ "url": url });
        if let (Some(target), Value::Object(fields)) = (request.as_object_mut(), message) {
            target.extend(fields);
        }
        reqwest::Client::new()
            .post(format!("{}/_standin/{provider}/inbound", self.url))
            .json(&request)
            .send()
            .await
            .expect("the stand-in answers")
            .json()
            .await
            .expect("the stand-in answers JSON")
    }
}

/// A port nobody listens on now, for a Muster whose public address must be known before
/// it starts (providers sign the address they call).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
