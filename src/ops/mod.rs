//! Running the server: housekeeping in the background, the data directory lock, and the
//! scheduler that runs monitors and sends their alerts.

pub mod data_lock;
pub mod housekeeping;
pub mod scheduler;
