//! A PostgreSQL database of its own for each test, made on the server that
//! `PARTNEROPS_TEST_POSTGRES` names (default: the one every machine of the
//! project runs on 127.0.0.1:5432), and dropped when the test is done.
//!
//! With `CI` set, a server that does not answer fails the test; elsewhere
//! the test says so on stderr and skips.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection;

pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server's URL (any database on it).
pub fn server_url() -> String {
    std::env::var("PARTNEROPS_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_URL.to_owned())
}

/// A database made for one test; dropped (with its connections) on drop.
pub struct TestDb {
    pub url: String,
    name: String,
    admin: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty database, or `None` (outside CI) when no server answers.
pub async fn database() -> Option<TestDb> {
    let admin = server_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            if std::env::var_os("CI").is_some() {
                panic!("PostgreSQL at {admin} does not answer (CI is set, so this fails): {e}");
            }
            eprintln!(
                "skipped: PostgreSQL at {admin} does not answer ({e}); set PARTNEROPS_TEST_POSTGRES"
            );
            return None;
        }
    };
    let name = format!(
        "partnerops_t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
    conn.close().await.ok();
    let mut url = url::Url::parse(&admin).expect("PARTNEROPS_TEST_POSTGRES is a URL");
    url.set_path(&format!("/{name}"));
    Some(TestDb {
        url: url.to_string(),
        name,
        admin,
    })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Its own thread and runtime: drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}
