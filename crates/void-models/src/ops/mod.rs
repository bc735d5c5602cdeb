//! Building blocks shared by the networks.

pub mod attention;
mod metrics;

pub use metrics::rel_l2;
