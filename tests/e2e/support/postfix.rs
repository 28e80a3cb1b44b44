//! A private Postfix instance (Debian's, run from a temporary folder on its own port), for
//! the tests that need a real mail server: it relays to a port of the test's choosing and
//! bounces for an unknown local user with real DSNs.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::scratch_dir;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Postfix instance of the test's own: it takes mail on `port`, refuses `refused.test`
/// outright (554), delivers `customers.test` locally (where no user exists, so it bounces
/// later) and relays everything else, its DSNs included, to `relay_port`. Stopped when
/// dropped.
pub struct Postfix {
    pub port: u16,
    pub dir: PathBuf,
}

impl Postfix {
    pub fn start(relay_port: u16) -> Self {
        Self::start_with(relay_port, "")
    }

    /// [`Postfix::start`] with `extra` lines at the end of main.cf (a later line wins).
    pub fn start_with(relay_port: u16, extra: &str) -> Self {
        let binary = "/usr/sbin/postfix";
        assert!(
            std::path::Path::new(binary).exists(),
            "Postfix is needed for the bounce tests: apt-get install postfix (tests/run does)"
        );
        let dir = scratch_dir();
        let port = free_port();
        for sub in ["etc", "spool", "data"] {
            std::fs::create_dir_all(dir.join(sub)).expect("a folder");
        }
        for file in ["dynamicmaps.cf", "postfix-files"] {
            std::fs::copy(format!("/etc/postfix/{file}"), dir.join("etc").join(file))
                .expect("Debian's Postfix files");
        }
        let owned = Command::new("chown")
            .args(["postfix"])
            .arg(dir.join("data"))
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            owned,
            "the Postfix data folder must belong to postfix (run as root)"
        );
        let d = dir.display();
        let main = format!(
            "compatibility_level = 3.6\nqueue_directory = {d}/spool\ndata_directory = {d}/data\n\
             meta_directory = {d}/etc\nmail_owner = postfix\nsetgid_group = postdrop\n\
             myhostname = mx.muster.test\nmydomain = muster.test\nmydestination = customers.test\n\
             inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\nmynetworks = 127.0.0.0/8\n\
             local_recipient_maps =\nalias_maps =\nalias_database =\n\
             smtpd_recipient_restrictions = check_recipient_access inline:{{ {{ refused.test = REJECT no such mailbox }} }}, permit_mynetworks, reject_unauth_destination\n\
             relayhost = [127.0.0.1]:{relay_port}\nsmtp_tls_security_level = none\n\
             maillog_file = {d}/maillog\nmaillog_file_prefixes = /tmp, {d}\n\
             queue_run_delay = 1s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n\
             smtputf8_enable = no\nbiff = no\n{extra}"
        );
        std::fs::write(dir.join("etc/main.cf"), main).expect("main.cf");
        let services = [
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "local unix - n n - - local",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            // The TLS client's source of randomness, for a relay over STARTTLS.
            "tlsmgr unix - - n 1000? 1 tlsmgr",
            "postlog unix-dgram n - n - 1 postlogd",
        ];
        let master = format!(
            "127.0.0.1:{port} inet n - n - - smtpd\n{}\n",
            services.join("\n")
        );
        std::fs::write(dir.join("etc/master.cf"), master).expect("master.cf");
        let started = Command::new(binary)
            .arg("-c")
            .arg(dir.join("etc"))
            .arg("start")
            .output()
            .expect("postfix runs");
        let postfix = Self { port, dir };
        assert!(
            started.status.success(),
            "postfix start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            postfix.log()
        );
        postfix
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("maillog")).unwrap_or_default()
    }

    /// Waits until Postfix answers on its port.
    pub async fn ready(&self) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Postfix did not listen on {}: {}", self.port, self.log());
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("/usr/sbin/postfix")
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Postfix {
    /// Messages still in the queue (waiting to be relayed or retried).
    pub fn queued(&self) -> usize {
        let listed = Command::new("/usr/sbin/postqueue")
            .arg("-c")
            .arg(self.dir.join("etc"))
            .arg("-j")
            .output()
            .expect("postqueue runs");
        String::from_utf8_lossy(&listed.stdout)
            .lines()
            .filter(|line| line.starts_with('{'))
            .count()
    }
}
