//! Running the server: housekeeping in the background, the data directory lock, graceful
//! shutdown, the metrics exporter, backups and the container's health check.

pub mod backup;
pub mod data_lock;
pub mod healthcheck;
pub mod housekeeping;
pub mod instance_health;
pub mod metrics;
pub mod shutdown;
