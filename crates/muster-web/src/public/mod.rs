//! The public face: the landing page, its JSON and feed, and `/crisis`.

pub mod export;
pub mod landing;
pub mod render;
