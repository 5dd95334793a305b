//! `--color auto|always|never`: whether output is coloured.
//!
//! `auto` colours a terminal only, and not when `NO_COLOR` is set (no-color.org);
//! `always` and `never` are the user's word on this one command line, which
//! outranks the environment, as no-color.org asks.

use std::ffi::OsString;

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum When {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Even when not on a terminal, and despite NO_COLOR.
    Always,
    /// Never.
    Never,
}

impl When {
    /// Colour for a stream that is (or is not) a terminal.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            When::Always => true,
            When::Never => false,
            When::Auto => terminal && !no_color(),
        }
    }

    /// Colour for stdout.
    pub fn stdout(self) -> bool {
        self.enabled(std::io::IsTerminal::is_terminal(&std::io::stdout()))
    }

    /// Colour for stderr.
    pub fn stderr(self) -> bool {
        self.enabled(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    }

    /// The choice on a command line not parsed yet: clap needs it to colour
    /// its own help and errors, which it prints while parsing. The last
    /// `--color` wins, as clap would have it; a value clap will reject is
    /// `auto` until clap says so.
    pub fn from_args(args: &[OsString]) -> When {
        let mut when = When::Auto;
        let mut args = args.iter().skip(1).map(|a| a.to_string_lossy());
        while let Some(arg) = args.next() {
            if arg == "--" {
                break;
            }
            let value = match arg.strip_prefix("--color") {
                Some("") => args.next().map(|v| v.into_owned()),
                Some(rest) => rest.strip_prefix('=').map(str::to_owned),
                None => None,
            };
            if let Some(parsed) = value.and_then(|v| When::from_str(&v, false).ok()) {
                when = parsed;
            }
        }
        when
    }

    pub fn for_clap(self) -> clap::ColorChoice {
        match self {
            // clap's own `auto` honours NO_COLOR as well.
            When::Auto => clap::ColorChoice::Auto,
            When::Always => clap::ColorChoice::Always,
            When::Never => clap::ColorChoice::Never,
        }
    }
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_last_color_flag_wins_and_stops_at_a_double_dash() {
        assert_eq!(When::from_args(&args("p plan x")), When::Auto);
        assert_eq!(When::from_args(&args("p --color never plan")), When::Never);
        assert_eq!(
            When::from_args(&args("p --color=never plan x --color always")),
            When::Always
        );
        assert_eq!(
            When::from_args(&args("p --color never -- --color=always")),
            When::Never
        );
        assert_eq!(When::from_args(&args("p --color bogus")), When::Auto);
    }

    #[test]
    fn always_and_never_outrank_the_terminal() {
        assert!(When::Always.enabled(false));
        assert!(!When::Never.enabled(true));
        assert!(!When::Auto.enabled(false));
    }
}
