//! A real Dovecot (Debian's `dovecot-imapd`) of the test's own: its configuration, users
//! (passwd-file), maildirs, logs and ports in a temporary folder, started in the foreground
//! with `-c`, never the system service. Plain IMAP and IMAPS (a certificate from a test CA
//! made with `openssl`) on random ports.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_imap::Session;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

pub const USER: &str = "support@example.com";
pub const PASSWORD: &str = "dovecot-test-password";

pub struct Dovecot {
    pub dir: PathBuf,
    /// Plain IMAP (`imap://`, with `allow_plaintext`).
    pub port: u16,
    /// IMAP over TLS, with a certificate for `localhost` signed by `ca_file`.
    pub tls_port: u16,
    pub ca_file: PathBuf,
    child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn run(program: &str, args: &[&str], dir: &Path) {
    let status = std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed");
}

/// A test CA and a certificate for `localhost` signed by it (rustls takes no self-signed
/// end-entity certificate as its own root).
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Muster test CA",
    ]);
    run("openssl", &ca, dir);
    let mut request = vec!["req"];
    request.extend(ec);
    request.extend([
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run("openssl", &request, dir);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .expect("the extension file is written");
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
        dir,
    );
}

fn dovecot_binary() -> &'static str {
    if Path::new("/usr/sbin/dovecot").exists() {
        "/usr/sbin/dovecot"
    } else {
        "dovecot"
    }
}

impl Dovecot {
    pub async fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("muster-dovecot-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("mail")).expect("the folder is made");
        certificates(&dir);
        let (port, tls_port) = (free_port(), free_port());
        // As root, Dovecot runs its processes as its own users and mail as `dovecot`;
        // as anyone else, everything runs as that user.
        let me = std::process::Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let (internal, login, mail_user, chroot) = if me == "root" {
            ("dovecot", "dovenull", "dovecot", "login")
        } else {
            (me.as_str(), me.as_str(), me.as_str(), "")
        };
        if me == "root" {
            run("chown", &["-R", "dovecot:dovecot", "mail"], &dir);
        }
        std::fs::write(
            dir.join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .expect("the passwd file is written");
        let d = dir.display();
        let config = format!(
            r#"
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{d}/mail/%u
mail_fsync = never
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={d}/mail/%u
}}
service imap-login {{
  chroot = {chroot}
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Taken {{
    auto = create
  }}
}}
"#
        );
        std::fs::write(dir.join("dovecot.conf"), config).expect("the config is written");
        let child = Command::new(dovecot_binary())
            .args(["-F", "-c"])
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start dovecot (apt-get install dovecot-imapd): {e}")
            });
        let dovecot = Self {
            ca_file: dir.join("ca.pem"),
            dir,
            port,
            tls_port,
            child,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "dovecot did not start:\n{}",
                dovecot.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        dovecot
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// A signed-in session over plain IMAP, as the test's own client.
    pub async fn session(&self) -> Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("dovecot answers");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("a greeting");
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("the test user signs in")
    }

    /// Puts `messages` into `folder` with IMAP APPEND, in order.
    pub async fn append(&self, folder: &str, messages: &[Vec<u8>]) {
        let mut session = self.session().await;
        for message in messages {
            session
                .append(folder, None, None, message)
                .await
                .expect("dovecot takes the message");
        }
        session.logout().await.ok();
    }

    /// UIDs in `folder` with and without `\Seen`.
    pub async fn seen_and_unseen(&self, folder: &str) -> (usize, usize) {
        let mut session = self.session().await;
        session.select(folder).await.expect("the folder exists");
        let seen = session.uid_search("SEEN").await.expect("search").len();
        let unseen = session.uid_search("UNSEEN").await.expect("search").len();
        session.logout().await.ok();
        (seen, unseen)
    }

    /// How many messages `folder` holds.
    pub async fn count(&self, folder: &str) -> usize {
        let mut session = self.session().await;
        session.select(folder).await.expect("the folder exists");
        let found = session.uid_search("ALL").await.expect("search").len();
        session.logout().await.ok();
        found
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
