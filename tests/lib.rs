//! Shared fixtures for weft's integration tests.
