//! The public face: the landing page, its JSON and feed, `/crisis`, and subscribing to
//! and unsubscribing from email updates.

pub mod case_link;
pub mod case_page;
pub mod chooser;
pub mod export;
pub mod form;
pub mod landing;
pub mod not_found;
pub mod notice;
pub mod render;
pub mod subscribe;
pub mod unsubscribe;
pub mod wait_times;
