//! Running the server: housekeeping in the background and the data directory lock.

pub mod data_lock;
pub mod housekeeping;
