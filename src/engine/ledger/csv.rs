//! The ledger and payouts as CSV for finance teams (RFC 4180, written by the
//! `csv` crate: a header row, fields quoted when they need it).

use super::payouts::PayoutDetail;
use crate::store::record::LedgerLine;

pub const LINES_HEADER: [&str; 16] = [
    "id",
    "partner",
    "transaction",
    "trigger",
    "kind",
    "amount",
    "currency",
    "status",
    "due_at",
    "due_on",
    "installment",
    "installments",
    "product",
    "revision",
    "payout",
    "created_at",
];

fn finish(w: csv::Writer<Vec<u8>>) -> String {
    // Writing to memory cannot fail, and every field is UTF-8.
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

/// Ledger lines, one row each; with the header row when `header`.
pub fn lines(lines: &[LedgerLine], currency: &str, header: bool) -> String {
    let mut w = writer();
    if header {
        let _ = w.write_record(LINES_HEADER);
    }
    for l in lines {
        let _ = w.write_record([
            l.id.to_string().as_str(),
            &l.partner,
            &l.transaction,
            &l.trigger,
            l.kind.as_str(),
            &l.amount.to_string(),
            currency,
            l.status.as_str(),
            &l.due_at.to_rfc3339(),
            &l.due_on.map(|d| d.to_string()).unwrap_or_default(),
            &l.installment.to_string(),
            &l.installments.to_string(),
            l.product.as_deref().unwrap_or(""),
            &l.revision.to_string(),
            &l.payout.map(|p| p.to_string()).unwrap_or_default(),
            &l.created_at.to_rfc3339(),
        ]);
    }
    finish(w)
}

/// A payout: one row per partner with key, name, email, amount, currency
/// and the number of lines paid.
pub fn payout(detail: &PayoutDetail) -> String {
    let mut w = writer();
    let _ = w.write_record(["partner", "name", "email", "amount", "currency", "lines"]);
    for p in &detail.partners {
        let _ = w.write_record([
            p.partner.as_str(),
            p.name.as_deref().unwrap_or(""),
            p.email.as_deref().unwrap_or(""),
            &p.amount.to_string(),
            &detail.payout.currency,
            &p.lines.to_string(),
        ]);
    }
    finish(w)
}
