//! Building blocks shared by the networks.

pub mod attention;
