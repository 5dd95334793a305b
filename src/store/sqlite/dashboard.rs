//! Reads for the dashboard: partners sorted by a stat, monthly totals, a
//! partner's transactions.

use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor};

use super::ledger::{TRANSACTION_COLUMNS, transaction_from_row};
use super::partners::{PARTNER_COLUMNS, partner_from_row, tags_text};
use crate::error::Result;
use crate::store::record::{LineStatus, Partner, TransactionRecord, timestamp};
use crate::store::{LineFilter, MONTHLY, MonthTotals, PartnerQuery, PartnerSort};

fn column(sort: PartnerSort) -> &'static str {
    match sort {
        PartnerSort::Key => "key",
        PartnerSort::Joined => "joined_at",
        PartnerSort::Signups => "signups",
        PartnerSort::Customers => "customers",
        PartnerSort::Sales => "sales",
        PartnerSort::Revenue => "revenue",
        PartnerSort::LastActivity => "last_activity_at",
    }
}

/// `FROM ... WHERE` for the query's filters. Tags are kept as " a b ", so a
/// tag is found with `LIKE '% tag %'`, its `%`, `_` and `\` escaped.
fn filters(q: &mut QueryBuilder<Sqlite>, program: &str, query: &PartnerQuery) {
    q.push(" FROM partners WHERE program = ")
        .push_bind(program.to_owned());
    if let Some(tag) = &query.tag {
        q.push(" AND tags LIKE ")
            .push_bind(format!("%{}%", tags_text([&escape_like(tag)])))
            .push(" ESCAPE '\\'");
    }
    if let Some(group) = &query.group {
        q.push(" AND grp = ").push_bind(group.clone());
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(super) async fn sorted<'e>(
    executor: impl SqliteExecutor<'e> + Copy,
    program: &str,
    query: &PartnerQuery,
    exp: u8,
) -> Result<(u64, Vec<Partner>)> {
    let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) AS n");
    filters(&mut count, program, query);
    let total: i64 = count.build().fetch_one(executor).await?.try_get("n")?;
    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {PARTNER_COLUMNS}"));
    filters(&mut q, program, query);
    let dir = if query.descending { "DESC" } else { "ASC" };
    q.push(format!(
        " ORDER BY {} {dir}, key {dir} LIMIT ",
        column(query.sort)
    ))
    .push_bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
    .push(" OFFSET ")
    .push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
    let rows = q.build().fetch_all(executor).await?;
    let partners = rows
        .iter()
        .map(|r| partner_from_row(r, exp))
        .collect::<Result<Vec<_>>>()?;
    Ok((u64::try_from(total).unwrap_or(0), partners))
}

/// The program's months. The four sums scan four tables and depend on none
/// of each other, so each runs on its own pooled connection at once: the
/// page waits for the slowest scan, not for all four in turn.
pub(super) async fn monthly<'e>(
    executor: impl SqliteExecutor<'e> + Copy,
    program: &str,
) -> Result<Vec<MonthTotals>> {
    let sums =
        futures_util::future::try_join_all(MONTHLY.iter().map(|&(figure, sql)| async move {
            let rows = sqlx::query(sql).bind(program).fetch_all(executor).await?;
            let values = rows
                .iter()
                .map(|r| Ok((r.try_get("m")?, r.try_get("v")?)))
                .collect::<Result<Vec<(String, i64)>>>()?;
            Ok::<_, crate::error::Error>((figure, values))
        }))
        .await?;
    Ok(MonthTotals::from_sums(sums))
}

pub(super) async fn transactions_of_partner<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    partner: &str,
    limit: usize,
    exp: u8,
) -> Result<Vec<TransactionRecord>> {
    let sql = format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions WHERE program = $1 AND partner = $2 \
         ORDER BY at DESC, key DESC LIMIT $3"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(program)
        .bind(partner)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(executor)
        .await?;
    rows.iter().map(|r| transaction_from_row(r, exp)).collect()
}

pub(super) async fn line_totals<'e>(
    executor: impl SqliteExecutor<'e>,
    program: &str,
    f: &LineFilter,
    approved_through: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(LineStatus, u64, i128)>> {
    // Times are stored in one fixed-width RFC 3339 form, so text order is
    // time order.
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT CASE WHEN payout IS NOT NULL THEN 'paid' \
         WHEN clawback = 1 OR due_at <= ",
    );
    q.push_bind(timestamp(approved_through))
        .push(
            " THEN 'approved' ELSE 'pending' END AS status, COUNT(*) AS n, SUM(amount) AS total \
             FROM ledger WHERE program = ",
        )
        .push_bind(program.to_owned());
    if let Some(p) = &f.partner {
        q.push(" AND partner = ").push_bind(p.clone());
    }
    if let Some(t) = &f.transaction {
        q.push(" AND transaction_key = ").push_bind(t.clone());
    }
    if let Some(s) = f.since {
        q.push(" AND due_at >= ").push_bind(timestamp(s));
    }
    if let Some(u) = f.until {
        q.push(" AND due_at < ").push_bind(timestamp(u));
    }
    q.push(" GROUP BY status");
    let mut totals = Vec::new();
    for row in q.build().fetch_all(executor).await? {
        let status: String = row.try_get("status")?;
        let n: i64 = row.try_get("n")?;
        let total: i64 = row.try_get("total")?;
        if let Some(status) = LineStatus::parse(&status) {
            totals.push((status, u64::try_from(n).unwrap_or(0), i128::from(total)));
        }
    }
    Ok(totals)
}
