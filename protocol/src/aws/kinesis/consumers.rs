//! Shapes of the enhanced fan-out operations.
