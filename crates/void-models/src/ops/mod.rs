//! Building blocks shared by the networks.

pub mod attention;
pub mod linear;
mod metrics;

pub use metrics::{max_abs_diff, rel_l2};
