//! Building blocks shared by the networks.

pub mod attention;
mod metrics;

pub use metrics::{max_abs_diff, rel_l2};
