//! The core's integration tests, one binary (each test binary links the whole core and
//! its image and SQLCipher code; one link instead of six). `field_cli` stays apart: it
//! needs the `cli` feature's `patrol-field` binary.

mod common;

mod crash;
mod disk_full;
mod encryption;
mod faults;
mod markup;
mod patrol_walk;
mod photos;
