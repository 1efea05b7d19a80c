//! The instance model: the state (a directory of accounts and one instance), the
//! requests made to it, and the audit records they leave. Data only: the rules that
//! read and change it are the modules beside this one.

pub mod audit;
pub mod directory;
pub mod instance;
pub mod params;
pub mod request;
pub mod sensitive;
pub mod state;
