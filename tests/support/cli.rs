//! The `partnerops` binary as a user runs it, against the embedded engine or a
//! real server on loopback, in a temporary working directory.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

use super::server::TestServer;

/// Where the commands send their requests.
#[derive(Clone)]
pub enum Engine {
    Embedded(PathBuf),
    Http { url: String, token: String },
}

pub struct Session {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

impl Session {
    pub fn embedded() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("state/engine.db");
        Session {
            engine: Engine::Embedded(db),
            dir,
        }
    }

    pub fn http(server: &TestServer) -> Session {
        Session {
            engine: Engine::Http {
                url: server.url.clone(),
                token: server.admin.clone(),
            },
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A copy of an example config in the session's directory.
    pub fn config(&self, example: &str) -> PathBuf {
        let to = self.path("config");
        copy_dir(Path::new(example), &to);
        to
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(&[], args)
    }

    /// Runs with extra environment variables, set after the defaults.
    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = Command::cargo_bin("partnerops").unwrap();
        cmd.current_dir(self.dir.path())
            .env_remove("PARTNEROPS_ENGINE")
            .env_remove("PARTNEROPS_TOKEN")
            .env_remove("PARTNEROPS_DB")
            .env_remove("PARTNEROPS_PROGRAM")
            .env("PARTNEROPS_AUTHOR", "Test Author <test@example.com>")
            .envs(env.iter().copied())
            .args(args);
        // Commands that reach no engine take no engine options.
        let reaches = args
            .first()
            .is_some_and(|c| partnerops::cli::reaches_engine(c));
        match &self.engine {
            _ if !reaches => {}
            Engine::Embedded(db) => {
                cmd.arg("--db").arg(db);
            }
            Engine::Http { url, token } => {
                cmd.args(["--engine", url]).env("PARTNEROPS_TOKEN", token);
            }
        }
        cmd.output().unwrap()
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs git in `dir` with a fixed identity; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@e"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A git checkout of `dir` with everything in it committed; returns HEAD.
pub fn commit_all(dir: &Path) -> String {
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-qm", "config"]);
    git(dir, &["rev-parse", "HEAD"]).trim().to_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}
