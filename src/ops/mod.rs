//! Running the server: housekeeping in the background, the data directory lock, graceful
//! shutdown, the metrics exporter, backups, the container's health check, and the scheduler
//! that runs monitors and sends their alerts.

pub mod backup;
pub mod data_lock;
pub mod healthcheck;
pub mod housekeeping;
pub mod metrics;
pub mod scheduler;
pub mod shutdown;
