//! Unit tests of the stream queues view.
