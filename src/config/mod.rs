//! Config directories: reading YAML into the spec with precise diagnostics, and
//! writing the spec back out as YAML.

mod checks;
mod de;
mod diagnostic;
mod format;
mod hole;
mod load;
mod node;
mod partial;
mod write;

pub use diagnostic::Diagnostic;
pub use format::format;
pub use load::{load, load_texts, yaml_files};
pub use write::{files_per_kind, modeline, resource_to_yaml, to_yaml};
