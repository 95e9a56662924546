//! loaxa: the commune loudspeaker playout daemon.
//!
//! The flow, left to right: [`config`] → [`library`] → [`schedule`] → playout → airtime
//! log. Decisions (what is due, what it picks, what a report counts) are plain functions
//! of their inputs and a [`clock`]; I/O stays at the edges.

pub mod access;
pub mod airtime;
pub mod check;
pub mod clock;
pub mod commands;
pub mod config;
pub mod control;
pub mod daemon;
pub mod driver;
pub mod http;
pub mod i18n;
pub mod item;
pub mod library;
pub mod local;
pub mod media;
pub mod par;
pub mod playout;
pub mod schedule;
pub mod simulate;
pub mod station;
