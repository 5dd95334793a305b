//! `apply FILE` checks a saved plan when it reads it: a plan edited by hand (or
//! by a broken tool) is refused with the file and the change named, never a
//! panic, and nothing is applied.

use std::path::Path;

use assert_cmd::Command;

fn partnerops(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("partnerops")
        .unwrap()
        .current_dir(dir)
        .env_remove("PARTNEROPS_ENGINE")
        .env_remove("PARTNEROPS_TOKEN")
        .env_remove("PARTNEROPS_DB")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_saved_plan_with_a_broken_change_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::canonicalize("examples/gigakick").unwrap();
    let made = partnerops(
        dir.path(),
        &["plan", config.to_str().unwrap(), "--out", "plan.json"],
    );
    assert!(made.status.success(), "{made:?}");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["changes"][0]["action"], "create");
    let kind = plan["changes"][0]["kind"].as_str().unwrap();
    let first = format!(
        "change 1 (create {kind} `{}`)",
        plan["changes"][0]["key"].as_str().unwrap()
    );

    let mut no_after = plan.clone();
    no_after["changes"][0]
        .as_object_mut()
        .unwrap()
        .remove("after");
    let mut wrong_key = plan.clone();
    wrong_key["changes"][0]["after"]["key"] = "someone-else".into();
    for (broken, reason) in [
        (no_after, format!("{first}: has no `after` resource")),
        (
            wrong_key,
            format!("{first}: its `after` is {kind} `someone-else`"),
        ),
    ] {
        std::fs::write(
            dir.path().join("broken.json"),
            serde_json::to_vec(&broken).unwrap(),
        )
        .unwrap();
        let applied = partnerops(dir.path(), &["apply", "broken.json", "--yes"]);
        let stderr = String::from_utf8_lossy(&applied.stderr);
        assert_eq!(applied.status.code(), Some(1), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            stderr.contains("broken.json is not a valid plan") && stderr.contains(&reason),
            "expected {reason:?} in {stderr}"
        );
    }
    // Nothing was applied: the plan is still the whole config.
    let again = partnerops(dir.path(), &["apply", "plan.json", "--yes"]);
    assert!(again.status.success(), "{again:?}");
}
