//! Shapes of the stream administration operations.
