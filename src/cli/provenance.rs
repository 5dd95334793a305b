//! Who a changeset comes from and which commit: `PARTNEROPS_AUTHOR` or git's
//! user, and the HEAD of the checkout the config is in.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// `PARTNEROPS_AUTHOR`, else `Name <email>` from git config, else `$USER`.
pub fn author(dir: &Path) -> String {
    if let Some(a) = std::env::var("PARTNEROPS_AUTHOR")
        .ok()
        .filter(|a| !a.trim().is_empty())
    {
        return a;
    }
    match (
        git(dir, &["config", "user.name"]),
        git(dir, &["config", "user.email"]),
    ) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name,
        _ => std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()),
    }
}

/// The top directory of the git checkout `dir` is in, if any.
pub fn git_toplevel(dir: &Path) -> Option<std::path::PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"]).map(std::path::PathBuf::from)
}

/// The commit checked out at `dir`, when it is inside a git checkout.
pub fn git_commit(dir: &Path) -> Option<String> {
    git(dir, &["rev-parse", "HEAD"])
}

/// Whether `path` (a config directory or file) has changes git has not
/// committed: the commit recorded with a plan does not hold them.
pub fn uncommitted(path: &Path) -> bool {
    let pathspec = if path.is_dir() {
        std::ffi::OsStr::new(".")
    } else {
        path.file_name().unwrap_or_default()
    };
    let Some(pathspec) = pathspec.to_str() else {
        return false;
    };
    git(dir_of(path), &["status", "--porcelain", "--", pathspec]).is_some()
}

/// The directory to ask git about for a config path (a directory or a file).
pub fn dir_of(path: &Path) -> &Path {
    if path.is_dir() {
        path
    } else {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }
}
