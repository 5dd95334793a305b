//! Who a transaction belongs to and which product it bought, from the
//! customer's side alone: the referral signup and the customer's product
//! records. A signup or product record that arrives late changes these for
//! transactions already recorded; the partners on either side are then
//! replayed.

use crate::store::record::{Customer, CustomerProduct, TransactionRecord, product_at};

/// A transaction's partner and product, and the product facts its rules
/// read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub partner: Option<String>,
    pub product: Option<String>,
    pub product_status: Option<crate::spec::ProductStatus>,
    pub product_created_at: Option<chrono::DateTime<chrono::Utc>>,
    pub customer_since: Option<chrono::DateTime<chrono::Utc>>,
}

impl Attribution {
    /// What the transaction records now.
    pub fn of(t: &TransactionRecord) -> Attribution {
        Attribution {
            partner: t.partner.clone(),
            product: t.product.clone(),
            product_status: t.seen.product_status,
            product_created_at: t.seen.product_created_at,
            customer_since: t.seen.customer_since,
        }
    }

    /// Writes it into the transaction.
    pub fn set(self, t: &mut TransactionRecord) {
        t.partner = self.partner;
        t.product = self.product;
        t.seen.product_status = self.product_status;
        t.seen.product_created_at = self.product_created_at;
        t.seen.customer_since = self.customer_since;
    }
}

/// Attributes a transaction of `customer`: the product is the record of its
/// subscription key standing at its time (`records` are the key's records);
/// the partner is that product's seller at that time if it has one, else
/// the customer's referrer when the referral signup came at or before the
/// transaction (a purchase dated before the signup is never that referral's).
pub fn attribute(
    customer: Option<&Customer>,
    records: &[CustomerProduct],
    t: &TransactionRecord,
) -> Attribution {
    // A key of another customer is no match (explain says why).
    let own: Vec<CustomerProduct> = records
        .iter()
        .filter(|r| r.customer == t.customer)
        .cloned()
        .collect();
    let record = t
        .subscription_key
        .as_ref()
        .and_then(|_| product_at(&own, t.at));
    let referrer = customer.and_then(|c| {
        let referred = c.referred_at()?;
        (referred <= t.at).then(|| c.partner.clone()).flatten()
    });
    Attribution {
        partner: record
            .and_then(|r| r.partner_at(t.at))
            .map(str::to_owned)
            .or(referrer),
        product: record.map(|r| r.product.clone()),
        product_status: record.map(|r| r.status_at(t.at)),
        product_created_at: record.map(|r| r.created_at),
        customer_since: customer.and_then(|c| c.signed_up_at),
    }
}
