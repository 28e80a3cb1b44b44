//! The public face: the landing page, its JSON and feed, and `/crisis`.

pub mod acknowledgement;
pub mod case_page;
pub mod export;
pub mod form;
pub mod landing;
pub mod render;
pub mod wait_times;
