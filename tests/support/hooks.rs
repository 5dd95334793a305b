//! A program with webhooks, and events that make each kind of message.

use chrono::Utc;

/// A program with one endpoint per URL (`hook-0`, `hook-1`, ...), each
/// subscribed to joins, tag changes and commissions; `gold` notifies `hook-0`.
pub fn config_yaml(urls: &[&str]) -> String {
    let mut hooks = String::new();
    for (i, url) in urls.iter().enumerate() {
        hooks.push_str(&format!(
            "  - {{ key: hook-{i}, url: \"{url}\", events: [partner.joined, partner.tag_added, partner.tag_removed, commission.created] }}\n"
        ));
    }
    format!(
        r#"program: {{ key: acme, name: Acme, currency: USD }}
tags: [ {{ key: new }}, {{ key: gold }} ]
products: [ {{ key: inbox, name: Inbox }} ]
webhooks:
{hooks}automations:
  - {{ key: welcome, when: partner_joined, then: [ {{ add_tag: new }} ] }}
  - key: gold
    when: {{ milestone: {{ metric: revenue, at_least: 100 }} }}
    then: [ {{ add_tag: gold }}, {{ remove_tag: new }}, {{ notify: hook-0 }} ]
commission_triggers:
  - {{ key: inbox-20, commission: {{ percent: 20 }}, rules: [ {{ product.key: {{ any_of: [inbox] }} }} ] }}
"#
    )
}

/// A partner's life: join (joined, tag `new`), a referral, a product and a
/// sale of 150.00 (a commission; gold added, new removed, gold notifies).
pub fn partner_events(p: &str, at: chrono::DateTime<Utc>) -> String {
    let t = |s: i64| (at + chrono::Duration::seconds(s)).to_rfc3339();
    [
        format!(r#"{{"id":"{p}-j","type":"partner.joined","at":"{}","partner":{{"key":"{p}","email":"{p}@example.com"}}}}"#, t(0)),
        format!(r#"{{"id":"{p}-s","type":"customer.signed_up","at":"{}","customer":{{"key":"{p}-c"}},"partner":{{"key":"{p}"}}}}"#, t(1)),
        format!(r#"{{"id":"{p}-u","type":"customer_product.upserted","at":"{}","customer":{{"key":"{p}-c"}},"product":"inbox","status":"active","external_subscription_key":"{p}-sub"}}"#, t(2)),
        format!(r#"{{"id":"{p}-t","type":"transaction.created","at":"{}","transaction":{{"key":"{p}-tx","customer":"{p}-c","amount":"150.00","subscription_key":"{p}-sub"}}}}"#, t(3)),
    ]
    .join("\n")
}

/// Messages per endpoint for one partner's life (joined, tag new, commission,
/// tag gold, tag new removed) and the `automation.fired` to hook-0.
pub const PER_PARTNER: usize = 5;
