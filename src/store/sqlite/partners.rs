//! Partner reads: pages of partners, tag and product holders, fire bookkeeping.

use std::collections::BTreeMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor};

use super::{parse_time, parse_time_opt};
use crate::error::Result;
use crate::spec::Money;
use crate::store::record::{Cause, Fires, Mark, Partner, PartnerState, Stats, Subject, TagChange};

pub(super) const PARTNER_COLUMNS: &str = "key, name, email, grp, joined_at, last_activity_at, last_referral_at, signups, customers, sales, revenue, first_signup_at, first_sale_at, first_commission_at, tags";

/// The columns the runtime reads: a partner, when automations fired for
/// them, and where their history stands.
pub(super) const STATE_COLUMNS: &str = "key, name, email, grp, joined_at, last_activity_at, last_referral_at, signups, customers, sales, revenue, first_signup_at, first_sale_at, first_commission_at, tags, fires, mark, last_fire_at, next_due_at";

pub(super) fn state_from_row(row: &SqliteRow, exp: u8) -> Result<PartnerState> {
    let next_due: Option<String> = row.try_get("next_due_at")?;
    Ok(PartnerState {
        partner: partner_from_row(row, exp)?,
        fires: Fires::from_text(row.try_get::<String, _>("fires")?),
        mark: row
            .try_get::<Option<String>, _>("mark")?
            .map(Mark::from_text),
        last_fire_at: parse_time_opt(row.try_get("last_fire_at")?)?,
        // '' asks the next sweep to work it out: due now.
        next_due_at: match next_due.as_deref() {
            None => None,
            Some("") => Some(chrono::DateTime::UNIX_EPOCH),
            Some(t) => Some(parse_time(t)?),
        },
    })
}

/// Tags as the `tags` column holds them: " a b ".
/// Keys as " a b ", the form a LIKE '% a %' finds.
pub(super) fn tags_text<'a>(tags: impl IntoIterator<Item = &'a String>) -> String {
    let mut text = String::from(" ");
    for t in tags {
        text.push_str(t);
        text.push(' ');
    }
    text
}

pub(super) fn partner_from_row(row: &SqliteRow, exp: u8) -> Result<Partner> {
    let count =
        |col: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(col)?).unwrap_or(0)) };
    Ok(Partner {
        key: row.try_get("key")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        group: row.try_get("grp")?,
        joined_at: parse_time(&row.try_get::<String, _>("joined_at")?)?,
        tags: row
            .try_get::<String, _>("tags")?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        stats: Stats {
            signups: count("signups")?,
            customers: count("customers")?,
            sales: count("sales")?,
            revenue: Money::new(row.try_get("revenue")?, exp),
            last_activity_at: parse_time(&row.try_get::<String, _>("last_activity_at")?)?,
            last_referral_at: parse_time(&row.try_get::<String, _>("last_referral_at")?)?,
        },
        first_signup_at: parse_time_opt(row.try_get("first_signup_at")?)?,
        first_sale_at: parse_time_opt(row.try_get("first_sale_at")?)?,
        first_commission_at: parse_time_opt(row.try_get("first_commission_at")?)?,
    })
}

pub(super) async fn page<'e>(
    executor: impl SqliteExecutor<'e> + Copy,
    program: &str,
    after: Option<&str>,
    limit: usize,
    exp: u8,
) -> Result<Vec<PartnerState>> {
    let sql = format!(
        "SELECT {STATE_COLUMNS} FROM partners WHERE program = $1 AND key > $2 ORDER BY key LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(program)
        .bind(after.unwrap_or(""))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(executor)
        .await?;
    rows.iter().map(|r| state_from_row(r, exp)).collect()
}

/// How a holder count is queried: `SELECT <value>, <count> FROM ... WHERE program = `,
/// and the column the values are in.
pub(super) struct Holders {
    head: &'static str,
    column: &'static str,
}

pub(super) const TAG_HOLDERS: Holders = Holders {
    head: "SELECT tag AS value, COUNT(*) AS n FROM partner_tags WHERE program = ",
    column: "tag",
};
pub(super) const CUSTOMER_TAG_HOLDERS: Holders = Holders {
    head: "SELECT tag AS value, COUNT(*) AS n FROM customer_tags WHERE program = ",
    column: "tag",
};
pub(super) const PRODUCT_HOLDERS: Holders = Holders {
    head: "SELECT product AS value, COUNT(DISTINCT customer) AS n FROM customer_products WHERE program = ",
    column: "product",
};

/// Counts holders of each of `values`, zero for the absent.
pub(super) async fn holders<'e>(
    executor: impl SqliteExecutor<'e>,
    holders: &Holders,
    program: &str,
    values: &[String],
) -> Result<BTreeMap<String, u64>> {
    let mut counts: BTreeMap<String, u64> = values.iter().map(|v| (v.clone(), 0)).collect();
    if values.is_empty() {
        return Ok(counts);
    }
    let mut q = QueryBuilder::<Sqlite>::new(holders.head);
    q.push_bind(program)
        .push(format!(" AND {} IN (", holders.column));
    let mut list = q.separated(", ");
    for v in values {
        list.push_bind(v.clone());
    }
    q.push(format!(") GROUP BY {}", holders.column));
    for row in q.build().fetch_all(executor).await? {
        let value: String = row.try_get("value")?;
        let n: i64 = row.try_get("n")?;
        counts.insert(value, u64::try_from(n).unwrap_or(0));
    }
    Ok(counts)
}

pub(super) async fn with_tag<'e>(
    executor: impl SqliteExecutor<'e> + Copy,
    program: &str,
    tag: &str,
    after: Option<&str>,
    limit: usize,
    exp: u8,
) -> Result<Vec<Partner>> {
    let columns = PARTNER_COLUMNS
        .split(", ")
        .map(|c| format!("p.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {columns} FROM partners p JOIN partner_tags t ON t.program = p.program AND t.partner = p.key \
         WHERE p.program = $1 AND t.tag = $2 AND p.key > $3 ORDER BY p.key LIMIT $4"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(program)
        .bind(tag)
        .bind(after.unwrap_or(""))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(executor)
        .await?;
    let partners = rows
        .iter()
        .map(|r| partner_from_row(r, exp))
        .collect::<Result<Vec<_>>>()?;
    Ok(partners)
}

pub(super) async fn one<'e>(
    executor: impl SqliteExecutor<'e> + Copy,
    program: &str,
    key: &str,
    exp: u8,
) -> Result<Option<Partner>> {
    let sql = format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE program = $1 AND key = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(program)
        .bind(key)
        .fetch_optional(executor)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(partner_from_row(&row, exp)?))
}

pub(super) async fn history<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    subject: Subject,
    key: &str,
) -> Result<Vec<TagChange>> {
    let rows = sqlx::query(
        "SELECT tag, change, cause_kind, cause, event_id, at FROM tag_changes \
         WHERE program = $1 AND subject_kind = $2 AND subject = $3 ORDER BY at, seq",
    )
    .bind(program)
    .bind(subject.as_str())
    .bind(key)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            let cause: String = r.try_get("cause_kind")?;
            Ok(TagChange {
                subject_kind: subject,
                subject: key.to_owned(),
                tag: r.try_get("tag")?,
                added: r.try_get::<String, _>("change")? == "added",
                cause_kind: Cause::parse(&cause),
                cause: r.try_get("cause")?,
                event_id: r.try_get("event_id")?,
                at: parse_time(&r.try_get::<String, _>("at")?)?,
            })
        })
        .collect()
}

/// [`history`] a page at a time, in the same order (`at`, then `seq`),
/// after the change at position `after` ("AT SEQ", as returned with each).
pub(super) async fn history_page<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    subject: Subject,
    key: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, TagChange)>> {
    let (at, seq) = match after {
        None => (String::new(), i64::MIN),
        Some(position) => position
            .split_once(' ')
            .and_then(|(at, seq)| Some((at.to_owned(), seq.parse().ok()?)))
            .ok_or_else(|| {
                crate::error::Error::BadRequest(format!("bad tag history position `{position}`"))
            })?,
    };
    let rows = sqlx::query(
        "SELECT seq, tag, change, cause_kind, cause, event_id, at FROM tag_changes \
         WHERE program = $1 AND subject_kind = $2 AND subject = $3 AND (at > $4 OR (at = $4 AND seq > $5)) \
         ORDER BY at, seq LIMIT $6",
    )
    .bind(program)
    .bind(subject.as_str())
    .bind(key)
    .bind(at)
    .bind(seq)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|r| {
            let position = format!(
                "{} {}",
                r.try_get::<String, _>("at")?,
                r.try_get::<i64, _>("seq")?
            );
            Ok((position, change_from_row(r, subject, key)?))
        })
        .collect()
}

fn change_from_row(r: &SqliteRow, subject: Subject, key: &str) -> Result<TagChange> {
    let cause: String = r.try_get("cause_kind")?;
    Ok(TagChange {
        subject_kind: subject,
        subject: key.to_owned(),
        tag: r.try_get("tag")?,
        added: r.try_get::<String, _>("change")? == "added",
        cause_kind: Cause::parse(&cause),
        cause: r.try_get("cause")?,
        event_id: r.try_get("event_id")?,
        at: parse_time(&r.try_get::<String, _>("at")?)?,
    })
}
