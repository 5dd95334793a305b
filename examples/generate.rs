//! Synthetic inputs for timing whole commands:
//!
//! ```sh
//! cargo run --release --example generate -- 10000 /tmp/big                 # a config of ~10,000 resources
//! cargo run --release --example generate -- runtime /tmp/bench 50 100 5    # 50 automations, 100 triggers of 5 rules
//! cargo run --release --example generate -- events 1000000 10000 /tmp/events.ndjson   # 1M events over 10,000 partners
//! cargo run --release --example generate -- joins 1000000 /tmp/joins.ndjson          # 1M partners joining over two years
//! cargo run --release --example generate -- aliases 1000 /tmp/aliases                # 1,000 files of alias bombs and a program
//! cargo run --release --example generate -- late 1000000 10000 1 /tmp/late.ndjson    # the events file with 1% of events late
//! cargo run --release --example generate -- ledger 1000000 10000 /tmp/ledger         # a program paying 10% and 1M sales over 10,000 partners
//! ```

use std::io::Write;
use std::path::Path;

fn usage() -> ! {
    eprintln!(
        "usage: generate N DIR | generate runtime DIR AUTOMATIONS TRIGGERS RULES | generate events N PARTNERS FILE\n       generate joins N FILE | generate aliases N DIR | generate late N PARTNERS PERCENT FILE | generate ledger SALES PARTNERS DIR"
    );
    std::process::exit(2);
}

fn number(s: Option<String>) -> usize {
    s.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

/// Writes one line per item; the count of items written.
fn write_lines(file: &str, lines: &[String]) -> std::io::Result<usize> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(file)?);
    for l in lines {
        writeln!(w, "{l}")?;
    }
    w.flush()?;
    Ok(lines.len())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_else(|| usage());
    let result = match first.as_str() {
        "runtime" => {
            let dir = args.next().unwrap_or_else(|| usage());
            let config = partnerops::sample::runtime_config(
                number(args.next()),
                number(args.next()),
                number(args.next()),
            );
            partnerops::sample::write_dir(&config, Path::new(&dir))
                .map(|()| format!("{dir}: {} resources", config.len()))
        }
        "events" => {
            let (n, partners) = (number(args.next()), number(args.next()));
            let file = args.next().unwrap_or_else(|| usage());
            let start = "2026-01-01T00:00:00Z".parse().expect("a time");
            let events = partnerops::sample::events(n, partners, start);
            std::fs::File::create(&file)
                .and_then(|f| {
                    let mut w = std::io::BufWriter::new(f);
                    for e in &events {
                        writeln!(w, "{e}")?;
                    }
                    w.flush()
                })
                .map(|()| format!("{file}: {n} events over {partners} partners"))
        }
        "late" => {
            // The `events` file, with PERCENT% of the events after the joins
            // sent later than their `at`: each moved up to 30 days of events
            // (one second apart) further down the file, so it arrives after
            // events dated up to 30 days after it.
            let (n, partners, percent) = (
                number(args.next()),
                number(args.next()),
                number(args.next()),
            );
            let file = args.next().unwrap_or_else(|| usage());
            let start = "2026-01-01T00:00:00Z".parse().expect("a time");
            let events = partnerops::sample::events(n, partners, start);
            let (late, moved) = partnerops::sample::delay(events, partners, percent, 30 * 86_400);
            write_lines(&file, &late).map(|_| {
                format!("{file}: {n} events over {partners} partners, {moved} of them late")
            })
        }
        "ledger" => {
            let (sales, partners) = (number(args.next()), number(args.next()));
            let dir = args.next().unwrap_or_else(|| usage());
            let dir = Path::new(&dir);
            std::fs::create_dir_all(dir.join("config"))
                .and_then(|()| {
                    std::fs::write(
                        dir.join("config/program.yaml"),
                        partnerops::sample::LEDGER_PROGRAM,
                    )?;
                    let start = "2026-01-01T00:00:00Z".parse().expect("a time");
                    let events = partnerops::sample::sales(sales, partners, start);
                    write_lines(&dir.join("events.ndjson").to_string_lossy(), &events)?;
                    Ok(())
                })
                .map(|()| {
                    format!(
                        "{}: config/ and events.ndjson: {partners} partners, {sales} sales",
                        dir.display()
                    )
                })
        }
        "joins" => {
            // N partners joining evenly over the two years before START.
            let n = number(args.next());
            let file = args.next().unwrap_or_else(|| usage());
            let end: chrono::DateTime<chrono::Utc> =
                "2026-11-01T00:00:00Z".parse().expect("a time");
            let step = chrono::Duration::days(730) / i32::try_from(n.max(1)).unwrap_or(i32::MAX);
            std::fs::File::create(&file)
                .and_then(|f| {
                    let mut w = std::io::BufWriter::new(f);
                    for i in 0..n {
                        let at = end - step * i32::try_from(n - i).unwrap_or(0);
                        writeln!(
                            w,
                            r#"{{"id":"j{i}","type":"partner.joined","at":"{}","partner":{{"key":"partner-{i:07}"}}}}"#,
                            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        )?;
                    }
                    w.flush()
                })
                .map(|()| format!("{file}: {n} partners joining over two years"))
        }
        "aliases" => {
            let n = number(args.next());
            let dir = args.next().unwrap_or_else(|| usage());
            let dir = Path::new(&dir);
            std::fs::create_dir_all(dir)
                .and_then(|()| {
                    std::fs::write(
                        dir.join("program.yaml"),
                        "program: { key: bombs, name: Bombs, currency: USD, timezone: UTC }\n",
                    )?;
                    for i in 0..n {
                        std::fs::write(
                            dir.join(format!("aliases-{i:05}.yaml")),
                            partnerops::sample::alias_file(i),
                        )?;
                    }
                    Ok(())
                })
                .map(|()| format!("{}: {n} files of aliases", dir.display()))
        }
        n => {
            let n = number(Some(n.to_owned()));
            let dir = args.next().unwrap_or_else(|| usage());
            let config = partnerops::sample::config(n);
            partnerops::sample::write_dir(&config, Path::new(&dir))
                .map(|()| format!("{dir}: {} resources", config.len()))
        }
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
