//! Progress on stderr for long commands (events send, sweep, large applies,
//! and whatever else moves a lot): a bar when the total is known, a spinner
//! when it is not. Drawn only when stderr is a terminal, so logs, pipes and
//! CI see nothing but the command's own messages.
//!
//! The API is small on purpose: make one, `inc` it as work is done, `finish`
//! it (dropping it finishes too). Messages printed while it is drawn go
//! through [`Progress::println`] so they do not tear the bar.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What is counted.
#[derive(Debug, Clone, Copy)]
pub enum Unit {
    /// Things with a name in the plural: "events", "changes".
    Items(&'static str),
    /// Bytes, shown as KiB, MiB, ... (for a file streamed in).
    Bytes,
}

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar towards `total`, shown when stderr is a terminal.
    pub fn bar(message: &str, total: u64, unit: Unit) -> Progress {
        Progress::bar_to(message, total, unit, stderr_target())
    }

    /// A spinner with the time taken so far, for work whose size is unknown
    /// (a sweep, an apply: one request to the engine).
    pub fn spinner(message: &str) -> Progress {
        Progress::spinner_to(message, stderr_target())
    }

    fn bar_to(message: &str, total: u64, unit: Unit, target: ProgressDrawTarget) -> Progress {
        let counts = match unit {
            Unit::Items(noun) => format!("{{human_pos}}/{{human_len}} {noun}"),
            Unit::Bytes => "{bytes}/{total_bytes}".to_owned(),
        };
        let style = ProgressStyle::with_template(&format!(
            "{{msg}} [{{bar:30}}] {counts} ({{elapsed}}, {{eta}} left)"
        ))
        .expect("a valid template")
        .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), target)
            .with_style(style)
            .with_message(message.to_owned());
        Progress { bar }
    }

    fn spinner_to(message: &str, target: ProgressDrawTarget) -> Progress {
        let style =
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template");
        let bar = ProgressBar::with_draw_target(None, target)
            .with_style(style)
            .with_message(message.to_owned());
        // A spinner moves by itself: there is nothing to `inc` while the one
        // request it stands for is out.
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress { bar }
    }

    /// `n` more done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Prints a line above the bar (or plainly, when none is drawn).
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            say!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Takes the bar off the screen: what the command prints next says how
    /// it went.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    #[cfg(test)]
    fn position(&self) -> u64 {
        self.bar.position()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// stderr when it is a terminal, else nowhere.
fn stderr_target() -> ProgressDrawTarget {
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::InMemoryTerm;

    #[test]
    fn a_bar_counts_what_is_done_in_the_unit_it_is_given() {
        let term = InMemoryTerm::new(4, 120);
        let progress = Progress::bar_to(
            "sending",
            2_000,
            Unit::Items("events"),
            ProgressDrawTarget::term_like(Box::new(term.clone())),
        );
        progress.inc(500);
        progress.inc(500);
        progress.bar.tick();
        assert_eq!(progress.position(), 1_000);
        let screen = term.contents();
        assert!(screen.contains("sending ["), "{screen}");
        assert!(screen.contains("1,000/2,000 events"), "{screen}");
        progress.finish();
        assert_eq!(term.contents().trim(), "", "finish clears the bar");
    }

    #[test]
    fn a_hidden_bar_still_counts() {
        let progress = Progress::bar_to("x", 10, Unit::Bytes, ProgressDrawTarget::hidden());
        progress.inc(3);
        assert_eq!(progress.position(), 3);
    }
}
