//! The runtime's records, where earlier code looks for them: they live in
//! the store's records, below the engine.

pub use crate::store::record::{
    Cause, Customer, CustomerProduct, Fires, LedgerLine, LineKind, LineStatus, Mark, PartnerState,
    RefundRecord, Seen, StatusHistory, StoredEvent, Subject, TagChange, TransactionRecord, Upsert,
};
