//! The real engine and HTTP server, in-process on 127.0.0.1:0 with a temp database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use partnerops::engine::Engine;
use partnerops::engine::access::Scope;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub struct TestServer {
    pub url: String,
    pub addr: SocketAddr,
    pub engine: Engine,
    pub db: PathBuf,
    /// A token with every scope.
    pub admin: String,
    /// Every request served: method and path.
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with_timeout(partnerops::server::REQUEST_TIMEOUT).await
    }

    /// A server that stops requests running longer than `timeout`.
    pub async fn start_with_timeout(timeout: Duration) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("engine.db");
        let engine = Engine::open(&db).await.unwrap();
        TestServer::serve(engine, db, dir, timeout).await
    }

    pub async fn start_with(engine: Engine, db: PathBuf, dir: tempfile::TempDir) -> TestServer {
        TestServer::serve(engine, db, dir, partnerops::server::REQUEST_TIMEOUT).await
    }

    async fn serve(
        engine: Engine,
        db: PathBuf,
        dir: tempfile::TempDir,
        timeout: Duration,
    ) -> TestServer {
        partnerops::client::install_crypto();
        let admin = engine.create_token(vec![Scope::Admin], None).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let app = partnerops::server::router_with_timeout(engine.clone(), timeout).layer(
            axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    log.lock()
                        .unwrap()
                        .push((req.method().to_string(), req.uri().path().to_owned()));
                    next.run(req)
                },
            ),
        );
        let task = tokio::spawn(partnerops::server::serve(listener, app, async {
            let _ = rx.await;
        }));
        TestServer {
            url: format!("http://{addr}"),
            addr,
            engine,
            db,
            admin,
            requests,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        }
    }

    /// A token with `scopes`; a partner token is bound to the engine's only
    /// program, as `partnerops token create` binds it.
    pub async fn token(&self, scopes: &[&str]) -> String {
        let program = if scopes.iter().any(|s| s.starts_with("partner:")) {
            let programs = self.engine.programs().await.unwrap();
            assert_eq!(programs.len(), 1, "bind partner tokens with token_for");
            Some(programs[0].key.clone())
        } else {
            None
        };
        self.token_for(program.as_deref(), scopes).await
    }

    /// A token with `scopes` that reaches `program` only, when given.
    pub async fn token_for(&self, program: Option<&str>, scopes: &[&str]) -> String {
        self.engine
            .create_token(
                scopes.iter().map(|s| s.parse().unwrap()).collect(),
                program.map(str::to_owned),
            )
            .await
            .unwrap()
    }

    /// Asks the server to stop and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub fn begin_stop(&mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.task.take().unwrap()
    }
}
