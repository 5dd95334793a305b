use std::process::ExitCode;

fn main() -> ExitCode {
    partnerops::cli::main()
}
