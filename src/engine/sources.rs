//! What the event sources (src/sources/) reach below the engine: their own
//! records, kept beside the engine's in the same store.

use super::Engine;
use crate::store::stripe::StripeStore;

impl Engine {
    /// The Stripe source's records: its secret, the Stripe events it has
    /// taken, and the invoices and charges refunds are matched against.
    pub fn stripe_store(&self) -> &dyn StripeStore {
        self.store.stripe()
    }
}
