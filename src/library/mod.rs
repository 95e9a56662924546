//! The audio library: hot folders turned into a trustworthy list of airable items.

pub mod probe;
