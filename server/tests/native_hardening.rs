//! Regression tests for the native listener's defences, each through the real listener.
//!
//! - With access keys configured, an anonymous native client could list every stream, read
//!   their data, write records and delete a stream: the port ignored authentication. Now the
//!   handshake is a challenge–response with an HMAC over a per-connection nonce, and every
//!   operation is refused before it succeeds.
//! - 1,024 silent or Hello-only connections locked out every new native client, and frames of
//!   up to 64 MiB were buffered before `Hello`. Now a connection has a handshake deadline, a
//!   small frame limit until it is authenticated, and an idle timeout.
//! - One CreateStream of 100,000 shards was accepted and stalled the server; DescribeLimits
//!   said 500 but 600 shards were accepted. Now the open shard budget is enforced at once.
//! - The native protocol accepted stream names Kinesis forbids (`"a\n<b>"`).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use client::{Client, ClientConfig, ClientError, Credentials};
use common::wire::{Connection, error_code};
use common::{Server, WAIT, bounded};
use protocol::native::auth;
use protocol::native::{
    Authenticate, CreateStream, DeleteStream, ErrorCode, Fetch, Hello, ListStreams, Produce,
    ProduceRecord, Request, Response, StartPosition, Target,
};
use tokio::io::AsyncWriteExt;

const KEYS: &str = "[auth.access_keys]\nAKIDNATIVE = \"native-secret\"\n";

fn credentials(secret: &str) -> ClientConfig {
    ClientConfig {
        credentials: Some(Credentials {
            access_key_id: "AKIDNATIVE".into(),
            secret_access_key: secret.into(),
        }),
        ..ClientConfig::default()
    }
}

/// A version-2 `Hello` on a raw connection; returns the server's nonce, if it sent one.
async fn hello(connection: &mut Connection, version_max: u16) -> Option<[u8; 32]> {
    let hello = Hello {
        protocol_version_min: 1,
        protocol_version_max: version_max,
        client_name: "raw".into(),
    };
    match connection.call(Request::Hello(hello)).await {
        Response::HelloOk(ok) => ok.auth_nonce,
        other => panic!("handshake failed: {other:?}"),
    }
}

fn every_operation() -> Vec<Request> {
    vec![
        Request::ListStreams(ListStreams {}),
        Request::CreateStream(CreateStream {
            name: "intruder".into(),
            shard_count: 1,
            retention_hours: 24,
        }),
        Request::DeleteStream(DeleteStream {
            name: "secret".into(),
        }),
        Request::Produce(Produce {
            stream: "secret".into(),
            records: vec![ProduceRecord {
                target: Target::Shard(0),
                data: Bytes::from_static(b"forged"),
            }],
        }),
        Request::Fetch(Fetch {
            stream: "secret".into(),
            shard: 0,
            start: StartPosition::TrimHorizon,
            max_records: 10,
            max_bytes: 1024,
            max_wait_ms: 0,
        }),
    ]
}

#[tokio::test]
async fn with_keys_configured_every_operation_is_refused_until_the_client_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), KEYS);
    let owner = bounded(Client::connect_with(
        server.native,
        credentials("native-secret"),
    ))
    .await
    .unwrap();
    bounded(owner.create_stream("secret", 1, 24)).await.unwrap();

    // Before Hello, after a version-1 Hello (which cannot authenticate) and after a version-2
    // Hello without Authenticate: refused, and nothing changed.
    let mut raw = Connection::open(server.native).await;
    for request in every_operation().into_iter().take(2) {
        assert_eq!(
            error_code(&raw.call(request).await),
            Some(ErrorCode::HandshakeRequired)
        );
    }
    for version in [1, 2] {
        let mut raw = Connection::open(server.native).await;
        let nonce = hello(&mut raw, version).await;
        assert_eq!(
            nonce.is_some(),
            version == 2,
            "a challenge from version 2 on"
        );
        for request in every_operation() {
            assert_eq!(
                error_code(&raw.call(request).await),
                Some(ErrorCode::AuthenticationRequired)
            );
        }
    }

    // A wrong proof, and a proof for another connection's nonce, fail and close the connection.
    let mut raw = Connection::open(server.native).await;
    let nonce = hello(&mut raw, 2).await.unwrap();
    let wrong = Authenticate {
        access_key_id: "AKIDNATIVE".into(),
        proof: auth::proof("guessed", &nonce, "AKIDNATIVE"),
    };
    assert_eq!(
        error_code(&raw.call(Request::Authenticate(wrong)).await),
        Some(ErrorCode::AuthenticationFailed)
    );
    assert!(raw.receive().await.is_none(), "closed after a failed proof");
    let mut first = Connection::open(server.native).await;
    let first_nonce = hello(&mut first, 2).await.unwrap();
    let mut second = Connection::open(server.native).await;
    let second_nonce = hello(&mut second, 2).await.unwrap();
    assert_ne!(first_nonce, second_nonce, "a fresh nonce per connection");
    let replayed = Authenticate {
        access_key_id: "AKIDNATIVE".into(),
        proof: auth::proof("native-secret", &first_nonce, "AKIDNATIVE"),
    };
    assert_eq!(
        error_code(&second.call(Request::Authenticate(replayed.clone())).await),
        Some(ErrorCode::AuthenticationFailed)
    );
    // The same proof on its own connection works.
    assert_eq!(
        first.call(Request::Authenticate(replayed)).await,
        Response::AuthenticateOk
    );
    assert!(matches!(
        first.call(Request::ListStreams(ListStreams {})).await,
        Response::StreamList(list) if list.names == ["secret"]
    ));

    // The client with no key, or the wrong one, gets a clear error.
    let anonymous = ClientConfig {
        credentials: None,
        ..ClientConfig::default()
    };
    let refused = bounded(Client::connect_with(server.native, anonymous)).await;
    assert!(
        matches!(
            &refused,
            Err(ClientError::Server {
                code: Some(ErrorCode::AuthenticationRequired),
                ..
            })
        ),
        "{refused:?}"
    );
    let refused = bounded(Client::connect_with(server.native, credentials("wrong"))).await;
    assert!(
        matches!(
            &refused,
            Err(ClientError::Server {
                code: Some(ErrorCode::AuthenticationFailed),
                ..
            })
        ),
        "{refused:?}"
    );

    // Nothing an unauthenticated connection sent was applied.
    let description = bounded(owner.describe_stream("secret")).await.unwrap();
    assert_eq!(description.shards.len(), 1);
    let fetched = bounded(owner.fetch(Fetch {
        stream: "secret".into(),
        shard: 0,
        start: StartPosition::TrimHorizon,
        max_records: 100,
        max_bytes: 1024,
        max_wait_ms: 0,
    }))
    .await
    .unwrap();
    assert!(fetched.records.is_empty(), "no forged record");
    assert_eq!(bounded(owner.list_streams()).await.unwrap(), ["secret"]);
    server.stop();
}

#[test]
fn the_cli_authenticates_with_the_keys_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), KEYS);
    let cli = |secret: Option<&str>, args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_strata"));
        command
            .args(args)
            .arg("--addr")
            .arg(server.native.to_string())
            .env_remove("STRATA_ACCESS_KEY_ID")
            .env_remove("STRATA_SECRET_ACCESS_KEY")
            .env_remove("STRATA_CONFIG");
        if let Some(secret) = secret {
            command
                .env("STRATA_ACCESS_KEY_ID", "AKIDNATIVE")
                .env("STRATA_SECRET_ACCESS_KEY", secret);
        }
        command.output().unwrap()
    };
    let created = cli(Some("native-secret"), &["stream", "create", "clicks"]);
    assert!(created.status.success(), "{created:?}");
    let listed = cli(Some("native-secret"), &["stream", "list"]);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "clicks");
    for secret in [None, Some("wrong")] {
        let refused = cli(secret, &["stream", "list"]);
        assert!(!refused.status.success(), "{refused:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains("uthentication"), "{stderr}");
    }
    // The server's own config file is a source of keys too.
    let config = dir.path().with_extension("toml");
    let from_config = cli(
        None,
        &["stream", "list", "--config", config.to_str().unwrap()],
    );
    assert!(from_config.status.success(), "{from_config:?}");
    server.stop();
}

#[tokio::test]
async fn silent_connections_are_closed_and_cannot_lock_out_new_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        "[server]\nnative_connections_max = 64\nnative_handshake_timeout_ms = 500\n\
         native_idle_timeout_secs = 1\n",
    );
    // More silent connections than the server serves at once, and Hello-only ones.
    let mut silent = Vec::new();
    for _ in 0..100 {
        silent.push(Connection::open(server.native).await);
    }
    for _ in 0..20 {
        let mut connection = Connection::open(server.native).await;
        hello(&mut connection, 2).await;
        silent.push(connection);
    }
    // A real client still gets in, once the deadline has closed the silent ones.
    let started = Instant::now();
    let client = bounded(Client::connect(server.native)).await.unwrap();
    bounded(client.list_streams()).await.unwrap();
    assert!(started.elapsed() < WAIT);
    // Every silent connection was closed by the server: by the handshake deadline, or, once
    // greeted, by the idle timeout.
    for connection in &mut silent {
        let closed = tokio::time::timeout(WAIT, async {
            while connection.receive().await.is_some() {}
        })
        .await;
        assert!(closed.is_ok(), "a silent connection was closed");
    }
    server.stop();
}

#[tokio::test]
async fn a_large_frame_before_the_handshake_is_refused_from_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::open(server.native).await;
    // A Hello frame claiming 1 MiB: a size any authenticated request may have, but not this.
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&(1u32 << 20).to_le_bytes());
    frame.extend_from_slice(&[0, 1, 0, 9, 0, 0, 0]);
    connection.socket.write_all(&frame).await.unwrap();
    let (id, response) = connection.receive().await.unwrap();
    assert_eq!(
        (id, error_code(&response)),
        (0, Some(ErrorCode::FrameTooLarge))
    );
    assert!(connection.receive().await.is_none(), "then closed");
    server.stop();
}

#[tokio::test]
async fn an_idle_connection_is_closed_but_not_while_its_long_poll_is_waiting() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), "[server]\nnative_idle_timeout_secs = 1\n");
    let mut busy = Connection::greeted(server.native).await;
    common::wire::create(&mut busy, "s", 1).await;
    let mut idle = Connection::greeted(server.native).await;
    // A 2.5 s long poll outlives the 1 s idle timeout: its connection stays open.
    let started = Instant::now();
    let fetched = busy.fetch("s", 0, StartPosition::TrimHorizon, 2500).await;
    assert!(fetched.records.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(2000));
    assert!(matches!(
        busy.call(Request::ListStreams(ListStreams {})).await,
        Response::StreamList(_)
    ));
    // The other one said nothing for longer than the timeout: closed, with a reason.
    let (id, response) = idle.receive().await.expect("a goodbye");
    assert_eq!(
        (id, error_code(&response)),
        (0, Some(ErrorCode::Unavailable))
    );
    assert!(idle.receive().await.is_none());
    server.stop();
}

#[tokio::test]
async fn the_open_shard_budget_is_enforced_at_once_for_native_and_kinesis_streams() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), "[kinesis]\nshards_max = 10\n");
    let mut connection = Connection::greeted(server.native).await;
    let create = |name: &str, shard_count| {
        Request::CreateStream(CreateStream {
            name: name.into(),
            shard_count,
            retention_hours: 24,
        })
    };
    let started = Instant::now();
    assert_eq!(
        error_code(&connection.call(create("huge", 100_000)).await),
        Some(ErrorCode::LimitExceeded)
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused without doing the work"
    );
    assert_eq!(
        connection.call(create("a", 8)).await,
        Response::CreateStreamOk
    );
    assert_eq!(
        error_code(&connection.call(create("b", 3)).await),
        Some(ErrorCode::LimitExceeded)
    );
    assert_eq!(
        connection.call(create("b", 2)).await,
        Response::CreateStreamOk
    );
    let split = Request::SplitShard(protocol::native::SplitShard {
        stream: "b".into(),
        shard: 0,
        new_starting_hash_key: 1 << 64,
    });
    assert_eq!(
        error_code(&connection.call(split).await),
        Some(ErrorCode::LimitExceeded),
        "a split opens one more shard"
    );
    // Nothing of the refused creates is left behind.
    assert!(matches!(
        connection.call(Request::ListStreams(ListStreams {})).await,
        Response::StreamList(list) if list.names == ["a", "b"]
    ));
    server.stop();
}

#[tokio::test]
async fn native_stream_names_follow_the_kinesis_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    for name in ["a\n<b>", "with space", "firehose:x", "é"] {
        let request = Request::CreateStream(CreateStream {
            name: name.into(),
            shard_count: 1,
            retention_hours: 24,
        });
        assert_eq!(
            error_code(&connection.call(request).await),
            Some(ErrorCode::InvalidArgument),
            "{name:?}"
        );
    }
    common::wire::create(&mut connection, "Ok_name-1.2", 1).await;
    server.stop();
}

#[test]
fn serve_refuses_a_non_loopback_address_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    // The check runs before anything binds: nothing listens beyond loopback here.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["serve", "--native", "0.0.0.0:0", "--http", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("STRATA_ACCESS_KEY_ID")
        .env_remove("STRATA_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("allow_anonymous"), "{stderr}");
}

/// A self-signed certificate for `127.0.0.1`, written beside `dir`: (cert file, key file).
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = dir.with_extension("cert.pem");
    let key = dir.with_extension("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

#[tokio::test]
async fn with_tls_configured_the_native_port_speaks_tls_and_still_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let config = format!(
        "[server]\ntls_cert_file = {cert:?}\ntls_key_file = {key:?}\n\
         native_handshake_timeout_ms = 1000\n{KEYS}"
    );
    let server = Server::start_with(dir.path(), &config);
    let tls = client::ClientTls::new(&cert, "127.0.0.1").unwrap();
    let config = ClientConfig {
        tls: Some(tls.clone()),
        ..credentials("native-secret")
    };
    let client = bounded(Client::connect_with(server.native, config))
        .await
        .unwrap();
    bounded(client.create_stream("over-tls", 1, 24))
        .await
        .unwrap();
    assert_eq!(bounded(client.list_streams()).await.unwrap(), ["over-tls"]);

    // TLS does not replace authentication.
    let anonymous = ClientConfig {
        tls: Some(tls),
        credentials: None,
        ..ClientConfig::default()
    };
    let refused = bounded(Client::connect_with(server.native, anonymous)).await;
    assert!(refused.is_err(), "{refused:?}");

    // A plain-TCP client gets nothing it can read and is closed by the handshake deadline.
    let plain = ClientConfig {
        connect_timeout: Duration::from_secs(5),
        ..credentials("native-secret")
    };
    let started = Instant::now();
    assert!(
        bounded(Client::connect_with(server.native, plain))
            .await
            .is_err()
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // The CLI speaks TLS with the CA file.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["stream", "list", "--addr"])
        .arg(server.native.to_string())
        .arg("--tls-ca")
        .arg(&cert)
        .env("STRATA_ACCESS_KEY_ID", "AKIDNATIVE")
        .env("STRATA_SECRET_ACCESS_KEY", "native-secret")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "over-tls");
    server.stop();
}

/// 1,050 idle connections under a 1,024-descriptor limit made a segment file fail to open
/// (EMFILE), which poisoned its shard. Now each listener's connection limit is fitted to its
/// share of the descriptors, so the log always has its own.
#[tokio::test]
async fn twelve_hundred_silent_connections_under_1024_descriptors_starve_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Few files open at once: writing to 64 shards reopens most of their segment files.
    let server = Server::start_limited(dir.path(), "[storage]\nopen_files_max = 16\n", Some(1024));
    let client = bounded(Client::connect(server.native)).await.unwrap();
    bounded(client.create_stream("busy", 64, 24)).await.unwrap();
    let mut silent = Vec::new();
    let mut failures = 0;
    while silent.len() < 1200 && failures < 3 {
        let connect = tokio::net::TcpStream::connect(server.native);
        match tokio::time::timeout(Duration::from_secs(2), connect).await {
            Ok(Ok(socket)) => {
                silent.push(socket);
                failures = 0;
            }
            // The listen backlog is full: the kernel stops completing handshakes.
            _ => failures += 1,
        }
    }
    // More than the native listener serves at once under this limit (352): every slot is
    // taken, and the rest wait in the backlog.
    assert!(silent.len() > 352, "{} connections opened", silent.len());
    // While they are all still open (their handshake deadline is 10 s away), every shard takes
    // records at once: no segment file waits or fails for want of a descriptor.
    let started = Instant::now();
    for shard in 0..64 {
        let produce = Produce {
            stream: "busy".into(),
            records: vec![ProduceRecord {
                target: Target::Shard(shard),
                data: Bytes::from_static(b"still served"),
            }],
        };
        let response = bounded(client.call(Request::Produce(produce)))
            .await
            .unwrap();
        assert!(matches!(response, Response::ProduceOk(_)), "{response:?}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "produced in {:?}",
        started.elapsed()
    );
    drop(silent);
    server.stop();
}

/// About 500 streams used to make a restart impossible under the common soft limit of 1,024
/// descriptors: every shard's segments held theirs.
#[tokio::test]
async fn two_thousand_streams_under_1024_descriptors_are_served_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[kinesis]\nshards_max = 2000\n[storage]\nsegment_allocate_step_bytes = 65536\n";
    let server = Server::start_limited(dir.path(), config, Some(1024));
    let client = bounded(Client::connect(server.native)).await.unwrap();
    let mut creating = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let client = client.clone();
        creating.spawn(async move {
            for i in (worker..2000).step_by(16) {
                client.create_stream(&format!("s{i}"), 1, 24).await.unwrap();
                let produce = Produce {
                    stream: format!("s{i}"),
                    records: vec![ProduceRecord {
                        target: Target::Shard(0),
                        data: Bytes::from(format!("record of s{i}")),
                    }],
                };
                let response = client.call(Request::Produce(produce)).await.unwrap();
                assert!(matches!(response, Response::ProduceOk(_)), "{response:?}");
            }
        });
    }
    tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(done) = creating.join_next().await {
            done.unwrap();
        }
    })
    .await
    .expect("2,000 streams created within two minutes");
    drop(client);
    server.stop();

    let started = Instant::now();
    let server = Server::start_limited(dir.path(), config, Some(1024));
    let reopened = started.elapsed();
    let client = bounded(Client::connect(server.native)).await.unwrap();
    assert_eq!(bounded(client.list_streams()).await.unwrap().len(), 2000);
    for i in [0, 999, 1999] {
        let fetched = bounded(client.fetch(Fetch {
            stream: format!("s{i}"),
            shard: 0,
            start: StartPosition::TrimHorizon,
            max_records: 10,
            max_bytes: 1024,
            max_wait_ms: 0,
        }))
        .await
        .unwrap();
        assert_eq!(fetched.records.len(), 1, "s{i}");
        assert_eq!(
            fetched.records[0].data,
            format!("record of s{i}").as_bytes()
        );
    }
    assert!(reopened < WAIT, "restarted in {reopened:?}");
    server.stop();
}
