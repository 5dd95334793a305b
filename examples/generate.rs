//! Writes a synthetic config directory of about N resources, for timing whole
//! commands: `cargo run --release --example generate -- 10000 /tmp/big`.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(n), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: generate N DIR");
        std::process::exit(2);
    };
    let Ok(n) = n.parse::<usize>() else {
        eprintln!("N must be a number, got {n}");
        std::process::exit(2);
    };
    let config = partnerops::sample::config(n);
    if let Err(e) = partnerops::sample::write_dir(&config, std::path::Path::new(&dir)) {
        eprintln!("writing {dir}: {e}");
        std::process::exit(1);
    }
    println!("{dir}: {} resources", config.len());
}
