//! The public pages, rendered once per publication and held in memory, pre-compressed with
//! gzip and brotli and tagged with an ETag. Requests never touch the database, so the pages
//! stay up when the database is down, and a CDN can take the surge with the cache headers.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use muster_core::incident::Incident;
use muster_core::language::Lang;
use sha2::{Digest, Sha256};

use crate::public::render::PageRenderer;

/// Short enough that a new update reaches readers within a minute even through a CDN;
/// stale copies cover a surge (while revalidating) and an outage (on error).
pub const PUBLIC_CACHE_CONTROL: &str =
    "public, max-age=30, stale-while-revalidate=60, stale-if-error=86400";

#[derive(Debug)]
pub struct CachedBody {
    pub identity: Bytes,
    pub gzip: Bytes,
    pub brotli: Bytes,
    /// One strong tag per encoding (RFC 9110 §8.8.3: a strong validator names one
    /// representation, and each encoding is one), the identity's first.
    tags: [Tag; 3],
    pub content_type: &'static str,
}

/// An encoding's entity tag, as compared and as sent.
#[derive(Debug)]
struct Tag {
    text: String,
    header: HeaderValue,
}

impl Tag {
    fn new(text: String) -> Self {
        Self {
            header: HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("\"\"")),
            text,
        }
    }
}

#[derive(Clone, Copy)]
enum Encoding {
    Identity = 0,
    Gzip = 1,
    Brotli = 2,
}

fn gzip(data: &[u8]) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3),
        flate2::Compression::best(),
    );
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(data);
    Bytes::from(encoder.finish().unwrap_or_default())
}

fn brotli(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() / 3);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
    Bytes::from(out)
}

impl CachedBody {
    pub fn new(body: String, content_type: &'static str) -> Self {
        let identity = Bytes::from(body);
        let digest = hex::encode(&Sha256::digest(&identity)[..12]);
        Self {
            gzip: gzip(&identity),
            brotli: brotli(&identity),
            identity,
            tags: [
                Tag::new(format!("\"{digest}\"")),
                Tag::new(format!("\"{digest}-gzip\"")),
                Tag::new(format!("\"{digest}-br\"")),
            ],
            content_type,
        }
    }

    /// Answers with the best encoding the client accepts, or 304 when it holds this version
    /// in that encoding.
    pub fn respond(&self, req: &HttpRequest, vary_language: bool) -> HttpResponse {
        let accepted = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let encoding = if accepts(accepted, "br") {
            Encoding::Brotli
        } else if accepts(accepted, "gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        };
        let tag = &self.tags[encoding as usize];
        let not_modified = if_none_match(req, &tag.text);
        let mut builder = if not_modified {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        // Static header values: no copying or validation per request.
        builder
            .insert_header((header::ETAG, tag.header.clone()))
            .insert_header((
                header::CACHE_CONTROL,
                HeaderValue::from_static(PUBLIC_CACHE_CONTROL),
            ))
            .insert_header((
                header::VARY,
                HeaderValue::from_static(if vary_language {
                    "Accept-Encoding, Accept-Language"
                } else {
                    "Accept-Encoding"
                }),
            ));
        if not_modified {
            return builder.finish();
        }
        let (body, coding) = match encoding {
            Encoding::Brotli => (self.brotli.clone(), Some("br")),
            Encoding::Gzip => (self.gzip.clone(), Some("gzip")),
            Encoding::Identity => (self.identity.clone(), None),
        };
        builder.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        ));
        if let Some(coding) = coding {
            builder.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static(coding)));
        }
        builder.body(body)
    }
}

fn accepts(header_value: &str, coding: &str) -> bool {
    header_value.split(',').any(|part| {
        let mut pieces = part.split(';');
        let name = pieces.next().unwrap_or("").trim();
        let refused = pieces.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == etag
            })
        })
}

/// Everything public about one incident, at one content version.
#[derive(Debug)]
pub struct IncidentPages {
    pub version: i64,
    pub default_language: Lang,
    pub languages: Vec<Lang>,
    pub landing: HashMap<Lang, CachedBody>,
    pub json: CachedBody,
    pub atom: CachedBody,
}

impl IncidentPages {
    pub fn render(
        renderer: &PageRenderer<'_>,
        incident: &Incident,
    ) -> Result<Self, handlebars::RenderError> {
        let mut landing = HashMap::new();
        for lang in &incident.languages {
            let html = renderer.landing(incident, lang)?;
            landing.insert(
                lang.clone(),
                CachedBody::new(html, "text/html; charset=utf-8"),
            );
        }
        Ok(Self {
            version: incident.content_version,
            default_language: incident.default_language.clone(),
            languages: incident.languages.clone(),
            landing,
            json: CachedBody::new(renderer.json(incident), "application/json"),
            atom: CachedBody::new(
                renderer.atom(incident),
                "application/atom+xml; charset=utf-8",
            ),
        })
    }

    pub fn landing_for(&self, lang: &Lang) -> Option<&CachedBody> {
        self.landing
            .get(lang)
            .or_else(|| self.landing.get(&self.default_language))
    }
}

/// Slug → rendered pages. Readers take a cheap clone of an `Arc`; writers swap whole entries.
#[derive(Debug, Default)]
pub struct PageCache {
    pages: RwLock<HashMap<String, Arc<IncidentPages>>>,
}

impl PageCache {
    pub fn get(&self, slug: &str) -> Option<Arc<IncidentPages>> {
        self.pages.read().ok()?.get(slug).cloned()
    }

    pub fn version(&self, slug: &str) -> Option<i64> {
        self.get(slug).map(|p| p.version)
    }

    pub fn insert(&self, slug: &str, pages: IncidentPages) {
        if let Ok(mut map) = self.pages.write() {
            map.insert(slug.to_owned(), Arc::new(pages));
        }
    }

    /// Drops incidents no longer public.
    pub fn retain(&self, public: &[String]) {
        if let Ok(mut map) = self.pages.write() {
            map.retain(|slug, _| public.contains(slug));
        }
    }

    pub fn slugs(&self) -> Vec<String> {
        self.pages
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}
