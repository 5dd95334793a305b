//! One partner: stats, tags, and the timeline of what happened to them.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use super::layout::page as frame;
use super::{PageError, Viewer, query_string, seg, when};
use crate::engine::dashboard::Moment;
use crate::server::AppState;
use crate::store::record::Cause;

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((program, key)): Path<(String, String)>,
) -> Result<Response, PageError> {
    viewer.require_data(&program)?;
    let timeline = state.engine.timeline(&program, &key).await?;
    let p = &timeline.partner;
    let base = format!("/programs/{}", seg(&program));
    let body = html! {
        p .crumbs { a href={ (base) "/partners" } { "Partners" } " / " (p.key) }
        h1 { "Partner " (p.key) }
        @if let Some(n) = &p.name { p .sub { (n) @if let Some(e) = &p.email { " · " (e) } } }
        dl .cards {
            div { dt { "Signups" } dd { (p.stats.signups) } }
            div { dt { "Customers" } dd { (p.stats.customers) } }
            div { dt { "Sales" } dd { (p.stats.sales) } }
            div { dt { "Revenue" } dd { (p.stats.revenue) } }
            div { dt { "Joined" } dd { (p.joined_at.format("%Y-%m-%d")) } }
            div { dt { "Last active" } dd { (p.stats.last_activity_at.format("%Y-%m-%d")) } }
        }
        p {
            "Group: " strong { (p.group.as_deref().unwrap_or("none")) }
            " · Tags: "
            @if p.tags.is_empty() { "none" }
            @for t in &p.tags { span .tag { (t) } " " }
        }
        p {
            a href={ (base) "/ledger?" (query_string(&[("partner", Some(&p.key))])) } { "Ledger lines of " (p.key) }
            " · "
            a href={ (base) "/partners/" (seg(&p.key)) "/portal" } { "What " (p.key) " sees" }
        }
        h2 { "Timeline" }
        @if timeline.truncated { p .note { "Long history: the latest 200 of each kind are shown." } }
        ol #timeline .timeline {
            @for (at, m) in &timeline.moments {
                li class=(class(m)) {
                    time datetime=(at.to_rfc3339()) { (when(*at)) }
                    " "
                    (moment(&base, m))
                }
            }
        }
    };
    Ok(frame(
        &viewer,
        &program,
        "/partners",
        &format!("Partner {key}"),
        &body,
    ))
}

fn class(m: &Moment) -> &'static str {
    match m {
        Moment::Joined => "joined",
        Moment::Referral { .. } => "referral",
        Moment::Sale(_) => "sale",
        Moment::Tag(_) => "tag-change",
        Moment::Line(_) => "line",
    }
}

fn moment(base: &str, m: &Moment) -> Markup {
    html! {
        @match m {
            Moment::Joined => { strong { "Joined" } " the program" }
            Moment::Referral { customer } => { strong { "Referral" } ": customer " code { (customer) } " signed up" }
            Moment::Sale(t) => {
                strong { "Sale" } " " code { (t.key) } " of " (t.amount) " (" (t.kind.as_str()) ")"
                " by customer " code { (t.customer) }
                @if let Some(p) = &t.product { ", product " code { (p) } } @else { ", matched no product" }
                @if t.refunded.is_positive() { ", " (t.refunded) " refunded" }
            }
            Moment::Tag(c) => {
                strong { "Tag " @if c.added { "added" } @else { "removed" } } ": "
                span .tag { (c.tag) }
                " — " (cause(c.cause_kind, &c.cause))
                @if let Some(e) = &c.event_id { ", on event " code { (e) } }
            }
            Moment::Line(l) => {
                strong { "Commission " (l.kind.as_str()) } ": " (l.amount)
                " on " code { (l.transaction) } " by trigger " code { (l.trigger) }
                @if l.installments > 1 { " (installment " (l.installment) " of " (l.installments) ")" }
                ", " (l.status.as_str())
                @if let Some(p) = l.payout { ", " a href={ (base) "/payouts/" (p) } { "payout " (p) } }
            }
        }
    }
}

fn cause(kind: Cause, cause: &str) -> String {
    match kind {
        Cause::Automation => format!("automation `{cause}`"),
        Cause::Config => format!("config change ({cause})"),
        Cause::Person => format!("by {cause}"),
        Cause::Correction => format!("correction ({cause})"),
    }
}
