use std::process::ExitCode;

// The engine allocates many small strings per event; mimalloc handles that
// churn markedly better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    partnerops::cli::main()
}
