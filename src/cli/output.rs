//! Writing results to stdout. A reader that goes away (`partnerops ... | head`)
//! ends the output quietly instead of panicking as `println!` does.

use std::io::{ErrorKind, Write};

pub fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `text` and a newline.
pub fn println(text: &str) -> anyhow::Result<()> {
    print(&format!("{text}\n"))
}

/// Writes a part of a longer output to a locked stdout (printing as it is
/// read keeps memory flat); a reader that went away ends it quietly.
pub fn write(out: &mut std::io::StdoutLock<'_>, text: &str) -> anyhow::Result<()> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
