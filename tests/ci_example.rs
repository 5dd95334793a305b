//! The GitHub Action (action.yml) and the example workflow built on it
//! (examples/ci/partnerops.yml) are documentation users copy: every partnerops
//! command they run must be one this partnerops accepts, and the workflow must
//! keep the promises its comments make (where the write token is, what is
//! applied, what is pinned). `.ci/run` also lints both with actionlint.

use partnerops::cli::parse_from;
use serde_json::Value;

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The partnerops commands in a step's script, as argument lists: each line
/// that runs partnerops (after an `if`), up to a redirection, pipe or `;`,
/// split on spaces, quotes dropped.
fn commands(script: &str) -> Vec<Vec<String>> {
    script
        .lines()
        .map(|l| l.trim().trim_start_matches("if ").trim())
        .filter(|l| l.starts_with("partnerops "))
        .map(|l| {
            let end = l.find(['>', '|', ';', '&']).unwrap_or(l.len());
            // `2>` redirects stderr: the 2 is no argument.
            let line = l[..end].strip_suffix(" 2").unwrap_or(&l[..end]);
            line.split_whitespace()
                .map(|w| w.trim_matches('"').to_owned())
                .collect()
        })
        .collect()
}

fn steps(job: &Value) -> &Vec<Value> {
    job["steps"].as_array().unwrap()
}

fn scripts<'a>(steps: impl IntoIterator<Item = &'a Value>) -> Vec<Vec<String>> {
    steps
        .into_iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(commands)
        .collect()
}

#[test]
fn every_partnerops_command_they_run_parses() {
    let workflow = yaml("examples/ci/partnerops.yml");
    let action = yaml("action.yml");
    let mut seen = scripts(steps(&action["runs"]));
    for job in workflow["jobs"].as_object().unwrap().values() {
        seen.extend(scripts(steps(job)));
    }
    let mut subcommands: Vec<&str> = seen.iter().map(|c| c[1].as_str()).collect();
    subcommands.sort_unstable();
    assert_eq!(
        subcommands,
        ["apply", "plan", "plan", "validate", "validate"],
        "{seen:?}"
    );
    for args in &seen {
        if let Err(e) = parse_from(args) {
            panic!("{args:?} does not parse: {e}");
        }
    }
}

fn is_sha(reference: &str) -> bool {
    reference.len() == 40 && reference.chars().all(|c| c.is_ascii_hexdigit())
}

/// Every `uses:` of the workflow and the action, as (action, ref).
fn uses(workflow: &Value, action: &Value) -> Vec<(String, String)> {
    let mut all: Vec<&Value> = steps(&action["runs"]).iter().collect();
    for job in workflow["jobs"].as_object().unwrap().values() {
        all.extend(steps(job));
    }
    all.iter()
        .filter_map(|s| s["uses"].as_str())
        .map(|u| {
            let (name, reference) = u.split_once('@').unwrap_or((u, ""));
            (name.to_owned(), reference.to_owned())
        })
        .collect()
}

#[test]
fn everything_installed_is_pinned_to_a_commit() {
    let workflow = yaml("examples/ci/partnerops.yml");
    let action = yaml("action.yml");
    for (name, reference) in uses(&workflow, &action) {
        assert!(
            is_sha(&reference),
            "{name}@{reference} is not pinned to a commit"
        );
    }
    // partnerops itself: built from the action's own (pinned) source, with
    // the lock file, cached by that source.
    let install: Vec<&str> = steps(&action["runs"])
        .iter()
        .filter_map(|s| s["run"].as_str())
        .filter(|r| r.contains("cargo"))
        .collect();
    assert_eq!(install.len(), 1, "{install:?}");
    assert!(
        install[0].contains(r#"install --locked --path "$GITHUB_ACTION_PATH""#),
        "{}",
        install[0]
    );
    let workflow_scripts: Vec<&str> = workflow["jobs"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|j| steps(j).iter().filter_map(|s| s["run"].as_str()))
        .collect();
    for script in workflow_scripts {
        assert!(
            !script.contains("cargo"),
            "jobs install through the action: {script}"
        );
    }
    let cache = steps(&action["runs"])
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("the binary is cached");
    assert_eq!(cache["with"]["key"], "${{ steps.source.outputs.key }}");
}

#[test]
fn the_workflow_passes_the_action_only_inputs_it_has() {
    let workflow = yaml("examples/ci/partnerops.yml");
    let action = yaml("action.yml");
    let inputs: Vec<&String> = action["inputs"].as_object().unwrap().keys().collect();
    let mut used = 0;
    for job in workflow["jobs"].as_object().unwrap().values() {
        for step in steps(job) {
            if !step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("OWNER/partnerops@"))
            {
                continue;
            }
            used += 1;
            for key in step["with"].as_object().unwrap().keys() {
                assert!(inputs.contains(&key), "action.yml has no input `{key}`");
            }
            let mode = step["with"]["mode"].as_str().unwrap();
            assert!(["plan", "install"].contains(&mode), "{mode}");
        }
    }
    assert_eq!(used, 3, "plan, apply and drift use the action");
}

/// Where each secret is read: (job, step name or "job"), for every
/// `secrets.` in an `env` or `with`.
fn secret_uses(workflow: &Value, secret: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let needle = format!("secrets.{secret}");
    let mentions = |v: &Value| v.to_string().contains(&needle);
    for (name, job) in workflow["jobs"].as_object().unwrap() {
        if mentions(&job["env"]) {
            found.push((name.clone(), "job".to_owned()));
        }
        for step in steps(job) {
            if mentions(&step["env"]) || mentions(&step["with"]) {
                found.push((
                    name.clone(),
                    step["name"].as_str().unwrap_or("?").to_owned(),
                ));
            }
        }
    }
    found
}

#[test]
fn the_write_token_is_in_the_apply_step_alone() {
    let workflow = yaml("examples/ci/partnerops.yml");
    assert!(
        !workflow["env"].to_string().contains("secrets."),
        "no secret in the workflow-wide env: {}",
        workflow["env"]
    );
    assert_eq!(
        secret_uses(&workflow, "PARTNEROPS_APPLY_TOKEN"),
        [("apply".to_owned(), "Apply the saved plan".to_owned())]
    );
    let apply = &workflow["jobs"]["apply"];
    assert_eq!(apply["environment"], "production");
    let step = steps(apply)
        .iter()
        .find(|s| s["name"] == "Apply the saved plan")
        .unwrap();
    assert_eq!(
        step["env"]["PARTNEROPS_TOKEN"],
        "${{ secrets.PARTNEROPS_APPLY_TOKEN }}"
    );
    // The plans read with the read-only token.
    for (job, _) in secret_uses(&workflow, "PARTNEROPS_PLAN_TOKEN") {
        assert!(["plan", "apply", "drift"].contains(&job.as_str()));
    }
}

#[test]
fn permissions_are_per_job_and_nothing_by_default() {
    let workflow = yaml("examples/ci/partnerops.yml");
    assert_eq!(workflow["permissions"], serde_json::json!({}));
    for (name, job) in workflow["jobs"].as_object().unwrap() {
        let permissions = job["permissions"].as_object().unwrap_or_else(|| {
            panic!("job {name} names no permissions");
        });
        assert_eq!(permissions["contents"], "read", "{name}");
        let writes: Vec<&String> = permissions
            .iter()
            .filter(|(_, v)| *v == "write")
            .map(|(k, _)| k)
            .collect();
        let expected: Vec<&str> = if name == "plan" {
            vec!["pull-requests"]
        } else {
            vec![]
        };
        assert_eq!(writes, expected, "{name}");
    }
}

#[test]
fn apply_runs_for_the_head_of_main_only() {
    let workflow = yaml("examples/ci/partnerops.yml");
    let apply = &workflow["jobs"]["apply"];
    let condition = apply["if"].as_str().unwrap();
    assert!(
        condition.contains("github.event_name == 'push'")
            && condition.contains("github.ref == 'refs/heads/main'"),
        "{condition}"
    );
    assert_eq!(apply["concurrency"]["cancel-in-progress"], false);
    let steps = steps(apply);
    // First thing: the run's commit must be main's head (a re-run of an old
    // run must not apply an old commit), and again just before applying.
    let first = steps[0]["run"].as_str().unwrap();
    let last = steps
        .iter()
        .find(|s| s["name"] == "Apply the saved plan")
        .unwrap()["run"]
        .as_str()
        .unwrap();
    for script in [first, last] {
        assert!(
            script.contains("git/ref/heads/main") && script.contains(r#"[ "$head" != "$SHA" ]"#),
            "{script}"
        );
        assert!(script.contains("exit 1"), "{script}");
    }
    let before_apply = last.find("git/ref/heads/main").unwrap();
    assert!(before_apply < last.find("partnerops apply").unwrap());
    let checkout = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
        })
        .unwrap();
    assert_eq!(checkout["with"]["ref"], "${{ github.sha }}");
}

#[test]
fn plans_of_a_pull_request_are_ordered_and_drift_is_checked_daily() {
    let workflow = yaml("examples/ci/partnerops.yml");
    let plan = &workflow["jobs"]["plan"];
    assert_eq!(
        plan["concurrency"]["group"],
        "partnerops-plan-${{ github.event.pull_request.number }}"
    );
    assert_eq!(plan["concurrency"]["cancel-in-progress"], true);
    assert!(workflow["on"]["schedule"][0]["cron"].is_string());
    let drift = &workflow["jobs"]["drift"];
    assert!(drift["if"].as_str().unwrap().contains("schedule"));
    let fail = steps(drift).last().unwrap();
    assert_eq!(fail["if"], "steps.plan.outputs.exit-code == '2'");

    // The comment names the pull request's head, and a run for an older
    // head does not write (the rules themselves: node --test action/).
    let script = std::fs::read_to_string("action/comment.js").unwrap();
    assert!(script.contains("pr.head.sha"));
    assert!(script.contains("now.head.sha !== head"));
}
