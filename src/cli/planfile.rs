//! Plans saved with `plan --out`: told apart from config by their content, so
//! `apply`, `show` and `plan` agree on what is a plan file.

use std::path::Path;

use anyhow::{Context, bail};

use crate::plan::{FORMAT_VERSION, Plan};

/// `path` as a plan saved with `plan --out`, or `None` when it is not one and
/// is to be loaded as config. Decided by content, not by the file's name, so
/// `plan --out p1.plan` can be applied as `apply p1.plan`.
pub fn read(path: &Path) -> anyhow::Result<Option<Plan>> {
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(None);
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // A plan cut short or edited by hand: say so, rather than report it
        // as a YAML config with errors.
        Err(e) if text.trim_start().starts_with('{') && text.contains("\"format_version\"") => {
            bail!(
                "{} looks like a saved plan but is not valid JSON: {e}",
                path.display()
            )
        }
        Err(_) => return Ok(None),
    };
    let Some(version) = value.as_object().and_then(|o| o.get("format_version")) else {
        return Ok(None);
    };
    if *version != FORMAT_VERSION {
        bail!(
            "{} has plan format_version {version}; this partnerops reads {FORMAT_VERSION}",
            path.display(),
        );
    }
    let plan: Plan = serde_json::from_value(value).with_context(|| {
        format!(
            "{} looks like a saved plan (it has format_version) but is not a valid one",
            path.display()
        )
    })?;
    let problems = plan.problems();
    if !problems.is_empty() {
        bail!(
            "{} is not a valid plan:\n  {}",
            path.display(),
            problems.join("\n  ")
        );
    }
    Ok(Some(plan))
}

/// Writes `plan` as the JSON document `read` reads back.
pub fn save(plan: &Plan, path: &Path) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(plan)?;
    std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))
}
