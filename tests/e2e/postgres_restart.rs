//! A real PostgreSQL restart under load: `muster serve` on a private cluster of its own
//! (the shared one on :5432 is never touched), with form submissions and landing page
//! reads going on while the cluster stops and starts again.
//!
//! Needs PostgreSQL's server binaries (`initdb`, `pg_ctl`): the newest
//! `/usr/lib/postgresql/*/bin`, or the folder `MUSTER_TEST_PG_BIN` names. Without them the
//! test fails with a message saying so; it never skips.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::support::{browser, cli, intake_form, scratch_dir, start};

/// The cluster's server binaries, newest version first.
fn pg_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("MUSTER_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .flatten()
                .filter_map(|v| {
                    let version: u32 = v.file_name().to_str()?.parse().ok()?;
                    let bin = v.path().join("bin");
                    bin.join("initdb").is_file().then_some((version, bin))
                })
                .max()
        })
        .ok()
        .flatten();
    newest.map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!(
            "this test runs a private PostgreSQL cluster and needs the server binaries \
             (initdb, pg_ctl): none in /usr/lib/postgresql/*/bin. Install PostgreSQL's \
             server package or set MUSTER_TEST_PG_BIN to the folder that holds them."
        )
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A PostgreSQL cluster of the test's own in a temporary folder, on a free port, stopped
/// and removed on drop (also when the test fails). initdb refuses to run as root, so as
/// root the server runs as the `postgres` user.
struct PrivateCluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivateCluster {
    fn create() -> Self {
        let bin = pg_bin_dir();
        let root = scratch_dir();
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let cluster = Self {
            bin,
            root,
            port: free_port(),
            as_postgres: uid == "0",
        };
        if cluster.as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&cluster.root)
                .status();
            assert!(
                chown.is_ok_and(|s| s.success()),
                "running as root, the cluster runs as the `postgres` user, which must exist"
            );
        }
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.root.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs one of the server binaries (as `postgres` when we are root); panics with its
    /// output and the server log when it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let output = command
            .args(args)
            .current_dir(&self.root)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
        assert!(
            output.status.success(),
            "{program} {args:?} failed:\n{}{}\nserver log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
        );
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.root.display()
        );
        let log = self.root.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// A fast shutdown: open transactions are rolled back, every connection is closed.
    fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "fast", "-w", "-t", "60", "stop"],
        );
    }

    /// One column of a query's rows, through psql.
    fn query(&self, sql: &str) -> Vec<String> {
        let output = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres"])
            .args(["-p", &self.port.to_string(), "-X", "-tA", "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(
            output.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The muster process and its folder, removed on drop.
struct Server {
    url: String,
    dir: PathBuf,
    _child: tokio::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const SLUG: &str = "restart";

/// One form submission, as the customer saw it.
struct Submission {
    started: Instant,
    status: u16,
    location: String,
}

async fn submit(client: &reqwest::Client, url: &str, key: &str) -> Submission {
    let started = Instant::now();
    let (status, location) = match client.post(url).form(&intake_form(key)).send().await {
        Ok(response) => (
            response.status().as_u16(),
            response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        ),
        Err(_) => (0, String::new()),
    };
    Submission {
        started,
        status,
        location,
    }
}

/// One client doing `step` again and again, 20 ms apart, until `stop` is set; gives back
/// what every step returned.
fn until_stopped<T, F, Fut>(stop: &Arc<AtomicBool>, step: F) -> JoinHandle<Vec<T>>
where
    T: Send + 'static,
    F: Fn(reqwest::Client, usize) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
{
    let stop = stop.clone();
    tokio::spawn(async move {
        let client = browser();
        let mut results = Vec::new();
        for n in 0.. {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            results.push(step(client.clone(), n).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        results
    })
}

async fn status_of(url: &str) -> u16 {
    browser()
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn wait_for_status(url: &str, status: u16, within: Duration, what: &str) {
    let deadline = Instant::now() + within;
    while status_of(url).await != status {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// PostgreSQL stops (fast shutdown) for a few seconds and starts again while customers
/// submit the form and read the page: the page never fails, readiness reports the outage
/// and recovers by itself, submissions succeed again once it is back, and every
/// acknowledged submission is in the database afterwards.
#[tokio::test]
async fn postgres_restart_under_load_loses_nothing_acknowledged() {
    let cluster = PrivateCluster::create();
    let db_url = cluster.url();
    let dir = scratch_dir();
    let settings = [("MUSTER__INTAKE__MAX_PER_ADDRESS", "1000000")];
    let (child, url) = start(&db_url, &dir, &settings).await;
    let server = Server {
        url,
        dir,
        _child: child,
    };
    let (ok, _, err) = cli(
        &db_url,
        &server.dir,
        &["incident", "open", "--slug", SLUG, "--title", "Restart"],
        &[],
    );
    assert!(ok, "incident open: {err}");
    let page_url = format!("{}/i/{SLUG}", server.url);
    let form_url = format!("{}/i/{SLUG}/form", server.url);
    let ready_url = format!("{}/readyz", server.url);
    wait_for_status(&page_url, 200, Duration::from_secs(10), "the page is up").await;

    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let url = page_url.clone();
            until_stopped(&stop, move |client, _| {
                let url = url.clone();
                async move {
                    let at = Instant::now();
                    let status = client
                        .get(&url)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    (at, status)
                }
            })
        })
        .collect();
    let submitters: Vec<_> = (0..4)
        .map(|worker| {
            let url = form_url.clone();
            until_stopped(&stop, move |client, n| {
                let url = url.clone();
                async move { submit(&client, &url, &format!("{worker}{n:05}")).await }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let down = Instant::now();
    cluster.stop();
    // Answers once the pool gives up on connecting (its acquire timeout, 10 s).
    let readiness_in_outage = status_of(&ready_url).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start();
    let up = Instant::now();
    wait_for_status(
        &ready_url,
        200,
        Duration::from_secs(30),
        "muster is ready again by itself after the restart",
    )
    .await;
    let ready = Instant::now();
    // Load goes on for a while after recovery: from here on every submission succeeds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);

    let mut reads = Vec::new();
    for reader in readers {
        reads.extend(reader.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let mut submissions = Vec::new();
    for submitter in submitters {
        submissions.extend(submitter.await.unwrap_or_else(|e| panic!("{e}")));
    }

    assert_eq!(readiness_in_outage, 503, "readiness reports the outage");
    let failed_reads: Vec<u16> = reads
        .iter()
        .filter(|(_, s)| *s != 200)
        .map(|(_, s)| *s)
        .collect();
    assert!(
        failed_reads.is_empty(),
        "the landing page never fails: {failed_reads:?}"
    );
    let reads_in_outage = reads
        .iter()
        .filter(|(at, _)| *at >= down && *at < up)
        .count();
    assert!(
        reads_in_outage >= 10,
        "the page was read while the database was down ({reads_in_outage} times)"
    );
    let before = submissions
        .iter()
        .filter(|s| s.started < down && s.status == 303)
        .count();
    assert!(before > 0, "submissions succeeded before the restart");
    let after_ready: Vec<u16> = submissions
        .iter()
        .filter(|s| s.started >= ready)
        .map(|s| s.status)
        .collect();
    assert!(
        !after_ready.is_empty() && after_ready.iter().all(|s| *s == 303),
        "every submission succeeds once muster is ready again: {after_ready:?}"
    );
    let acknowledged: Vec<&Submission> = submissions.iter().filter(|s| s.status == 303).collect();
    let stored: std::collections::HashSet<String> = cluster
        .query("SELECT reference FROM cases")
        .into_iter()
        .collect();
    for submission in &acknowledged {
        let reference = submission
            .location
            .strip_prefix("/c/")
            .and_then(|rest| rest.split('?').next())
            .unwrap_or_else(|| panic!("a case link: {}", submission.location));
        assert!(
            stored.contains(reference),
            "{reference} was acknowledged but is not in the database"
        );
        let page = status_of(&format!("{}{}", server.url, submission.location)).await;
        assert_eq!(page, 200, "{} opens after the restart", submission.location);
    }
    eprintln!(
        "{} submissions, {} acknowledged, {} page reads ({reads_in_outage} in the outage); \
         database down {:?}, ready {:?} after the restart",
        submissions.len(),
        acknowledged.len(),
        reads.len(),
        up - down,
        ready - up,
    );
}
