//! docs/commands has a page for every command, and each page names every
//! option of its command (and subcommands) and its exit status; the engine
//! options are on docs/engine-options.md, which each page that takes them
//! links to. A command or flag added without its documentation fails here.

use std::collections::BTreeSet;

/// Every long option of `cmd` and its subcommands, but --help and --version.
fn flags(cmd: &clap::Command, into: &mut BTreeSet<String>) {
    for arg in cmd.get_arguments() {
        if let Some(long) = arg.get_long()
            && !["help", "version"].contains(&long)
            && !arg.is_hide_set()
        {
            into.insert(format!("--{long}"));
        }
    }
    for sub in cmd.get_subcommands() {
        flags(sub, into);
    }
}

#[test]
fn every_command_has_a_page_naming_its_options_and_exit_status() {
    let index = std::fs::read_to_string("docs/commands/README.md").unwrap();
    let engine = std::fs::read_to_string("docs/engine-options.md").unwrap();
    for option in ["--engine", "--db", "--program", "--token", "--color"] {
        assert!(engine.contains(option), "docs/engine-options.md: {option}");
    }
    for status in ["| 0 |", "| 1 |", "| 2 |", "| 3 |"] {
        assert!(
            engine.contains(status),
            "docs/engine-options.md: exit {status}"
        );
    }
    let mut cmd = partnerops::cli::command();
    cmd.build();
    for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
        let name = sub.get_name();
        let path = format!("docs/commands/{name}.md");
        let page = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{path} is missing"));
        assert!(
            index.contains(&format!("]({name}.md)")),
            "the index lists {name}"
        );
        assert!(page.contains("## Exit status"), "{path}: exit status");
        let mut options = BTreeSet::new();
        flags(sub, &mut options);
        for option in options {
            let engine_option =
                ["--engine", "--db", "--program", "--token", "--color"].contains(&option.as_str());
            // --color is every command's, documented once.
            if option == "--color" {
                continue;
            }
            if engine_option && !(name == "serve" && option == "--db") {
                assert!(
                    page.contains("(../engine-options.md)"),
                    "{path} takes {option}: link docs/engine-options.md"
                );
                continue;
            }
            assert!(page.contains(&option), "{path} does not name {option}");
        }
    }
}
