use std::process::ExitCode;

// The allocator is the library's (mimalloc, src/lib.rs), so the tests and
// benches run with the one the binary ships.
fn main() -> ExitCode {
    partnerops::cli::main()
}
